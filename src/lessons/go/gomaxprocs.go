// gomaxprocs: what GOMAXPROCS is at start (from the GOMAXPROCS variable, else the default:
// the CPUs this process may use and, from Go 1.25, the cgroup CPU limit), after
// runtime.GOMAXPROCS(n) sets it, and - with -watch - every 250 ms, to show Go 1.25+'s sysmon
// following a cgroup limit that changes while the program runs (sysmonUpdateGOMAXPROCS, at
// most once a second).
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"time"
)

func main() {
	set := flag.Int("set", 0, "call runtime.GOMAXPROCS(set) after start")
	watch := flag.Duration("watch", 0, "print GOMAXPROCS every 250 ms for this long")
	flag.Parse()
	out := map[string]any{"numcpu": runtime.NumCPU(), "start": runtime.GOMAXPROCS(0),
		"env": os.Getenv("GOMAXPROCS"), "version": runtime.Version()}
	if *set > 0 {
		runtime.GOMAXPROCS(*set)
		out["after_set"] = runtime.GOMAXPROCS(0)
	}
	if *watch > 0 {
		var seen []int
		for end := time.Now().Add(*watch); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			seen = append(seen, runtime.GOMAXPROCS(0))
		}
		out["watched"] = seen
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
