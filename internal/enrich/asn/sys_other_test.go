//go:build !unix

package asn

import "time"

func processCPU() (time.Duration, bool) { return 0, false }

func peakRSS() (int64, bool) { return 0, false }
