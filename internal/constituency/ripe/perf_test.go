package ripe

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
)

// largeObjects is the size of the dump TestImportLarge builds: about the
// size of the RIPE database.
const largeObjects = 5_000_000

// largeResult is what the import in a child process reports.
type largeResult struct {
	Seconds     float64        `json:"seconds"`
	PeakHeap    uint64         `json:"peak_heap"` // bytes, sampled every 20 ms
	HeapSys     uint64         `json:"heap_sys"`  // the most heap the runtime got from the OS
	Read        map[string]int `json:"read"`
	Orgs        int            `json:"orgs"`
	OrgsMade    int            `json:"orgs_made"`
	Assets      int            `json:"assets"`
	Contacts    int            `json:"contacts"`
	Problems    int            `json:"problems"`
	MaxRSS      int64          `json:"max_rss"` // bytes, the child's getrusage, filled in by the parent
	CPUSeconds  float64        `json:"cpu_seconds"`
	DumpBytes   int64          `json:"dump_bytes"`
	ObjectsRead int            `json:"objects_read"`
}

// TestImportLarge builds a 5,000,000-object RIPE dump (gzip'd split files,
// see gen_test.go) and imports it in a child process, with and without a
// country filter, and reports the time and the peak memory of the import
// alone. Targets (issue 3): under 60 s and under 1 GB.
func TestImportLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 5,000,000-object import (about a minute)")
	}
	if raceEnabled {
		t.Skip("race detector on: the import's time and memory would mean nothing")
	}
	dir := t.TempDir()
	start := time.Now()
	paths, text, err := writeDump(dir, largeObjects)
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		size += fi.Size()
	}
	t.Logf("generated %d objects, %.0f MB (%.0f MB gzip'd), in %.1f s", largeObjects, float64(text)/1e6, float64(size)/1e6, time.Since(start).Seconds())

	for _, countries := range []string{"SE", ""} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestImportLargeChild$", "-test.v")
		cmd.Env = append(os.Environ(), "RIPE_LARGE_FILES="+strings.Join(paths, ","), "RIPE_LARGE_COUNTRIES="+countries)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var res largeResult
		for line := range strings.Lines(string(out)) {
			if j, ok := strings.CutPrefix(strings.TrimSpace(line), "RESULT "); ok {
				if err := json.Unmarshal([]byte(j), &res); err != nil {
					t.Fatal(err)
				}
			}
		}
		if res.Read == nil {
			t.Fatalf("no result from the child:\n%s", out)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.MaxRSS = ru.Maxrss * 1024
		}
		res.CPUSeconds = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		filter := "no country filter"
		if countries != "" {
			filter = "--country " + countries
		}
		t.Logf("%s: %d objects (%.0f MB gzip'd) in %.1f s (%.1f s CPU), %.0f objects/s; peak RSS %.0f MB, peak heap %.0f MB; %d orgs (%d made), %d assets, %d contacts, %d problems",
			filter, res.ObjectsRead, float64(size)/1e6, res.Seconds, res.CPUSeconds, float64(res.ObjectsRead)/res.Seconds,
			float64(res.MaxRSS)/1e6, float64(res.PeakHeap)/1e6, res.Orgs, res.OrgsMade, res.Assets, res.Contacts, res.Problems)
		if res.ObjectsRead != largeObjects {
			t.Errorf("%s: read %d objects, want %d", filter, res.ObjectsRead, largeObjects)
		}
		if res.MaxRSS > 1<<30 {
			t.Errorf("%s: peak RSS %d MB, the target is under 1 GB", filter, res.MaxRSS>>20)
		}
		// Wall time depends on what else the machine runs; CPU time says
		// whether the import itself is too slow.
		if res.Seconds > 60 && res.CPUSeconds > 60 {
			t.Errorf("%s: %.1f s (%.1f s CPU), the target is under 60 s", filter, res.Seconds, res.CPUSeconds)
		}
	}
}

// TestImportLargeChild is the import TestImportLarge runs in a child
// process, so that getrusage measures it alone.
func TestImportLargeChild(t *testing.T) {
	files := os.Getenv("RIPE_LARGE_FILES")
	if files == "" {
		t.Skip("helper of TestImportLarge")
	}
	var opts Options
	if c := os.Getenv("RIPE_LARGE_COUNTRIES"); c != "" {
		opts.Countries = strings.Split(c, ",")
	}
	var ins []Input
	for _, f := range strings.Split(files, ",") {
		ins = append(ins, File(f))
	}
	var peak, sys atomic.Uint64
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				sys.Store(ms.HeapSys)
			}
		}
	}()
	start := time.Now()
	sum, err := Import(context.Background(), ins, opts, Funcs{})
	secs := time.Since(start).Seconds()
	close(done)
	if err != nil {
		t.Fatal(err)
	}
	res := largeResult{Seconds: secs, PeakHeap: peak.Load(), HeapSys: sys.Load(), Read: sum.Read, Orgs: sum.Orgs,
		OrgsMade: sum.OrgsMade, Assets: sum.Assets, Contacts: sum.Contacts, Problems: sum.ProblemCount}
	for _, n := range sum.Read {
		res.ObjectsRead += n
	}
	j, _ := json.Marshal(res)
	w := bufio.NewWriter(os.Stdout)
	w.WriteString("RESULT " + string(j) + "\n")
	w.Flush()
}

// BenchmarkImport imports a generated dump of 200,000 objects from memory
// (no gzip), as a mixed file (two passes) and as split files.
func BenchmarkImport(b *testing.B) {
	const n = 200_000
	s := sizes(n)
	for _, mode := range []string{"split", "mixed"} {
		b.Run(mode, func(b *testing.B) {
			var ins []Input
			var bytes int64
			for _, class := range genClasses {
				data, _ := io.ReadAll(newGenReader(s, class, 0, s.count(class)))
				bytes += int64(len(data))
				name := "ripe.db." + class
				if mode == "mixed" {
					name = "mixed-" + strconv.Itoa(len(ins))
				}
				ins = append(ins, memInput(name, data, nil))
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			var assets int
			out := Funcs{AssetFunc: func(constituency.Asset) error { assets++; return nil }}
			for b.Loop() {
				if _, err := Import(context.Background(), ins, Options{}, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/object")
		})
	}
}

// BenchmarkReader reads generated inetnum objects from memory.
func BenchmarkReader(b *testing.B) {
	s := sizes(200_000)
	data, _ := io.ReadAll(newGenReader(s, "inetnum", 0, 50_000))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd := NewReader(strings.NewReader(string(data)))
		n := 0
		for _, err := range rd.All() {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 50_000 {
			b.Fatalf("%d objects", n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/50_000, "ns/object")
}
