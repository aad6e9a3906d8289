// channels: the Go twins of lesson 10's Python channel programs (lessons.channels), printing
// one JSON object so a cell can compare the two: a ping-pong over two unbuffered channels,
// the prime sieve (a chain of filter goroutines, after Hoare 1978 and the Go tour), a
// buffered channel filled without a receiver, receiving from a closed channel, and select
// with a default case.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

func pingPong(n int) []string {
	var trace []string
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	v := 0
	for i := 0; i < n; i++ {
		ping <- v
		trace = append(trace, fmt.Sprintf("ping sent %d", v))
		v = <-pong
		trace = append(trace, fmt.Sprintf("pong replied %d", v))
		v++
	}
	close(ping)
	return trace
}

func generate(ch chan<- int) {
	for i := 2; ; i++ {
		ch <- i
	}
}

func filter(in <-chan int, out chan<- int, prime int) {
	for {
		if i := <-in; i%prime != 0 {
			out <- i
		}
	}
}

func sieve(n int) []int {
	var primes []int
	ch := make(chan int)
	go generate(ch)
	for i := 0; i < n; i++ {
		prime := <-ch
		primes = append(primes, prime)
		next := make(chan int)
		go filter(ch, next, prime)
		ch = next
	}
	return primes
}

func main() {
	out := map[string]any{"ping_pong": pingPong(3), "sieve": sieve(10)}

	buffered := make(chan int, 3)
	for i := 1; i <= 3; i++ {
		buffered <- i // three sends complete with no receiver: the buffer holds them
	}
	out["buffered_len"] = len(buffered)
	close(buffered)
	var drained []any
	for {
		v, ok := <-buffered
		drained = append(drained, []any{v, ok})
		if !ok {
			break
		}
	}
	out["drained_after_close"] = drained // buffered values first, then the zero value and false

	empty := make(chan int)
	select {
	case v := <-empty:
		out["select"] = fmt.Sprint("received ", v)
	default:
		out["select"] = "default: nothing ready"
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
