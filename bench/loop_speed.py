"""How fast is the course's teaching loop (src/lessons/eventloop.py) beside asyncio's own?

    .venv/bin/python bench/loop_speed.py [--repeat 7] [--scale 1.0] [--busy 0]

The same workload code runs on both loops, through the callback API they share (call_soon,
call_at, TimerHandle.cancel, add_reader, remove_reader, stop, run_forever): so the ratio is
the cost of the loop, not of two different programs. Four workloads:

* ``call_soon chain``: one callback that schedules the next, N times (one callback per pass:
  the cost of a whole loop iteration, select with timeout 0 included);
* ``call_soon fan-out``: N callbacks scheduled at once, run in one pass (the ready queue alone);
* ``timers``: N timers at shuffled times already in the past, half of them cancelled before
  the run (the heap: push, pop, lazy cancellation and the purge);
* ``socket echo``: a client and an echo server on the two ends of a loopback TCP connection,
  both driven by add_reader callbacks on the same loop, M round trips of 64 bytes (select
  with real readiness, recv and send).

Each workload runs ``--repeat`` times on each loop, alternately (teaching, asyncio,
teaching, ...), so that a change in the machine's load hits both alike; the table gives each
loop's median rate and the ratio of the medians (teaching / asyncio: below 1 means the toy is
slower). There is no goal to pass: the teaching loop is written to be read, in pure Python,
while asyncio's loop is pure Python too on the parts measured here (base_events.py,
selector_events.py; only Future and Task have a C accelerator, _asyncio, and this workload
uses neither), so the ratio says what the toy's extra bookkeeping (its observer hook,
its sequence tie-break) costs. Lesson 06 grows this bench into the loop-vs-asyncio-vs-uvloop
comparison. bench/README.md says how to read it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lessons.eventloop import Loop  # noqa: E402


def teaching_loop() -> Any:
    return Loop()


def asyncio_loop() -> Any:
    return asyncio.SelectorEventLoop()


LOOPS: dict[str, Callable[[], Any]] = {"teaching": teaching_loop, "asyncio": asyncio_loop}


def chain(loop: Any, n: int) -> int:
    """One callback at a time, each scheduling the next: n loop passes."""
    left = [n]

    def step() -> None:
        left[0] -= 1
        if left[0]:
            loop.call_soon(step)
        else:
            loop.stop()

    loop.call_soon(step)
    loop.run_forever()
    return n


def fan_out(loop: Any, n: int) -> int:
    """n callbacks ready at once: one pass runs them all (stop() is scheduled last)."""
    done = [0]

    def one() -> None:
        done[0] += 1

    for _ in range(n):
        loop.call_soon(one)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert done[0] == n, done
    return n


def timers(loop: Any, n: int) -> int:
    """n timers due already, in shuffled order, half cancelled; the live ones must run in time order."""
    rng = random.Random(8)
    now = loop.time()
    whens = [now - 1.0 + i * 1e-6 for i in range(n)]
    rng.shuffle(whens)
    fired: list[float] = []
    handles = [loop.call_at(when, fired.append, when) for when in whens]
    for handle in handles[::2]:
        handle.cancel()
    last = loop.call_at(now, loop.stop)       # after every earlier timer
    loop.run_forever()
    last.cancel()
    live = sorted(whens[1::2])
    assert fired == live, "timers ran out of order or a cancelled one ran"
    return n


def echo(loop: Any, rounds: int) -> int:
    """`rounds` round trips of 64 bytes over loopback TCP, client and server on the same loop."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    for sock in (client, server):
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    message = b"x" * 64
    state = {"left": rounds, "got": 0}

    def serve() -> None:
        data = server.recv(65536)
        if data:
            server.send(data)            # 64 bytes always fit an empty send buffer

    def reply() -> None:
        state["got"] += len(client.recv(65536))
        if state["got"] < len(message):
            return
        state["got"] = 0
        state["left"] -= 1
        if state["left"]:
            client.send(message)
        else:
            loop.stop()

    loop.add_reader(server.fileno(), serve)
    loop.add_reader(client.fileno(), reply)
    client.send(message)
    try:
        loop.run_forever()
    finally:
        loop.remove_reader(server.fileno())
        loop.remove_reader(client.fileno())
        client.close()
        server.close()
    return rounds


WORKLOADS: list[tuple[str, Callable[[Any, int], int], int, str]] = [
    ("call_soon chain", chain, 100_000, "callbacks/s"),
    ("call_soon fan-out", fan_out, 200_000, "callbacks/s"),
    ("timers (half cancelled)", timers, 100_000, "timers/s"),
    ("socket echo (loopback TCP)", echo, 10_000, "round trips/s"),
]


def rate(make: Callable[[], Any], work: Callable[[Any, int], int], n: int) -> float:
    loop = make()
    try:
        start = time.perf_counter()
        done = work(loop, n)
        return done / (time.perf_counter() - start)
    finally:
        loop.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per loop and workload (default 7)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every workload's size (default 1)")
    parser.add_argument("--busy", type=int, default=0, help="busy-looping processes kept running meanwhile")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.scale <= 0 or args.busy < 0:
        parser.error("--repeat must be >= 1, --scale > 0, --busy >= 0")

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        print(f"teaching loop (src/lessons/eventloop.py) against asyncio.SelectorEventLoop, "
              f"Python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
              f"{args.busy} busy loops, {args.repeat} runs each, alternating")
        print(f"{'workload':28} {'unit':14} {'teaching':>12} {'asyncio':>12} {'teaching/asyncio':>17}")
        for name, work, size, unit in WORKLOADS:
            n = max(1, int(size * args.scale))
            rates: dict[str, list[float]] = {kind: [] for kind in LOOPS}
            for _ in range(args.repeat):
                for kind, make in LOOPS.items():
                    rates[kind].append(rate(make, work, n))
            med = {kind: statistics.median(r) for kind, r in rates.items()}
            print(f"{name:28} {unit:14} {med['teaching']:12,.0f} {med['asyncio']:12,.0f} "
                  f"{med['teaching'] / med['asyncio']:17.2f}")
        print(f"load at the end {os.getloadavg()[0]:.1f}")
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
