//go:build !unix

package divoc

import "time"

func cpuTime() time.Duration { return 0 }
