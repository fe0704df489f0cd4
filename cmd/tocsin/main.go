// Command tocsin is the whole platform in one binary: see 'tocsin help'.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"

	"github.com/tocsin/tocsin/internal/app"
)

// defaultMemoryLimit is the Go heap's soft limit when GOMEMLIMIT is not
// set: ingest streams, so a larger heap only means later garbage
// collection, and a CSIRT's box runs other things too.
const defaultMemoryLimit = 160 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	// TOCSIN_CPUPROFILE=FILE writes a CPU profile of the run, for 'go tool pprof'.
	if path := os.Getenv("TOCSIN_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, app.OSEnv(), os.Args[1:])
	stop()
	if code != 0 {
		pprof.StopCPUProfile()
		os.Exit(code)
	}
}
