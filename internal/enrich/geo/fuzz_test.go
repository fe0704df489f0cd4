package geo

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// seedFiles adds the test databases of testdata, and those of ../shared/data
// when present, as seeds.
func seedFiles(f *testing.F, add func(b []byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "maxmind", "*.mmdb"))
	more, _ := filepath.Glob(filepath.Join(shared, "maxmind-test-data", "test-data", "*.mmdb"))
	for _, name := range append(files, more...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzOpenBytes opens arbitrary bytes as a database and uses what opens:
// errors must be FormatErrors; no panic, no hang, no out-of-range read.
func FuzzOpenBytes(f *testing.F) {
	seedFiles(f, func(b []byte) { f.Add(b, uint64(0x0101_0101_0000_0000), uint64(0)) })
	f.Add(oneRecord(mapOf(str("country_code"), str("SE")), 0).bytes(), uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, b []byte, hi, lo uint64) {
		db, err := OpenBytes(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidDatabase) {
				t.Fatalf("Open: %v is not ErrInvalidDatabase", err)
			}
			return
		}
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, ErrInvalidDatabase) {
				t.Fatalf("%s: %v is not ErrInvalidDatabase", what, err)
			}
		}
		_ = db.Metadata()
		check("Verify", db.Verify())
		var v6 [16]byte
		binary.BigEndian.PutUint64(v6[:8], hi)
		binary.BigEndian.PutUint64(v6[8:], lo)
		for _, a := range []netip.Addr{netip.AddrFrom16(v6), netip.AddrFrom4([4]byte(v6[:4])), {}} {
			_, _, err := db.Country(a)
			check("Country", err)
			_, err = db.Lookup(a)
			check("Lookup", err)
		}
	})
}

// FuzzRecord decodes arbitrary bytes as the data section of a sound file
// whose every address has the record at offset top: the decoder, reached
// directly.
func FuzzRecord(f *testing.F) {
	f.Add(mapOf(str("country_code"), str("SE")), uint16(0))
	f.Add(mapOf(str("country"), mapOf(str("iso_code"), str("PT"))), uint16(0))
	fan, top := fanOut(30)
	f.Add(fan, uint16(top))
	f.Add(mapOf(str("a"), ptr(0)), uint16(0))
	seedFiles(f, func(b []byte) {
		// The data sections of the test files, from offset 0.
		if db, err := OpenBytes(b); err == nil && len(db.data) < 1<<16 {
			f.Add(db.data, uint16(0))
		}
	})
	f.Fuzz(func(t *testing.T, data []byte, top uint16) {
		if int(top) >= len(data) {
			top = 0
		}
		db, err := OpenBytes(oneRecord(data, int(top)).bytes())
		if err != nil {
			// The data may hold the metadata marker, which then
			// starts what is no metadata.
			if !errors.Is(err, ErrInvalidDatabase) {
				t.Fatal(err)
			}
			return
		}
		a := netip.MustParseAddr("192.0.2.1")
		_, _, errC := db.Country(a)
		_, _, errL := db.LookupValue(a)
		errV := db.Verify()
		for _, err := range []error{errC, errL, errV} {
			if err != nil && !errors.Is(err, ErrInvalidDatabase) {
				t.Fatalf("%v is not ErrInvalidDatabase", err)
			}
		}
		// Verify is stricter than LookupValue: what it accepts,
		// LookupValue decodes.
		if errV == nil && errL != nil {
			t.Fatalf("Verify accepts what Lookup refuses: %v", errL)
		}
	})
}
