"""How fast is the course's teaching loop (src/lessons/eventloop.py) beside asyncio's and uvloop's?

    .venv/bin/python bench/loop_speed.py [--repeat 5] [--scale 1.0] [--busy 0] [--only NAME]

Three loops in one run, alternately (teaching, asyncio, uvloop, teaching, ...), so that a
change in the machine's load hits all alike: the teaching loop ``lessons.eventloop.Loop``,
``asyncio.SelectorEventLoop`` (pure Python: base_events.py, selector_events.py) and
``uvloop.Loop`` (Cython over libuv). Each row gives each loop's median rate and every ratio
to asyncio (below 1: slower than asyncio). The bench prints; it asserts nothing but that
each workload did its work.

Callback workloads, through the API the three loops share (call_soon, call_at,
TimerHandle.cancel, add_reader, remove_reader, stop, run_forever), so the ratio is the cost
of the loop itself, no Future or Task involved:

* ``call_soon chain``: one callback that schedules the next, N times (one callback per pass:
  the cost of a whole loop iteration, select with timeout 0 included);
* ``call_soon fan-out``: N callbacks scheduled at once, run in one pass (the ready queue alone);
* ``timers``: N timers at shuffled times already in the past, half of them cancelled before
  the run (the heap: push, pop, lazy cancellation and the purge);
* ``socket echo``: a client and an echo server on the two ends of a loopback TCP connection,
  both driven by add_reader callbacks on the same loop, M round trips of 64 bytes.

Coroutine workloads, each a real asyncio program run by ``asyncio.Runner(loop_factory=...)``
(Futures and Tasks are asyncio's own on every loop: the C ``_asyncio.Task`` on the teaching
loop and asyncio's, uvloop's too). These have a fourth column, ``asyncio+PyTask``: asyncio's
loop with ``loop.set_task_factory`` making ``asyncio.tasks._PyTask``, the pure-Python Task, to
show what the C accelerator is worth:

* ``sleep(0) round-robin``: 10 tasks each awaiting ``asyncio.sleep(0)`` N/10 times (a Task
  step per call_soon: call_soon throughput as asyncio code sees it);
* ``many timers``: N tasks each ``await asyncio.sleep(d)`` with d spread over 0..5 ms;
* ``echo server, 100 clients``: a server task per connection (sock_accept, sock_recv,
  sock_sendall), 100 client tasks doing R round trips of 64 bytes each, on one loop;
* ``crawler``: a coroutine crawler (sock_connect/sock_sendall/sock_recv, HTTP/1.0) over a
  ``lessons.linksite.LinkSite`` of 200 pages served by another process (its threads would
  otherwise share this process's GIL with the loop being measured);
* ``echo, protocols``: the echo server's work through ``create_server``/``create_connection``
  and Protocol callbacks (no Task per read), asyncio and uvloop only (the teaching loop has
  no transports): the API uvloop's published benchmarks used, and where its C read path shows.

bench/README.md says how to read the table and gives one run's numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lessons.eventloop import Loop  # noqa: E402


def teaching_loop() -> Any:
    return Loop()


def asyncio_loop() -> Any:
    return asyncio.SelectorEventLoop()


def uvloop_loop() -> Any:
    return uvloop.Loop()


def asyncio_pytask_loop() -> Any:
    """asyncio's loop whose tasks are the pure-Python Task (asyncio.tasks._PyTask)."""
    loop = asyncio.SelectorEventLoop()
    loop.set_task_factory(lambda lp, coro, **kw: asyncio.tasks._PyTask(coro, loop=lp, **kw))
    return loop


LOOPS: dict[str, Callable[[], Any]] = {"teaching": teaching_loop, "asyncio": asyncio_loop,
                                       "uvloop": uvloop_loop}
#: loops for the coroutine workloads only (a callback workload makes no Task)
TASK_LOOPS: dict[str, Callable[[], Any]] = {**LOOPS, "asyncio+PyTask": asyncio_pytask_loop}


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
    # The same set ran; the order is not checked: uvloop's timers have libuv's 1 ms
    # granularity, so timers 1 us apart (all due at once) run in the order they were armed.
    assert sorted(fired) == live, "a cancelled timer ran or a live one did not"
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


# ---------------------------------------------------------------------- coroutine workloads

async def round_robin(n: int) -> int:
    """10 tasks, each awaiting asyncio.sleep(0) n // 10 times."""
    per = max(1, n // 10)

    async def spin() -> None:
        for _ in range(per):
            await asyncio.sleep(0)

    await asyncio.gather(*(spin() for _ in range(10)))
    return per * 10


async def many_timers(n: int) -> int:
    """n tasks each sleeping a different short time (0..5 ms): the heap under asyncio.sleep."""
    rng = random.Random(3)
    woke = [0]

    async def nap(delay: float) -> None:
        await asyncio.sleep(delay)
        woke[0] += 1

    await asyncio.gather(*(nap(rng.uniform(0, 0.005)) for _ in range(n)))
    assert woke[0] == n
    return n


ECHO_CLIENTS = 100


async def echo_server(rounds: int) -> int:
    """ECHO_CLIENTS clients, `rounds` round trips of 64 bytes each, through sock_* coroutines."""
    loop = asyncio.get_running_loop()
    per = max(1, rounds // ECHO_CLIENTS)
    server = socket.create_server(("127.0.0.1", 0), backlog=ECHO_CLIENTS)
    server.setblocking(False)
    message = b"x" * 64

    async def handle(conn: socket.socket) -> None:
        with conn:
            while data := await loop.sock_recv(conn, 65536):
                await loop.sock_sendall(conn, data)

    async def serve() -> None:
        handlers = []
        for _ in range(ECHO_CLIENTS):
            conn, _ = await loop.sock_accept(server)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            handlers.append(asyncio.ensure_future(handle(conn)))
        await asyncio.gather(*handlers)

    async def client() -> int:
        sock = socket.socket()
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with sock:
            await loop.sock_connect(sock, server.getsockname())
            for _ in range(per):
                await loop.sock_sendall(sock, message)
                got = 0
                while got < len(message):
                    got += len(await loop.sock_recv(sock, 65536))
        return per

    serving = asyncio.ensure_future(serve())
    done = sum(await asyncio.gather(*(client() for _ in range(ECHO_CLIENTS))))
    await serving
    server.close()
    return done


class EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class PingProtocol(asyncio.Protocol):
    """Sends 64 bytes, waits for them to come back, `rounds` times, then resolves `done`."""

    def __init__(self, rounds: int, done: asyncio.Future[int]) -> None:
        self.left, self.got, self.done = rounds, 0, done

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(b"x" * 64)

    def data_received(self, data: bytes) -> None:
        self.got += len(data)
        if self.got < 64:
            return
        self.got = 0
        self.left -= 1
        if self.left:
            self.transport.write(b"x" * 64)
        else:
            self.transport.close()
            self.done.set_result(1)


async def echo_protocols(rounds: int) -> int:
    """The echo server's work through transports and protocols (no Task per read): where
    uvloop's C read/write path shows. The teaching loop has no transports."""
    loop = asyncio.get_running_loop()
    per = max(1, rounds // ECHO_CLIENTS)
    server = await loop.create_server(EchoProtocol, "127.0.0.1", 0, backlog=ECHO_CLIENTS)
    host, port = server.sockets[0].getsockname()[:2]
    dones = []
    for _ in range(ECHO_CLIENTS):
        done = loop.create_future()
        await loop.create_connection(lambda d=done: PingProtocol(per, d), host, port)
        dones.append(done)
    await asyncio.gather(*dones)
    server.close()
    await server.wait_closed()
    return per * ECHO_CLIENTS


HREF = re.compile(rb'href="([^"]+)"')
SITE_SCRIPT = """
import json, sys
from lessons import linksite
# socketserver's listen backlog is 5: a crawler opening dozens of connections at once would
# overflow it, and the kernel's 1 s SYN retransmit would be what the bench measures.
linksite._Server.request_queue_size = 1024
site = linksite.LinkSite(pages=int(sys.argv[1]), seed=5)
site.release_slow()
print(json.dumps({"url": site.url("/"), "expected": sorted(site.expected_urls())}), flush=True)
sys.stdin.read()            # serve until the bench closes our stdin
site.close()
"""


class Site:
    """A LinkSite in a child process, so its server threads do not share our GIL."""

    def __init__(self, pages: int) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        self.proc = subprocess.Popen([sys.executable, "-c", SITE_SCRIPT, str(pages)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.url: str = info["url"]
        self.expected: set[str] = set(info["expected"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


async def crawl(start: str) -> set[str]:
    """The conformance suite's crawler: sock_* HTTP/1.0 GETs, one task per URL, each URL once."""
    loop = asyncio.get_running_loop()
    host = urlsplit(start).netloc
    seen = {start}

    async def fetch(url: str) -> None:
        parts = urlsplit(url)
        sock = socket.socket()
        sock.setblocking(False)
        with sock:
            await loop.sock_connect(sock, (parts.hostname, parts.port))
            await loop.sock_sendall(sock, f"GET {parts.path or '/'} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            chunks = []
            while chunk := await loop.sock_recv(sock, 65536):
                chunks.append(chunk)
        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        links = [h.decode() for h in HREF.findall(body)] if status == b"200" else []
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"location":
                links.append(value.strip().decode())
        fetches = []
        for link in links:
            target = urljoin(url, link)
            if urlsplit(target).netloc == host and target not in seen:
                seen.add(target)
                fetches.append(fetch(target))
        await asyncio.gather(*fetches)

    await fetch(start)
    return seen


SITE: Site | None = None


async def crawler(pages: int) -> int:
    assert SITE is not None
    found = await crawl(SITE.url)
    assert found == SITE.expected, "the crawl missed pages or fetched pages that are not there"
    return len(found)


def run_coroutine(work: Callable[[int], Any]) -> Callable[[Any, int], int]:
    """Adapt a coroutine workload to the (loop, n) shape: Runner drives the given loop."""
    def on(loop: Any, n: int) -> int:
        with asyncio.Runner(loop_factory=lambda: loop) as runner:
            return runner.run(work(n))
    on.__name__ = work.__name__
    return on


# (name, work, size, unit, coroutine?)
WORKLOADS: list[tuple[str, Callable[[Any, int], int], int, str, bool]] = [
    ("call_soon chain", chain, 100_000, "callbacks/s", False),
    ("call_soon fan-out", fan_out, 200_000, "callbacks/s", False),
    ("timers (half cancelled)", timers, 100_000, "timers/s", False),
    ("socket echo (callbacks)", echo, 10_000, "round trips/s", False),
    ("sleep(0) round-robin", run_coroutine(round_robin), 100_000, "task steps/s", True),
    ("many timers (sleep)", run_coroutine(many_timers), 20_000, "sleeps/s", True),
    ("echo server, 100 clients", run_coroutine(echo_server), 20_000, "round trips/s", True),
    ("crawler (LinkSite)", run_coroutine(crawler), 200, "pages/s", True),
    ("echo, protocols (no toy)", run_coroutine(echo_protocols), 20_000, "round trips/s", True),
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
    global SITE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per loop and workload (default 5)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every workload's size (default 1)")
    parser.add_argument("--busy", type=int, default=0, help="busy-looping processes kept running meanwhile")
    parser.add_argument("--only", default="", help="run only the workloads whose name contains this")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.scale <= 0 or args.busy < 0:
        parser.error("--repeat must be >= 1, --scale > 0, --busy >= 0")

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        print(f"teaching loop (src/lessons/eventloop.py), asyncio.SelectorEventLoop, uvloop "
              f"{uvloop.__version__}; Python {platform.python_version()}, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}, {args.busy} busy loops, {args.repeat} runs each, alternating")
        print("median rates; ratios are loop / asyncio (above 1: faster than asyncio's loop)")
        cols = list(TASK_LOOPS)
        print(f"{'workload':26} {'unit':14} " + " ".join(f"{c:>14}" for c in cols) + "   ratios to asyncio")
        for name, work, size, unit, coroutine in WORKLOADS:
            if args.only not in name:
                continue
            loops = TASK_LOOPS if coroutine else LOOPS
            if work.__name__ == "echo_protocols":       # the teaching loop has no transports
                loops = {k: v for k, v in LOOPS.items() if k != "teaching"}   # and no Task either
            n = max(1, int(size * args.scale))
            if work.__name__ == "crawler":
                SITE = Site(n)
            try:
                rates: dict[str, list[float]] = {kind: [] for kind in loops}
                for _ in range(args.repeat):
                    for kind, make in loops.items():
                        rates[kind].append(rate(make, work, n))
            finally:
                if SITE is not None:
                    SITE.close()
                    SITE = None
            med = {kind: statistics.median(r) for kind, r in rates.items()}
            cells = " ".join(f"{med[c]:14,.0f}" if c in med else f"{'-':>14}" for c in cols)
            ratios = ", ".join(f"{c} {med[c] / med['asyncio']:.2f}" for c in med if c != "asyncio")
            print(f"{name:26} {unit:14} {cells}   {ratios}")
        print(f"load at the end {os.getloadavg()[0]:.1f}")
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
