package asn

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The snapshot is little-endian:
//
//	magic "TOCSNASN", version uint32
//	records, name bytes, IPv4 segments, IPv6 segments: 4 × uint32
//	names: the name bytes
//	records: asn, name offset, name length (uint32 each) per record
//	IPv4: all starts, then all last addresses, then all metas (uint32)
//	IPv6: all starts, then all last addresses (hi, lo uint64), then all metas
//	CRC-32C of everything before it (uint32)
//
// The first-level indexes are rebuilt on load.
const (
	snapshotMagic   = "TOCSNASN"
	snapshotVersion = 1
	headerSize      = len(snapshotMagic) + 4 + 4*4
	maxSnapshot     = 4 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteTo writes t as a binary snapshot that ReadTable loads. It implements
// io.WriterTo; the caller closes w.
func (t *Table) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	h := crc32.New(castagnoli)
	out := io.MultiWriter(bw, h)
	buf := make([]byte, 0, 64<<10)
	flush := func() error {
		_, err := out.Write(buf)
		buf = buf[:0]
		return err
	}
	var err error
	// spill writes a full buffer; after an error it drops what follows.
	spill := func() {
		if len(buf) < 64<<10-16 {
			return
		}
		if err == nil {
			err = flush()
		}
		buf = buf[:0]
	}
	u32 := func(v uint32) {
		buf = binary.LittleEndian.AppendUint32(buf, v)
		spill()
	}
	u64 := func(v uint64) {
		buf = binary.LittleEndian.AppendUint64(buf, v)
		spill()
	}
	buf = append(buf, snapshotMagic...)
	u32(snapshotVersion)
	u32(uint32(len(t.recs)))
	u32(uint32(len(t.names)))
	u32(uint32(len(t.start4)))
	u32(uint32(len(t.seg6)))
	if err == nil {
		err = flush()
	}
	if err == nil {
		_, err = io.WriteString(out, t.names)
	}
	for _, r := range t.recs {
		u32(r.asn)
		u32(r.off)
		u32(r.n)
	}
	meta4, meta6 := t.metas()
	for _, s := range t.start4 {
		u32(s)
	}
	for _, s := range t.seg4 {
		u32(s.last)
	}
	for _, m := range meta4 {
		u32(m)
	}
	for _, s := range t.seg6 {
		u64(s.start.hi)
		u64(s.start.lo)
	}
	for _, s := range t.seg6 {
		u64(s.last.hi)
		u64(s.last.lo)
	}
	for _, m := range meta6 {
		u32(m)
	}
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = binary.Write(bw, binary.LittleEndian, h.Sum32())
	}
	if err == nil {
		err = bw.Flush()
	}
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadTable loads a snapshot written by WriteTo. It checks the snapshot
// whole — checksum, sizes, order of the segments, references into the
// records and names — so a damaged or foreign file is an error wrapping
// ErrFormat, never a table that misbehaves. It reads only as far as the
// snapshot goes.
func ReadTable(r io.Reader) (*Table, error) {
	bad := func(format string, a ...any) (*Table, error) {
		return nil, fmt.Errorf("asn table snapshot: %s: %w", fmt.Sprintf(format, a...), ErrFormat)
	}
	hdr := make([]byte, headerSize)
	if _, err := io.ReadFull(r, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return bad("shorter than its header")
		}
		return nil, fmt.Errorf("asn table snapshot: %w", err)
	}
	if string(hdr[:8]) != snapshotMagic {
		return bad("not a snapshot (magic %q)", hdr[:8])
	}
	le := binary.LittleEndian
	if v := le.Uint32(hdr[8:]); v != snapshotVersion {
		return bad("version %d, this program reads version %d; import the ASN data again", v, snapshotVersion)
	}
	nrec, nnames := uint64(le.Uint32(hdr[12:])), uint64(le.Uint32(hdr[16:]))
	n4, n6 := uint64(le.Uint32(hdr[20:])), uint64(le.Uint32(hdr[24:]))
	if nrec > maxRecords {
		return bad("%d records, at most %d", nrec, maxRecords)
	}
	size := nnames + 12*nrec + 12*n4 + 36*n6 + 4
	if size > maxSnapshot {
		return bad("%d bytes, at most %d", size, maxSnapshot)
	}
	// ReadAll grows with what arrives, so a header that lies about its
	// sizes costs no more memory than the bytes really there.
	body, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil {
		return nil, fmt.Errorf("asn table snapshot: %w", err)
	}
	if uint64(len(body)) != size {
		return bad("truncated: %d of %d bytes", len(body), size)
	}
	h := crc32.New(castagnoli)
	h.Write(hdr)
	h.Write(body[:size-4])
	if h.Sum32() != le.Uint32(body[size-4:]) {
		return bad("checksum mismatch")
	}

	t := &Table{names: string(body[:nnames])}
	p := body[nnames:]
	t.recs = make([]record, nrec)
	for i := range t.recs {
		t.recs[i] = record{asn: le.Uint32(p), off: le.Uint32(p[4:]), n: le.Uint32(p[8:])}
		p = p[12:]
	}
	t.start4 = make([]uint32, n4)
	last4, meta4 := make([]uint32, n4), make([]uint32, n4)
	for i := range t.start4 {
		t.start4[i] = le.Uint32(p[4*i:])
		last4[i] = le.Uint32(p[4*(int(n4)+i):])
		meta4[i] = le.Uint32(p[4*(2*int(n4)+i):])
	}
	p = p[12*n4:]
	start6, last6, meta6 := make([]u128, n6), make([]u128, n6), make([]uint32, n6)
	for i := range start6 {
		start6[i] = u128{le.Uint64(p[16*i:]), le.Uint64(p[16*i+8:])}
		q := p[16*(int(n6)+i):]
		last6[i] = u128{le.Uint64(q), le.Uint64(q[8:])}
		meta6[i] = le.Uint32(p[32*int(n6)+4*i:])
	}
	if err := t.assemble(last4, meta4, start6, last6, meta6); err != nil {
		return bad("%v", err)
	}
	return t, nil
}
