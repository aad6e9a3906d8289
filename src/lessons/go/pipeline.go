// pipeline: lesson 12's experiment 1 in Go. A producer and a consumer goroutine joined by an
// unbuffered channel (a rendezvous: capacity 0) for the item and a second one for the ack, so
// the order produce i / consume i / produce i+1 is forced and the trace is the contract's.
//
// Usage: pipeline <trace_n> <timed_n>   (run with GOMAXPROCS=1: lessons.polyglot does)
// Prints 2*trace_n trace lines, then "handoff_ns <float>" and "runtime <text>".
//
// Why one hand-off is one goroutine switch here (runtime/chan.go and runtime/proc.go, Go 1.27.3):
// the consumer is already parked in chanrecv when the producer sends, so chansend finds it on the
// channel's recvq and send() copies the value straight onto its stack and calls goready, which
// puts it in this P's runnext slot (ready -> runqput(pp, gp, next=true)). The producer then
// blocks on <-acks (gopark), and schedule() picks runnext: no queue, no other thread, no syscall.
// The ack goes the same way back. So elapsed / (2 * timed_n) is the price of one switch.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"
)

// roundTrips runs n items through a fresh producer/consumer pair and returns when the consumer
// has acknowledged the last one. record=false is the timed run: printing would dominate it.
func roundTrips(n int, record bool) {
	items := make(chan int)     // unbuffered: the send completes only when the consumer takes it
	acks := make(chan struct{}) // the way back: the producer waits for it before the next item
	done := make(chan struct{})
	go func() { // producer
		for i := 0; i < n; i++ {
			if record {
				fmt.Println("produce", i)
			}
			items <- i
			<-acks
		}
		close(items)
	}()
	go func() { // consumer
		for i := range items {
			if record {
				fmt.Println("consume", i)
			}
			acks <- struct{}{}
		}
		close(done)
	}()
	<-done
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: pipeline <trace_n> <timed_n>")
		os.Exit(2)
	}
	traceN, err1 := strconv.Atoi(os.Args[1])
	timedN, err2 := strconv.Atoi(os.Args[2])
	if err1 != nil || err2 != nil || traceN < 0 || timedN < 1 {
		fmt.Fprintln(os.Stderr, "pipeline: trace_n >= 0 and timed_n >= 1 must be integers")
		os.Exit(2)
	}
	roundTrips(traceN, true)
	// time.Now carries the monotonic clock reading; time.Since subtracts that reading, so a
	// wall-clock step (NTP) cannot bend the result (package time, "Monotonic Clocks").
	start := time.Now()
	roundTrips(timedN, false) // includes starting two goroutines: well under 1 µs, noise here
	elapsed := time.Since(start)
	fmt.Printf("handoff_ns %.1f\n", float64(elapsed.Nanoseconds())/float64(2*timedN))
	fmt.Printf("runtime %s, goroutines and unbuffered channels, GOMAXPROCS=%d\n", runtime.Version(),
		runtime.GOMAXPROCS(0))
}
