// tightloop: main starts a goroutine that spins in a loop with no function call, then sleeps
// 10 ms and returns. With GOMAXPROCS=1 the spinning goroutine holds the only P; main can run
// again only if the runtime takes the P from it. sysmon's retake asks after 10 ms
// (forcePreemptNS); a loop with no call never reaches a stack check, so only the signal
// (SIGURG, asynchronous preemption, Go 1.14) can stop it. Under GODEBUG=asyncpreemptoff=1
// the program never ends: run it with a timeout.
package main

import (
	"fmt"
	"runtime"
	"time"
)

var counter uint64

func main() {
	go func() {
		for {
			counter++ // no call: no cooperative preemption point
		}
	}()
	start := time.Now()
	time.Sleep(10 * time.Millisecond)
	fmt.Printf("main resumed after %.1f ms with GOMAXPROCS=%d\n",
		float64(time.Since(start).Microseconds())/1000, runtime.GOMAXPROCS(0))
}
