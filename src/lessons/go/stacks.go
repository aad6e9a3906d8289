// stacks: a goroutine's stack starts small and grows by copying. The goroutine takes the
// address of a local variable, recurses deep enough to outgrow its stack, and looks again:
// the variable has moved, because runtime.newstack allocated a stack twice as large and
// runtime.copystack moved the frames (and adjusted every pointer into the old stack).
// -limit N sets debug.SetMaxStack(N) and recurses without end: the runtime stops the
// program with "goroutine stack exceeds N-byte limit" (the default is maxstacksize, 1 GB on
// 64-bit systems, set in runtime.main).
package main

import (
	"encoding/json"
	"flag"
	"os"
	"runtime"
	"runtime/debug"
	"unsafe"
)

//go:noinline
func deep(n int) int {
	var pad [128]byte // 128 bytes of frame per call, so depth maps to stack size
	pad[n%128] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return deep(n-1) + int(pad[n%128])
}

func stackInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.StackInuse
}

func main() {
	depth := flag.Int("depth", 100000, "recursion depth")
	limit := flag.Int("limit", 0, "SetMaxStack(limit) and recurse forever")
	flag.Parse()
	if *limit > 0 {
		debug.SetMaxStack(*limit)
		deep(1 << 40)
		return
	}
	result := make(chan map[string]any)
	go func() {
		var local int
		before := uintptr(unsafe.Pointer(&local))
		inuse := stackInuse()
		deep(*depth)
		after := uintptr(unsafe.Pointer(&local))
		result <- map[string]any{
			"depth": *depth, "moved": before != after,
			"address_before": before, "address_after": after,
			"stack_inuse_growth": stackInuse() - inuse,
		}
	}()
	json.NewEncoder(os.Stdout).Encode(<-result)
}
