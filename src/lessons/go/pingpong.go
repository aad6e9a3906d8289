// pingpong: two goroutines pass a counter back and forth over two unbuffered channels.
// Each send readies the other goroutine into the sender's P's runnext slot (chansend ->
// send -> goready -> ready -> runqput(pp, gp, next=true) in runtime/chan.go and proc.go), so
// the pair runs on one P, sharing one time slice (runqget's inheritTime).
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"time"
)

func main() {
	rounds := flag.Int("rounds", 100000, "round trips")
	trace := flag.Int("trace", 0, "print the first N hand-offs")
	flag.Parse()
	ping, pong := make(chan int), make(chan int)
	done := make(chan bool)
	go func() { // the ponger
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	go func() { // the pinger
		v := 0
		for i := 0; i < *rounds; i++ {
			ping <- v
			v = <-pong
			if i < *trace {
				println("ping got", v)
			}
		}
		close(ping)
		done <- true
	}()
	start := time.Now()
	<-done
	elapsed := time.Since(start)
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"rounds": *rounds, "gomaxprocs": runtime.GOMAXPROCS(0),
		"ns_per_round_trip": float64(elapsed.Nanoseconds()) / float64(*rounds),
	})
}
