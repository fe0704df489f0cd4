package asn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net/netip"
	"testing"
)

// fuzzReader runs read on arbitrary input: it must not panic, must keep its
// report consistent, and what it added must build into a table that agrees
// with the reference (checkTable).
func fuzzReader(f *testing.F, read func(io.Reader, *Builder) (Report, error), seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Builder
		rep, err := read(bytes.NewReader(data), &b)
		if rep.Bad < len(rep.Skipped) || len(rep.Skipped) > MaxSkipped || rep.Bad > len(rep.Skipped) && len(rep.Skipped) != MaxSkipped {
			t.Fatalf("report %+v", rep)
		}
		if err != nil {
			return
		}
		if rep.Format != FormatASNames && rep.Entries != b.Entries() {
			t.Fatalf("report says %d entries, builder has %d", rep.Entries, b.Entries())
		}
		if b.Entries() > 64 {
			return // the reference is quadratic
		}
		tab, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		checkTable(t, &b, tab)
	})
}

func FuzzReadIPLocationDB(f *testing.F) {
	fuzzReader(f, ReadIPLocationDB, ipLocationDBSample,
		"1.0.0.0,1.0.0.255,1,a\n1.0.0.128,1.0.0.130,2,\"b\"\"c\"\n",
		"::,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,1,all\n0.0.0.0,255.255.255.255,2,all\n",
		"::ffff:1.2.3.4,::ffff:1.2.3.9,5,mapped\n")
}

func FuzzReadPyASN(f *testing.F) {
	fuzzReader(f, ReadPyASN, pyasnSample, string(gz(f, pyasnSample)),
		"0.0.0.0/0\t1\n255.255.255.255/32\t2\n::/0\t3\n",
		"10.0.0.0/8\t1\n10.0.0.0/8\t2\n10.0.0.0/9\t{3,4}\n")
}

func FuzzReadIPToASN(f *testing.F) {
	fuzzReader(f, ReadIPToASN, ipToASNSample, "1.0.0.0\t1.0.0.255\t0\tNone\tNot routed\n")
}

func FuzzReadASNames(f *testing.F) {
	fuzzReader(f, func(r io.Reader, b *Builder) (Report, error) {
		// Names only show through entries: give the fuzzed names some.
		for asn := uint32(1); asn <= 3; asn++ {
			b.AddPrefix(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(asn), 0, 0}), 16), asn, "")
		}
		rep, err := ReadASNames(r, b)
		if err != nil && !errors.Is(err, ErrFormat) {
			panic(err) // the input is in memory: only a format error can happen
		}
		return rep, err
	}, `{"1": "one", "2": "two", "x": 3}`, `{}`, `[`, `{"1": null}`)
}

func FuzzRead(f *testing.F) {
	fuzzReader(f, Read, ipLocationDBSample, pyasnSample, ipToASNSample, `{"1": "one"}`)
}

// FuzzReadTable loads damaged snapshots: an error or a table whose answers
// are sane and survive another round trip, never a panic.
func FuzzReadTable(f *testing.F) {
	for _, s := range []string{ipLocationDBSample, pyasnSample} {
		var b Builder
		Read(bytes.NewReader([]byte(s)), &b)
		tab, err := b.Build()
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		tab.WriteTo(&buf)
		f.Add(buf.Bytes())
	}
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSnapshot(t, data)
		// Most mutations fail the checksum; mend it so that the checks
		// behind it are fuzzed too.
		if len(data) > headerSize+4 {
			mended := bytes.Clone(data)
			binary.LittleEndian.PutUint32(mended[len(mended)-4:], crc32.Checksum(mended[:len(mended)-4], castagnoli))
			checkSnapshot(t, mended)
		}
	})
}

// checkSnapshot loads data: an error that wraps ErrFormat, or a table whose
// answers are sane and survive another round trip.
func checkSnapshot(t *testing.T, data []byte) {
	tab, err := ReadTable(bytes.NewReader(data))
	if err != nil {
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v does not wrap ErrFormat", err)
		}
		return
	}
	var buf bytes.Buffer
	if _, err := tab.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	again, err := ReadTable(&buf)
	if err != nil {
		t.Fatalf("a table read back does not load again: %v", err)
	}
	var probes []netip.Addr
	for i, s := range tab.start4 {
		probes = append(probes, toAddr(true, u128{0, uint64(s)}), toAddr(true, u128{0, uint64(tab.seg4[i].last)}))
	}
	for _, s := range tab.seg6 {
		probes = append(probes, s.start.addr6(), s.last.addr6())
	}
	for _, a := range probes {
		r, ok := tab.Lookup(a)
		if !ok || r.ASN == 0 || !r.Prefix.Contains(a) {
			t.Fatalf("Lookup(%v) = %+v, %v", a, r, ok)
		}
		if r2, ok2 := again.Lookup(a); r2 != r || ok2 != ok {
			t.Fatalf("Lookup(%v) = %+v, after a round trip %+v", a, r, r2)
		}
	}
	for _, r := range tab.recs {
		tab.Name(r.asn)
	}
}
