// starve: lesson 12's experiment 2 in Go. A heartbeat goroutine (time.Sleep(1 ms), then a beat)
// beside a hog that spins on the clock for hog_ms without a channel operation, a sleep or I/O.
//
// Under GOMAXPROCS=1 the hog holds the only P, so the heartbeat can run only if the runtime
// takes the P away. Two mechanisms can (Go 1.27 runtime/proc.go):
//   - sysmon, a thread with no P, calls retake(); a P whose goroutine has run for
//     forcePreemptNS (10 ms) since its last schedule gets preemptone(): gp.preempt = true and
//     stackguard0 = stackPreempt, so the goroutine stops at its next function prologue's stack
//     check (cooperative preemption), and, since Go 1.14, preemptM sends the thread SIGURG
//     (runtime/signal_unix.go: doSigPreempt, asyncPreempt) so even a loop with no calls stops
//     at a safe point ("Goroutines are now asynchronously preemptible", Go 1.14 release notes).
//   - GODEBUG=asyncpreemptoff=1 turns the signal off and leaves only the prologue check.
//
// The hog reads the clock through runtime.nanotime (linknamed below), which is //go:nosplit:
// it has no stack-check prologue, so the loop contains no cooperative preemption point at all.
// (A hog calling time.Since would be stopped at a prologue in time's code even with
// asyncpreemptoff=1: measured, ~13 beats in 300 ms, as in the Go 1.13 world, where only loops
// without calls starved the scheduler.)
// Expect beats during the hog by default, and none with asyncpreemptoff=1. Measured here (Go
// 1.27.3, one CPU): a beat every 20-30 ms, not every 10: sysmon finds nothing to retake from
// syscalls, so it counts itself idle and its sleep doubles up to 10 ms (sysmon: "start
// doubling the sleep after 1ms"), and it notices a 10 ms slice only at its next wake-up.
//
// Usage: starve <hog_ms>   (line format: lesson 12's contract, see polyglot.py)
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's monotonic clock. Pulling it by linkname is allowed: the runtime
// keeps it linkname-able because widely used packages do so (runtime/time_nofake.go).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

var t0 = nanotime()

func ms() float64 { return float64(nanotime()-t0) / 1e6 }

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: starve <hog_ms>")
		os.Exit(2)
	}
	hogMs, err := strconv.ParseFloat(os.Args[1], 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage: starve <hog_ms>")
		os.Exit(2)
	}
	twenty := make(chan struct{})  // closed at the 20th beat: the hog may start
	done := make(chan struct{})    // closed by the heartbeat at its 20th beat after the hog
	var count, stopAt atomic.Int64 // beats so far; the count to stop at (0: not known yet)
	go func() {                    // the heartbeat
		for {
			time.Sleep(time.Millisecond)
			fmt.Printf("beat %.3f\n", ms()) // os.Stdout is unbuffered: each line is one write(2)
			n := count.Add(1)
			if n == 20 {
				close(twenty)
			}
			if s := stopAt.Load(); s != 0 && n >= s {
				close(done)
				return
			}
		}
	}()
	<-twenty
	start := nanotime()
	fmt.Printf("hog_start %.3f\n", float64(start-t0)/1e6)
	limit := int64(hogMs * 1e6)
	x := 0
	// Arithmetic, with a clock read every 10^4 adds: no call with a prologue, no yield, no I/O.
	// Nearly all the time is spent in the inner loop, in this function's code, so a SIGURG
	// lands at an async safe point; a signal landing inside nanotime (runtime code, or the
	// vDSO) finds no safe point and the attempt is lost, which is why a loop that did little
	// but read the clock was, measured, never preempted in 300 ms. x is printed at the end so
	// the compiler cannot drop the loop.
	for nanotime()-start < limit {
		for j := 0; j < 10000; j++ {
			x += j & 1
		}
	}
	fmt.Printf("hog_end %.3f\n", ms())
	stopAt.Store(count.Load() + 20)
	<-done
	fmt.Printf("runtime %s, goroutines, GOMAXPROCS=%d, GODEBUG=%q (hog sum %d)\n",
		runtime.Version(), runtime.GOMAXPROCS(0), os.Getenv("GODEBUG"), x)
}
