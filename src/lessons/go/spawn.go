// spawn: one goroutine starts n CPU-bound goroutines, each burning about ms milliseconds of
// CPU, and waits for them all. Lesson 10 runs it with GODEBUG=schedtrace=N beside the
// simulator's spawn scenario (lessons.gmp_sim): the creator's P fills its 256-slot run queue,
// runqputslow moves batches of 128+1 to the global queue, and the other P steals.
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

// burn spins for d of wall time, calling nothing the scheduler could stop it at except the
// loop's own function call (time.Since): a CPU-bound goroutine.
func burn(d time.Duration) {
	start := time.Now()
	x := uint64(1)
	for time.Since(start) < d {
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink += x
}

func main() {
	n := flag.Int("n", 600, "goroutines to start")
	ms := flag.Float64("ms", 2, "CPU milliseconds each")
	flag.Parse()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			burn(time.Duration(*ms * float64(time.Millisecond)))
		}()
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"goroutines": *n, "gomaxprocs": runtime.GOMAXPROCS(0),
		"seconds": time.Since(start).Seconds(),
	})
}
