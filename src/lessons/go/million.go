// million: start n goroutines that all block on one channel, then report memory: the Go
// runtime's own accounting (runtime.MemStats: StackInuse is the goroutine stacks, Sys all it
// took from the OS), the kernel's (/proc/self/status: VmRSS resident, VmSize virtual), and
// the threads (Ms) the runtime made for them all.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

func status() map[string]int64 {
	out := map[string]int64{}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && (fields[0] == "VmRSS:" || fields[0] == "VmSize:") {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			out[strings.TrimSuffix(fields[0], ":")] = kb * 1024
		}
	}
	return out
}

func snapshot() map[string]int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s := status()
	s["StackInuse"] = int64(m.StackInuse)
	s["Sys"] = int64(m.Sys)
	s["HeapInuse"] = int64(m.HeapInuse)
	s["goroutines"] = int64(runtime.NumGoroutine())
	s["threads"] = int64(pprof.Lookup("threadcreate").Count())
	return s
}

func main() {
	n := flag.Int("n", 1000000, "goroutines")
	flag.Parse()
	before := snapshot()
	gate := make(chan struct{})
	var started, finished sync.WaitGroup
	start := time.Now()
	for i := 0; i < *n; i++ {
		started.Add(1)
		finished.Add(1)
		go func() {
			started.Done()
			<-gate
			finished.Done()
		}()
	}
	started.Wait()
	spawn := time.Since(start)
	during := snapshot()
	close(gate)
	finished.Wait()
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"n": *n, "before": before, "during": during, "spawn_seconds": spawn.Seconds(),
	})
}
