package postgres

import (
	"os"
	"strconv"
	"testing"

	"github.com/tocsin/tocsin/internal/store"
	"github.com/tocsin/tocsin/internal/store/storetest"
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	storetest.RunRegistry(t, func(t *testing.T) store.Registry {
		s := open(t, newSchema(t))
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestRegistryImportSize imports TOCSIN_REGISTRY_ASSETS RIPE-like assets,
// then again unchanged, then with 3% changed, and logs the time and the
// memory of each; skipped when the variable is unset.
func TestRegistryImportSize(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("TOCSIN_REGISTRY_ASSETS"))
	if err != nil {
		t.Skip("set TOCSIN_REGISTRY_ASSETS to the number of assets to import")
	}
	s := open(t, newSchema(t))
	defer s.Close()
	storetest.ImportSize(t, s, n)
}
