// fairness: with GOMAXPROCS=1, two goroutines hand a value back and forth forever over
// unbuffered channels. A few rounds in, the pinger starts a third goroutine, which lands
// in runnext (newproc -> runqput(pp, newg, true) in runtime/proc.go) and is kicked to the
// tail of the local run queue by the pinger's next receive, which readies the ponger (parked
// in its send) into runnext (chanrecv -> recv -> goready -> ready(gp, traceskip, true)).
// From then on each hand-off puts the partner in runnext, and runqget hands runnext out with inheritTime=true: the pair shares
// one time slice, schedtick stops moving, and the third goroutine waits. sysmon's retake
// preempts the pair once that slice is 10 ms old (forcePreemptNS); the preempted G goes to
// the global queue and the third one runs. Without those rules it would wait forever.
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"time"
)

var handoffs int

func main() {
	runtime.GOMAXPROCS(1)
	a, b := make(chan int), make(chan int)
	waited := make(chan time.Duration)
	go func() {
		for v := range a {
			b <- v + 1
		}
	}()
	go func() {
		for v := 0; ; handoffs++ {
			a <- v // the ponger took v and readied us; runnext is empty now
			if handoffs == 3 {
				created := time.Now()
				go func() { waited <- time.Since(created) }() // into runnext...
			}
			v = <-b // ...and out of it: this readies the ponger into runnext
		}
	}()
	w := <-waited
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"waited_ms": float64(w.Microseconds()) / 1000, "handoffs_meanwhile": handoffs,
	})
}
