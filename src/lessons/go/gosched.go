// gosched: bench/gmp_sim.py's scenario in real Go: n goroutines, each k times (burn work_ns of
// CPU, then runtime.Gosched()), and main waits on a WaitGroup. Prints the wall time of the
// whole (from before the first go statement to the end of wg.Wait()) in ns.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"sync"
	"time"
)

var sink uint64

func burn(d time.Duration) {
	t0 := time.Now()
	for time.Since(t0) < d {
		sink++
	}
}

func main() {
	n := flag.Int("n", 100000, "goroutines")
	k := flag.Int("k", 10, "rounds of work + Gosched per goroutine")
	workNs := flag.Int("work-ns", 1000, "ns of CPU per round")
	flag.Parse()
	d := time.Duration(*workNs)
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(*n)
	for i := 0; i < *n; i++ {
		go func() {
			for j := 0; j < *k; j++ {
				burn(d)
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"ns": el.Nanoseconds(), "gomaxprocs": runtime.GOMAXPROCS(0),
	})
}
