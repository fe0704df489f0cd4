//go:build !unix

package shadowserver

import "time"

func cpuTime() time.Duration { return 0 }
