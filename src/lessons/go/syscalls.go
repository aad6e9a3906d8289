// syscalls: n goroutines each block for ms milliseconds, either in a raw blocking system call
// (syscall.Nanosleep: the M blocks in the kernel with its G, and sysmon's retake hands the P
// to another M) or in time.Sleep (the G parks on a timer; no thread blocks). Prints the
// threads the runtime created (pprof's "threadcreate" profile counts every M ever made).
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 50, "goroutines")
	ms := flag.Int("ms", 200, "milliseconds each blocks")
	mode := flag.String("mode", "raw", "raw (syscall.Nanosleep) or sleep (time.Sleep)")
	flag.Parse()
	d := time.Duration(*ms) * time.Millisecond
	before := pprof.Lookup("threadcreate").Count()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if *mode == "raw" {
				ts := syscall.NsecToTimespec(d.Nanoseconds())
				syscall.Nanosleep(&ts, nil)
			} else {
				time.Sleep(d)
			}
		}()
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"mode": *mode, "goroutines": *n, "gomaxprocs": runtime.GOMAXPROCS(0),
		"threads_before": before, "threads_after": pprof.Lookup("threadcreate").Count(),
		"seconds": time.Since(start).Seconds(),
	})
}
