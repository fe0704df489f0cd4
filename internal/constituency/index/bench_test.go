package index

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tocsin/tocsin/internal/constituency"
)

// corpus describes a generated constituency.
type corpus struct {
	orgs, v4, v6, asns, domains int
	seed                        uint64
}

func orgName(i int) string { return fmt.Sprintf("ripe:ORG-%06d-RIPE", i) }

// networks yields n generated network assets of one family, nested as
// the RIRs' databases are: allocations to LIRs (IPv4 /12-/22, IPv6
// /24-/32), sub-allocations inside them (/16-/24, /36-/48), assignments to
// end users inside either (/24-/30, /48-/64) and a few host routes inside
// those (/32, /128). About one prefix in 30 is registered again, manually,
// by another organisation.
func networks(r *rand.Rand, n, nOrgs int, v6 bool) iter.Seq[constituency.Asset] {
	return func(yield func(constituency.Asset) bool) {
		width := 32
		if v6 {
			width = 128
		}
		var alloc, sub, assign []pfx
		any := func(lists ...[]pfx) (pfx, bool) {
			total := 0
			for _, l := range lists {
				total += len(l)
			}
			if total == 0 {
				return pfx{}, false
			}
			i := r.IntN(total)
			for _, l := range lists {
				if i < len(l) {
					return l[i], true
				}
				i -= len(l)
			}
			panic("unreachable")
		}
		within := func(parent pfx, lo, hi int) pfx {
			return inside(r, parent, max(parent.bits+1, lo+r.IntN(hi-lo+1)), width)
		}
		for range n {
			var p pfx
			src := constituency.SourceRIPE
			k := r.IntN(1000)
			switch parent, ok := any(alloc, sub); {
			case k < 20 || !ok:
				if v6 {
					p = pfx{hi: 0x2000000000000000 | r.Uint64()>>3, bits: 24 + r.IntN(9)}
				} else {
					p = pfx{lo: uint64(r.Uint32()), bits: 12 + r.IntN(11)}
				}
				p = inside(r, p, p.bits, width)
				alloc = append(alloc, p)
			case k < 100:
				p, _ = any(alloc)
				if v6 {
					p = within(p, 36, 48)
				} else {
					p = within(p, 16, 24)
				}
				sub = append(sub, p)
			case k < 930:
				if v6 {
					p = within(parent, 48, 64)
				} else {
					p = within(parent, 24, 30)
				}
				assign = append(assign, p)
			case k < 965 && len(assign) > 0:
				p = inside(r, assign[r.IntN(len(assign))], width, width)
			default:
				p, _ = any(alloc, sub, assign)
				src = constituency.SourceManual
			}
			if src == constituency.SourceRIPE && r.IntN(10) == 0 {
				src = constituency.SourceManual
			}
			var a netip.Addr
			if v6 {
				a = addrFrom(p.hi, p.lo)
			} else {
				a = addr4(uint32(p.lo))
			}
			if !yield(constituency.Asset{
				Org:       orgName(r.IntN(nOrgs)),
				Kind:      constituency.AssetNetwork,
				Prefix:    netip.PrefixFrom(a, p.bits),
				Source:    src,
				Confirmed: true,
			}) {
				return
			}
		}
	}
}

// adder is a Builder, or discard to time generating the corpus alone.
type adder interface {
	AddOrg(constituency.Org) error
	AddAsset(constituency.Asset) error
	AddContact(constituency.Contact) error
}

type discard struct{}

func (discard) AddOrg(constituency.Org) error         { return nil }
func (discard) AddAsset(constituency.Asset) error     { return nil }
func (discard) AddContact(constituency.Contact) error { return nil }

type pfx struct {
	hi, lo uint64
	bits   int
}

// inside returns a random prefix of length bits (at most width) inside
// parent.
func inside(r *rand.Rand, parent pfx, bits, width int) pfx {
	bits = min(bits, width)
	p := pfx{hi: r.Uint64(), lo: r.Uint64(), bits: bits}
	if width == 32 {
		p.hi, p.lo = 0, p.lo&0xffffffff
	}
	// The parent's bits, random ones below, zeros after bits.
	pb, cb := parent.bits+128-width, bits+128-width
	if pb >= 64 {
		m := lowMask(128 - pb)
		p.hi, p.lo = parent.hi, parent.lo&^m|p.lo&m
	} else {
		m := lowMask(64 - pb)
		p.hi = parent.hi&^m | p.hi&m
	}
	if cb >= 64 {
		p.lo &^= lowMask(128 - cb)
	} else {
		p.hi &^= lowMask(64 - cb)
		p.lo = 0
	}
	return p
}

// feed adds the corpus to b as a store would stream it. An error fails
// tb, or panics if tb is nil.
func (c corpus) feed(tb testing.TB, b adder) {
	r := rand.New(rand.NewPCG(c.seed, 1))
	must := func(err error) {
		if err != nil && tb == nil {
			panic(err)
		} else if err != nil {
			tb.Fatal(err)
		}
	}
	for i := range c.orgs {
		must(b.AddOrg(constituency.Org{ID: orgName(i), Name: fmt.Sprintf("Organisation %d AB", i), Country: "SE", Source: constituency.SourceRIPE}))
		must(b.AddContact(constituency.Contact{Org: orgName(i), Email: fmt.Sprintf("abuse@org%d.se", i), Source: constituency.SourceRIPE}))
		if i%3 == 0 {
			must(b.AddContact(constituency.Contact{Org: orgName(i), Email: fmt.Sprintf("cert@org%d.se", i), Source: constituency.SourceManual}))
		}
	}
	for a := range networks(r, c.v4, c.orgs, false) {
		must(b.AddAsset(a))
	}
	for a := range networks(r, c.v6, c.orgs, true) {
		must(b.AddAsset(a))
	}
	for range c.asns {
		must(b.AddAsset(asnAsset(orgName(r.IntN(c.orgs)), 1+r.Uint32N(400000), constituency.SourceRIPE)))
	}
	for i := range c.domains {
		org := r.IntN(c.orgs)
		must(b.AddAsset(domainAsset(orgName(org), fmt.Sprintf("d%d-org%d.se", i, org), constituency.SourceManual)))
	}
}

// lookups returns n addresses: 3 in 5 inside a random generated prefix,
// the rest anywhere (IPv4) or anywhere in 2000::/3 (IPv6).
func (c corpus) lookups(n int, v6 bool) []netip.Addr {
	r := rand.New(rand.NewPCG(c.seed, 1))
	var prefixes []netip.Prefix
	count := c.v4
	if v6 {
		// Generate the same IPv6 prefixes as feed: skip the IPv4 ones.
		for range networks(r, c.v4, c.orgs, false) {
		}
		count = c.v6
	}
	for a := range networks(r, count, c.orgs, v6) {
		prefixes = append(prefixes, a.Prefix)
	}
	out := make([]netip.Addr, n)
	for i := range out {
		switch {
		case r.IntN(5) < 3:
			out[i] = randomIn(r, prefixes[r.IntN(len(prefixes))])
		case v6:
			out[i] = addrFrom(0x2000000000000000|r.Uint64()>>3, r.Uint64())
		default:
			out[i] = addr4(r.Uint32())
		}
	}
	return out
}

// benchCorpus has 100,000 organisations, and a million networks of each
// family so that each family's table is as large as a whole
// constituency of 1,000,000 assets of that family would make it.
var benchCorpus = corpus{orgs: 100_000, v4: 1_000_000, v6: 1_000_000, seed: 1}

// buildCorpus is a constituency of 1,000,000 assets: 100,000
// organisations holding 800,000 IPv4 and 150,000 IPv6 networks, 25,000 AS
// numbers and 25,000 domains.
var buildCorpus = corpus{orgs: 100_000, v4: 800_000, v6: 150_000, asns: 25_000, domains: 25_000, seed: 7}

func (c corpus) index() (*Index, error) {
	b := NewBuilder()
	c.feed(nil, b)
	return b.Build()
}

var (
	benchIndex        = sync.OnceValues(benchCorpus.index)
	constituencyIndex = sync.OnceValues(buildCorpus.index)
)

// benchmarkOwnerOfIP looks up addresses, 3 in 5 inside a registered
// prefix, with two indexes: 1M-prefixes has 100,000 organisations and a
// million prefixes of the family; constituency is buildCorpus. Each is
// run three ways: random (addresses in random order, one after the
// other, as a tight loop does them), sorted (in address order, as in a
// report sorted by IP) and dependent (each lookup waiting for the one
// before, so that none overlap: the latency of one lookup).
func benchmarkOwnerOfIP(b *testing.B, v6 bool) {
	for _, bc := range []struct {
		name  string
		c     corpus
		index func() (*Index, error)
	}{
		{"1M-prefixes", benchCorpus, benchIndex},
		{"constituency", buildCorpus, constituencyIndex},
	} {
		ix, err := bc.index()
		if err != nil {
			b.Fatal(err)
		}
		const n = 1 << 20
		random := bc.c.lookups(n, v6)
		sorted := slices.SortedFunc(slices.Values(random), netip.Addr.Compare)
		run := func(name string, addrs []netip.Addr, dependent bool) {
			b.Run(bc.name+"/"+name, func(b *testing.B) {
				found := 0
				var dep OrgRef
				b.ReportAllocs()
				cpu := cpuTime()
				for i := 0; b.Loop(); i++ {
					j := i
					if dependent {
						j += int(dep & 1)
					}
					org, _, ok := ix.OwnerOfIP(addrs[j&(n-1)])
					if ok {
						found++
					}
					dep = org
				}
				reportCPU(b, cpu)
				b.ReportMetric(float64(found)/float64(b.N), "found/op")
			})
		}
		run("random", random, false)
		run("sorted", sorted, false)
		run("dependent", random, true)
		// OwnersOfIPs, 256 addresses a call as the ingest pipeline would
		// pass a batch; ns/addr is the cost of one address.
		b.Run(bc.name+"/random-batch", func(b *testing.B) {
			const batch = 256
			hits := make([]Hit, batch)
			found, calls := 0, 0
			b.ReportAllocs()
			cpu := cpuTime()
			for i := 0; b.Loop(); i += batch {
				ix.OwnersOfIPs(random[i&(n-1):i&(n-1)+batch], hits)
				if hits[0].OK {
					found++
				}
				calls++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(calls*batch), "ns/addr")
			if d := cpuTime() - cpu; d > 0 {
				b.ReportMetric(float64(d.Nanoseconds())/float64(calls*batch), "cpu-ns/addr")
			}
		})
	}
}

// BenchmarkOwnerOfIPv4 looks up IPv4 addresses; see benchmarkOwnerOfIP.
func BenchmarkOwnerOfIPv4(b *testing.B) { benchmarkOwnerOfIP(b, false) }

// BenchmarkOwnerOfIPv6 looks up IPv6 addresses; see benchmarkOwnerOfIP.
func BenchmarkOwnerOfIPv6(b *testing.B) { benchmarkOwnerOfIP(b, true) }

// BenchmarkMemoryLatency is a yardstick for the figures above: one read a
// lookup from a random place in a table as large as the IPv4 range table
// of 1M-prefixes (9 MB), each waiting for the one before. A lookup of a
// random address cannot take less than about that on the same machine.
func BenchmarkMemoryLatency(b *testing.B) {
	const n = 9 << 20 / 4
	next := make([]uint32, n)
	perm := rand.New(rand.NewPCG(5, 5)).Perm(n)
	for i := range perm {
		next[perm[i]] = uint32(perm[(i+1)%n])
	}
	x := uint32(0)
	cpu := cpuTime()
	for b.Loop() {
		x = next[x]
	}
	reportCPU(b, cpu)
}

func BenchmarkOwnerOfDomain(b *testing.B) {
	c := corpus{orgs: 100_000, domains: 1_000_000, seed: 1}
	ix, err := c.index()
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, 1<<16)
	r := rand.New(rand.NewPCG(2, 2))
	for i := range names {
		if i%2 == 0 {
			names[i] = fmt.Sprintf("www.d%d-org%d.se", r.IntN(c.domains), r.IntN(c.orgs))
		} else {
			names[i] = fmt.Sprintf("mail.unknown%d.example.com", i)
		}
	}
	b.ReportAllocs()
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		ix.OwnerOfDomain(names[i&(1<<16-1)])
	}
	reportCPU(b, cpu)
}

func BenchmarkBuild(b *testing.B) {
	for b.Loop() {
		bl := NewBuilder()
		buildCorpus.feed(b, bl)
		if _, err := bl.Build(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBuildLarge builds the index of buildCorpus (100,000 organisations,
// 1,000,000 assets) streamed into a Builder, and logs the time it takes
// and the memory the index keeps and needs while building. Run it with -v
// to see the figures.
func TestBuildLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an index of 1,000,000 assets; skipped with -short")
	}
	c := buildCorpus
	if raceEnabled {
		c = corpus{orgs: 10_000, v4: 80_000, v6: 15_000, asns: 2500, domains: 2500, seed: 7}
		t.Log("race detector on: a tenth of the corpus, the figures are not representative")
	}

	// Time: generating the assets alone, to subtract, then the build.
	start := time.Now()
	c.feed(t, discard{})
	genTime := time.Since(start)
	runtime.GC()
	start, cpu := time.Now(), cpuTime()
	b := NewBuilder()
	c.feed(t, b)
	fed := time.Since(start)
	ix, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	total, cpu := time.Since(start), cpuTime()-cpu
	st := ix.Stats()
	t.Logf("%d organisations, %d networks, %d AS numbers, %d domains, %d contacts: %d IPv4 and %d IPv6 ranges, %d superseded",
		st.Orgs, st.Networks, st.ASNs, st.Domains, st.Contacts, st.IPv4Ranges, st.IPv6Ranges, st.Superseded)
	t.Logf("build: %v (%v of CPU), of which generating the test data about %v, adding %v, Build %v",
		total.Round(time.Millisecond), cpu.Round(time.Millisecond), genTime.Round(time.Millisecond),
		(fed - genTime).Round(time.Millisecond), (total - fed).Round(time.Millisecond))
	ix, b = nil, nil

	// Memory: build again with the collector keeping the heap close to
	// what is live, so that the peak is what building needs (the
	// generator's garbage included) rather than the collector's slack.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() { peak <- peakHeap(stop) }()
	b = NewBuilder()
	c.feed(t, b)
	if ix, err = b.Build(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	peakBytes := <-peak
	b = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	retained := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("memory: the index keeps %.1f MB of heap; the heap peaked %.1f MB above the start while building (GOGC=10)",
		mb(retained), mb(int64(peakBytes)-int64(before.HeapAlloc)))
	if hwm := peakRSS(); hwm != "" {
		t.Logf("peak RSS of the test process (VmHWM): %s", hwm)
	}
	if !raceEnabled && retained > 200<<20 {
		t.Errorf("index keeps %.1f MB, want under 200 MB", mb(retained))
	}
	runtime.KeepAlive(ix)
}

// reportCPU reports the process's CPU time per operation since start, a
// steadier figure than ns/op on a machine shared with other work.
func reportCPU(b *testing.B, start time.Duration) {
	if d := cpuTime() - start; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// peakRSS returns the process's peak resident set size where the system
// tells it (Linux), or "".
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ""
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

// peakHeap samples the live heap until stop is closed and returns the
// highest value seen.
func peakHeap(stop <-chan struct{}) uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(s)
		peak = max(peak, s[0].Value.Uint64())
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}
