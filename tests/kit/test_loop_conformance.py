"""One suite of real asyncio programs, run on three event loops: the course's teaching loop
(``lessons.eventloop.Loop``), asyncio's own (``asyncio.SelectorEventLoop``) and uvloop's
(``uvloop.Loop``, libuv underneath). Each program runs through
``asyncio.Runner(loop_factory=...)``, exactly as a learner's ``asyncio.run`` would, and every
test must give the same verdict on all three: a test that passes on asyncio and uvloop but
fails on the course's loop names a rule the teaching loop gets wrong.

Determinism: interleavings are forced with ``await asyncio.sleep(0)`` (one pass of the loop),
futures, Events and Queues; sockets are loopback only; the only real timeouts are in the
tests about timeouts (asyncio.timeout, call_later), with generous margins. ``pytestmark``
gives every test a 60 s safety net that turns a hang into a failure with a stack dump.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import socket
import threading
from typing import Any, Awaitable, Callable
from urllib.parse import urljoin, urlsplit

import pytest
import uvloop

from lessons.eventloop import Loop
from lessons.linksite import LinkSite

pytestmark = pytest.mark.timeout(60)

FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "course": Loop,
    "asyncio": asyncio.SelectorEventLoop,
    "uvloop": uvloop.Loop,
}
each_loop = pytest.mark.parametrize("factory", list(FACTORIES.values()), ids=list(FACTORIES))


def run(factory: Callable[[], asyncio.AbstractEventLoop], main: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``main()`` on a fresh loop from ``factory``, as asyncio.run would (Runner closes it:
    cancels what is left, shuts down async generators and the default executor)."""
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


# ---------------------------------------------------------------------- scheduling order

@each_loop
def test_call_soon_is_fifo_and_a_callback_scheduled_in_a_pass_runs_after_the_others(factory):
    async def main():
        loop = asyncio.get_running_loop()
        order: list[str] = []
        done = loop.create_future()

        def first() -> None:
            order.append("first")
            loop.call_soon(order.append, "scheduled by first")   # behind everything queued

        loop.call_soon(first)
        loop.call_soon(order.append, "second")
        loop.call_soon(order.append, "third")
        loop.call_soon(lambda: loop.call_soon(done.set_result, None))
        await done
        return order

    assert run(factory, main) == ["first", "second", "third", "scheduled by first"], (
        "call_soon must run callbacks in the order they were scheduled, and one scheduled "
        "while a pass runs must wait for the next pass (ntodo = len(ready) at the pass's start)")


@each_loop
def test_a_callback_that_reschedules_itself_does_not_starve_timers_or_io(factory):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        b.send(b"ready")                   # readable before the loop looks
        spins = [0]
        seen: dict[str, int] = {}
        done = loop.create_future()

        def spin() -> None:
            spins[0] += 1
            if spins[0] < 200:
                loop.call_soon(spin)       # always something ready: select only polls
            else:
                done.set_result(None)

        def on_readable() -> None:
            seen.setdefault("io", spins[0])
            loop.remove_reader(a.fileno())

        loop.add_reader(a.fileno(), on_readable)
        loop.call_later(0, lambda: seen.setdefault("timer", spins[0]))
        loop.call_soon(spin)
        await done
        a.close()
        b.close()
        return seen

    seen = run(factory, main)
    assert seen.get("timer", 999) < 10 and seen.get("io", 999) < 10, (
        f"a due timer and a ready socket waited for {seen} spins of a self-rescheduling "
        "callback: each pass must run only the callbacks ready when it began (ntodo), then "
        "select and move due timers again")


async def round_robin() -> list[str]:
    trace: list[str] = []

    async def worker(name: str) -> None:
        for i in range(3):
            trace.append(f"{name}{i}")
            await asyncio.sleep(0)

    await asyncio.gather(worker("A"), worker("B"), worker("C"))
    return trace


@each_loop
def test_three_tasks_on_sleep_0_take_turns(factory):
    assert run(factory, round_robin) == ["A0", "B0", "C0", "A1", "B1", "C1", "A2", "B2", "C2"], (
        "each await asyncio.sleep(0) must yield for exactly one pass, so tasks take turns in "
        "the order they were created")


@each_loop
def test_a_future_resolved_by_call_later(factory):
    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        start = loop.time()
        handle = loop.call_later(0.02, fut.set_result, 42)
        await asyncio.sleep(0)
        early = fut.done()
        value = await fut
        return early, value, loop.time() - start, handle.cancelled()

    early, value, waited, cancelled = run(factory, main)
    assert not early, "the call_later(0.02) timer fired before its time"
    assert value == 42 and not cancelled
    assert waited >= 0.015, f"the future resolved after {waited:.4f} s, before its 0.02 s timer"


async def sleepers() -> list[str]:
    order: list[str] = []

    async def nap(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        order.append(name)

    # Deadlines 20 ms apart: a stall between two tasks' first steps cannot reorder them.
    await asyncio.gather(nap("60ms", 0.06), nap("20ms", 0.02), nap("0", 0), nap("40ms", 0.04))
    return order


@each_loop
def test_sleepers_wake_in_deadline_order(factory):
    assert run(factory, sleepers) == ["0", "20ms", "40ms", "60ms"], (
        "asyncio.sleep timers must fire in deadline order, whatever order they were armed in")


# ---------------------------------------------------------------------- tasks

@each_loop
def test_gather_results_and_first_exception(factory):
    async def value(v: int) -> int:
        await asyncio.sleep(0)
        return v

    async def boom() -> None:
        await asyncio.sleep(0)
        raise ValueError("boom")

    async def main():
        results = await asyncio.gather(value(3), value(1), value(2))
        mixed = await asyncio.gather(value(1), boom(), return_exceptions=True)
        try:
            await asyncio.gather(value(1), boom())
        except ValueError as exc:
            raised = str(exc)
        return results, [type(r).__name__ for r in mixed], raised

    assert run(factory, main) == ([3, 1, 2], ["int", "ValueError"], "boom")


@each_loop
def test_taskgroup_cancels_the_siblings_of_the_first_failure(factory):
    async def main():
        events: list[str] = []
        never = asyncio.Event()

        async def sibling() -> None:
            try:
                await never.wait()
            except asyncio.CancelledError:
                events.append("sibling cancelled")
                raise

        async def failing() -> None:
            await asyncio.sleep(0)
            raise KeyError("first")

        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(sibling())
                tg.create_task(failing())
        except* KeyError as group:
            events.append(f"group of {len(group.exceptions)}")
        return events

    assert run(factory, main) == ["sibling cancelled", "group of 1"]


@each_loop
def test_timeout_expires_and_leaves_the_task_uncancelled(factory):
    async def main():
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        start = loop.time()
        try:
            async with asyncio.timeout(0.05) as cm:
                await asyncio.Event().wait()
        except TimeoutError:
            outcome = "TimeoutError"
        waited = loop.time() - start
        after_timeout = task.cancelling()
        child = asyncio.create_task(asyncio.Event().wait())
        await asyncio.sleep(0)
        child.cancel()
        child.cancel()
        twice = child.cancelling()
        left = child.uncancel()
        await asyncio.gather(child, return_exceptions=True)
        return outcome, cm.expired(), waited, after_timeout, twice, left

    outcome, expired, waited, after, twice, left = run(factory, main)
    assert outcome == "TimeoutError" and expired
    assert waited >= 0.04, f"asyncio.timeout(0.05) expired after {waited:.4f} s"
    assert (after, twice, left) == (0, 2, 1), (
        "the timeout must uncancel what it cancelled; two cancel() count 2; uncancel() gives 1")


@each_loop
def test_shield_protects_the_inner_task(factory):
    async def main():
        gate = asyncio.Event()

        async def inner() -> str:
            await gate.wait()
            return "inner done"

        inner_task = asyncio.ensure_future(inner())
        outer = asyncio.ensure_future(asyncio.shield(inner_task))
        await asyncio.sleep(0)
        outer.cancel()
        await asyncio.sleep(0)
        gate.set()
        return outer.cancelled(), await inner_task

    assert run(factory, main) == (True, "inner done")


@each_loop
def test_cancel_a_coroutine_that_catches_cancelled_error(factory):
    async def main():
        started = asyncio.Event()

        async def stubborn() -> str:
            started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                return "cleaned up"
            return "not reached"

        async def polite() -> None:
            started.set()
            try:
                await asyncio.Event().wait()
            finally:
                pass

        a = asyncio.create_task(stubborn())
        b = asyncio.create_task(polite())
        await started.wait()
        a.cancel("stop")
        b.cancel()
        await asyncio.gather(a, b, return_exceptions=True)
        return a.cancelled(), a.result(), b.cancelled(), a.cancelling()

    assert run(factory, main) == (False, "cleaned up", True, 1), (
        "a task whose coroutine swallows CancelledError finishes normally (cancelling() stays 1); "
        "one that lets it through ends cancelled")


# ---------------------------------------------------------------------- synchronisation

@each_loop
def test_event_lock_queue_semaphore(factory):
    async def main():
        trace: list[str] = []
        queue: asyncio.Queue[int | None] = asyncio.Queue(maxsize=1)

        async def producer() -> None:
            for i in range(3):
                await queue.put(i)
                trace.append(f"put {i}")
            await queue.put(None)

        async def consumer() -> None:
            while (item := await queue.get()) is not None:
                trace.append(f"got {item}")

        await asyncio.gather(producer(), consumer())

        lock = asyncio.Lock()
        inside = [0, 0]         # now, most at once

        async def critical() -> None:
            async with lock:
                inside[0] += 1
                inside[1] = max(inside)
                await asyncio.sleep(0)
                inside[0] -= 1

        await asyncio.gather(*(critical() for _ in range(5)))

        sem = asyncio.Semaphore(2)
        held = [0, 0]

        async def limited() -> None:
            async with sem:
                held[0] += 1
                held[1] = max(held)
                await asyncio.sleep(0)
                held[0] -= 1

        await asyncio.gather(*(limited() for _ in range(6)))

        event = asyncio.Event()
        woken: list[int] = []

        async def waiter(i: int) -> None:
            await event.wait()
            woken.append(i)

        waiters = [asyncio.create_task(waiter(i)) for i in range(3)]
        await asyncio.sleep(0)
        before = list(woken)
        event.set()
        await asyncio.gather(*waiters)
        return trace, inside[1], held[1], before, woken

    trace, most_locked, most_sem, before, woken = run(factory, main)
    assert trace == ["put 0", "got 0", "put 1", "got 1", "put 2", "got 2"], (
        "Queue(maxsize=1): put waits for the consumer's get, so puts and gets alternate")
    assert most_locked == 1, "asyncio.Lock let two tasks in at once"
    assert most_sem == 2, "Semaphore(2) must let exactly two tasks in at once"
    assert before == [] and woken == [0, 1, 2]


@each_loop
def test_call_soon_threadsafe_wakes_the_loop(factory):
    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        thread = threading.Thread(
            target=lambda: loop.call_soon_threadsafe(fut.set_result, threading.get_ident()))
        loop.call_soon(thread.start)    # the loop then has nothing to do: it waits in select
        tid = await fut
        thread.join()
        return tid != threading.get_ident()

    assert run(factory, main) is True, "the result must come from the other thread"


@each_loop
def test_run_in_executor(factory):
    def blocking(x: int) -> tuple[int, int]:
        return x * 2, threading.get_ident()

    def broken() -> None:
        raise LookupError("in the executor")

    async def main():
        loop = asyncio.get_running_loop()
        value, tid = await loop.run_in_executor(None, blocking, 21)
        try:
            await loop.run_in_executor(None, broken)
        except LookupError as exc:
            error = str(exc)
        return value, tid != threading.get_ident(), error

    assert run(factory, main) == (42, True, "in the executor")


@each_loop
def test_contextvars_are_isolated_per_task(factory):
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def main():
        var.set("parent")

        async def child(name: str) -> tuple[str, str]:
            seen = var.get()
            var.set(name)
            await asyncio.sleep(0)
            return seen, var.get()

        results = await asyncio.gather(child("a"), child("b"))
        return results, var.get()

    assert run(factory, main) == ([("parent", "a"), ("parent", "b")], "parent"), (
        "each task runs in a copy of its creator's context: its set() is seen by nobody else")


@each_loop
def test_current_task_and_all_tasks(factory):
    async def main():
        me = asyncio.current_task()
        gate = asyncio.Event()
        children = [asyncio.create_task(gate.wait(), name=f"child{i}") for i in range(3)]
        await asyncio.sleep(0)
        during = {t.get_name() for t in asyncio.all_tasks()} - {me.get_name()}
        gate.set()
        await asyncio.gather(*children)
        after = asyncio.all_tasks()
        return me is not None and me in after, sorted(during), after == {me}

    assert run(factory, main) == (True, ["child0", "child1", "child2"], True)


@each_loop
def test_an_exception_in_a_callback_goes_to_the_handler(factory):
    async def main():
        loop = asyncio.get_running_loop()
        seen: list[tuple[str, bool]] = []
        loop.set_exception_handler(
            lambda lp, ctx: seen.append((type(ctx.get("exception")).__name__, "message" in ctx)))
        loop.call_soon(lambda: 1 / 0)
        after = loop.create_future()
        loop.call_soon(after.set_result, "the loop went on")
        result = await after
        await asyncio.sleep(0)
        loop.set_exception_handler(None)
        return seen, result

    assert run(factory, main) == ([("ZeroDivisionError", True)], "the loop went on")


@each_loop
def test_async_generator_finalised_by_runner(factory):
    log: list[str] = []
    keep: list[Any] = []        # keeps the generator alive until Runner.close

    async def ticks():
        try:
            for i in range(10):
                yield i
                await asyncio.sleep(0)
        finally:
            log.append("finally ran on the loop" if asyncio.get_running_loop() else "no loop")

    async def main():
        agen = ticks()
        keep.append(agen)
        return await agen.__anext__()

    assert run(factory, main) == 0
    assert log == ["finally ran on the loop"], (
        "Runner.close must aclose() a suspended async generator (loop.shutdown_asyncgens)")


# ---------------------------------------------------------------------- sockets

def listener() -> socket.socket:
    sock = socket.create_server(("127.0.0.1", 0), backlog=200)
    sock.setblocking(False)
    return sock


@each_loop
def test_sock_echo_with_many_clients(factory):
    clients, rounds = 50, 20

    async def main():
        loop = asyncio.get_running_loop()
        server = listener()

        async def handle(conn: socket.socket) -> None:
            with conn:
                while data := await loop.sock_recv(conn, 4096):
                    await loop.sock_sendall(conn, data)

        async def serve() -> None:
            async with asyncio.TaskGroup() as tg:
                for _ in range(clients):
                    conn, _ = await loop.sock_accept(server)
                    tg.create_task(handle(conn))

        async def client(i: int) -> int:
            sock = socket.socket()
            sock.setblocking(False)
            with sock:
                await loop.sock_connect(sock, server.getsockname())
                ok = 0
                for r in range(rounds):
                    message = f"client {i} round {r};".encode()
                    await loop.sock_sendall(sock, message)
                    got = b""
                    while len(got) < len(message):
                        chunk = await loop.sock_recv(sock, 4096)
                        if not chunk:
                            break
                        got += chunk
                    ok += got == message
                return ok

        server_task = asyncio.create_task(serve())
        counts = await asyncio.gather(*(client(i) for i in range(clients)))
        await server_task
        server.close()
        return counts

    assert run(factory, main) == [rounds] * clients, (
        "every client must get each of its messages echoed back unchanged")


@each_loop
def test_sock_recv_into_and_a_big_sendall(factory):
    size = 4 * 1024 * 1024          # larger than the socket buffers: sendall must wait to write

    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)

        async def reader() -> int:
            buf = bytearray(65536)
            total = 0
            while n := await loop.sock_recv_into(b, buf):
                total += n
            return total

        async def writer() -> None:
            await loop.sock_sendall(a, b"z" * size)
            a.shutdown(socket.SHUT_WR)

        total, _ = await asyncio.gather(reader(), writer())
        a.close()
        b.close()
        return total

    assert run(factory, main) == size


@each_loop
def test_sock_connect_to_a_closed_port_is_refused(factory):
    async def main():
        loop = asyncio.get_running_loop()
        bound = socket.socket()
        bound.bind(("127.0.0.1", 0))     # bound, never listening: the port stays ours and closed
        sock = socket.socket()
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, bound.getsockname())
        except ConnectionRefusedError:
            return "refused"
        finally:
            sock.close()
            bound.close()
        return "connected"

    assert run(factory, main) == "refused"


@each_loop
def test_a_cancelled_sock_recv_leaves_no_reader(factory):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        task = asyncio.create_task(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        selector = getattr(loop, "_selector", None)   # both selector loops keep one
        registered_while_waiting = selector is None or a.fileno() in selector.get_map()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
        left_in_selector = selector is not None and a.fileno() in selector.get_map()
        removed_something = loop.remove_reader(a.fileno())
        b.send(b"after")
        again = await loop.sock_recv(a, 100)
        a.close()
        b.close()
        return task.cancelled(), registered_while_waiting, left_in_selector, removed_something, again

    cancelled, registered, left, removed, again = run(factory, main)
    assert cancelled and registered
    assert not left and not removed, (
        "a cancelled sock_recv must remove the reader it registered (its future's done-callback)")
    assert again == b"after"


# ---------------------------------------------------------------------- the crawler

HREF = re.compile(rb'href="([^"]+)"')


async def crawl(start: str) -> set[str]:
    """A small crawler on the sock_* API: HTTP/1.0 GET, read to EOF, follow links and
    redirects on the start's host, each URL once, one task per URL."""
    loop = asyncio.get_running_loop()
    host = urlsplit(start).netloc
    seen: set[str] = {start}

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
        async with asyncio.TaskGroup() as tg:
            for link in links:
                target = urljoin(url, link)
                if urlsplit(target).netloc == host and target not in seen:
                    seen.add(target)
                    tg.create_task(fetch(target))

    await fetch(start)
    return seen


@each_loop
def test_crawl_a_linksite(factory):
    with LinkSite(pages=30, seed=6) as site:
        site.release_slow()
        found = run(factory, lambda: crawl(site.url("/")))
        assert found == site.expected_urls(), (
            f"missing {sorted(site.expected_urls() - found)}, extra {sorted(found - site.expected_urls())}")
        assert all(n == 1 for n in site.hits.values()), f"some page was fetched twice: {site.hits}"


# ---------------------------------------------------------------------- same trace everywhere

async def traced_program() -> list[str]:
    """A program that mixes every scheduling source; its trace depends only on asyncio's rules."""
    loop = asyncio.get_running_loop()
    trace: list[str] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    ready = asyncio.Event()

    async def producer() -> None:
        for item in ("x", "y"):
            trace.append(f"put {item}")
            await queue.put(item)
            await asyncio.sleep(0)
        ready.set()

    async def consumer() -> None:
        for _ in range(2):
            trace.append(f"get {await queue.get()}")

    async def sleeper(name: str, delay: float) -> None:
        await asyncio.sleep(delay)
        trace.append(f"woke {name}")

    loop.call_soon(trace.append, "callback 1")
    loop.call_soon(lambda: (trace.append("callback 2"), loop.call_soon(trace.append, "callback 3")))
    tasks = [asyncio.create_task(consumer()), asyncio.create_task(producer())]
    trace.append("main yields")
    await asyncio.sleep(0)
    trace.append("main back")
    await ready.wait()
    trace.append("event set")
    # Timers only once nothing else runs, so that a slow machine cannot change the order.
    fut = loop.create_future()
    loop.call_later(0.005, fut.set_result, "timer")
    trace.append(f"future {await fut}")
    shielded = asyncio.shield(asyncio.sleep(0, "shielded"))
    trace.append(await shielded)
    tasks += [asyncio.create_task(sleeper("late", 0.1)), asyncio.create_task(sleeper("early", 0.01))]
    await asyncio.gather(*tasks)
    results = await asyncio.gather(round_robin(), sleepers())
    trace.extend(results[0] + results[1])
    return trace


def test_the_same_trace_on_every_loop():
    traces = {name: run(factory, traced_program) for name, factory in FACTORIES.items()}
    assert traces["asyncio"][:3] == ["main yields", "callback 1", "callback 2"], traces["asyncio"]
    for name, trace in traces.items():
        assert trace == traces["asyncio"], (
            f"{name}'s trace differs from asyncio's:\n{name}:    {trace}\nasyncio: {traces['asyncio']}")
