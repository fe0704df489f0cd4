package iptable

import (
	"runtime"
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on the machines tocsin
// runs on (x86-64, arm64 with 4 KiB pages).
const hugePage = 2 << 20

// hugeSlice returns a zeroed slice of n Ts (which must hold no pointers)
// outside the Go heap, in memory the kernel is asked to back with huge
// pages (madvise MADV_HUGEPAGE, which works when transparent huge pages
// are "always" or "madvise", the usual default). A lookup reads two or
// three random places in tens of megabytes: with 4 KiB pages each read
// also misses the TLB, and in a virtual machine a TLB miss costs more than
// the read (about 250 ns against 35 ns on the reference machine). owner,
// when collected, frees the memory. Where mapping fails, the
// slice is an ordinary one.
func hugeSlice[T any](owner *Table, n int) []T {
	size := n * int(unsafe.Sizeof(*new(T)))
	if size == 0 {
		return nil
	}
	// Whole huge pages, from a huge page boundary.
	m, err := syscall.Mmap(-1, 0, (size+hugePage-1)&^(hugePage-1)+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]T, n)
	}
	off := -int(uintptr(unsafe.Pointer(&m[0]))) & (hugePage - 1)
	b := m[off : off+size]
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE) // only advice: 4 KiB pages work too
	runtime.AddCleanup(owner, func(m []byte) { syscall.Munmap(m) }, m)
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}
