package ingest

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// compression is how an input file is packed.
type compression int

const (
	plain compression = iota
	gzipped
	bzipped
	zipped
)

var magics = []struct {
	magic []byte
	c     compression
	ext   string
}{
	{[]byte{0x1f, 0x8b}, gzipped, ".gz"},
	{[]byte("BZh"), bzipped, ".bz2"},
	{[]byte("PK\x03\x04"), zipped, ".zip"},
	{[]byte("PK\x05\x06"), zipped, ".zip"}, // empty archive
}

// sniff tells the compression of a file from its first bytes, never from
// its name: a report named .csv may well be gzip.
func sniff(path string) (compression, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return plain, "", err
	}
	defer f.Close()
	head := make([]byte, 4)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return plain, "", err
	}
	for _, m := range magics {
		if bytes.HasPrefix(head[:n], m.magic) {
			return m.c, m.ext, nil
		}
	}
	return plain, "", nil
}

// source is one report inside an input file: the file itself, or one member
// of a zip archive.
type source struct {
	// name is the report's name: the file's base name without a
	// compression suffix, or the zip member's base name.
	name string
	// open returns the decompressed content; it may be called more than
	// once.
	open func() (io.ReadCloser, error)
	// whole is true when the source is the whole input file, so its raw
	// bytes can be kept as they came.
	whole bool
	// ext is the compression suffix of the raw bytes ("" when plain).
	ext string
}

// maxZipMembers bounds how many reports one archive may hold.
const maxZipMembers = 10000

// sources lists the reports in the input file at path.
func sources(path string) ([]source, error) {
	c, ext, err := sniff(path)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(path)
	switch c {
	case plain:
		return []source{{name: base, whole: true, open: func() (io.ReadCloser, error) { return os.Open(path) }}}, nil
	case gzipped:
		return []source{{name: trimSuffixFold(trimSuffixFold(base, ".gz"), ".gzip"), whole: true, ext: ext, open: func() (io.ReadCloser, error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			zr, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("gzip: %w", err)
			}
			return readCloser{zr, func() error { zr.Close(); return f.Close() }}, nil
		}}}, nil
	case bzipped:
		return []source{{name: trimSuffixFold(trimSuffixFold(base, ".bz2"), ".bzip2"), whole: true, ext: ext, open: func() (io.ReadCloser, error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, err
			}
			return readCloser{bzip2.NewReader(bufio.NewReaderSize(f, 256<<10)), f.Close}, nil
		}}}, nil
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("zip: %w", err)
	}
	defer zr.Close()
	var out []source
	for _, m := range zr.File {
		if m.FileInfo().IsDir() || strings.HasPrefix(filepath.Base(m.Name), ".") || strings.HasPrefix(m.Name, "__MACOSX/") {
			continue
		}
		if len(out) == maxZipMembers {
			return nil, fmt.Errorf("zip: more than %d members", maxZipMembers)
		}
		member := m.Name
		out = append(out, source{name: filepath.Base(member), open: func() (io.ReadCloser, error) {
			zr, err := zip.OpenReader(path)
			if err != nil {
				return nil, fmt.Errorf("zip: %w", err)
			}
			f, err := zr.Open(member)
			if err != nil {
				zr.Close()
				return nil, fmt.Errorf("zip member %s: %w", member, err)
			}
			return readCloser{f, func() error { f.Close(); return zr.Close() }}, nil
		}})
	}
	return out, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

func trimSuffixFold(s, suffix string) string {
	if len(s) > len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix) {
		return s[:len(s)-len(suffix)]
	}
	return s
}
