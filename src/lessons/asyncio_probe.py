"""Hold the teaching loop up against real asyncio: same program, same select timeouts.

What is here, and how a lesson uses it:

- ``RecordingSelector`` is the platform's default selector with a notebook: every
  ``select(timeout)`` is recorded (loop time, timeout, number of events). With
  ``virtual=True`` it also *fakes the waiting*: it polls with ``select(0)`` and, when nothing
  is ready, moves a virtual clock ``now`` forward by the timeout instead of sleeping.
  ``VirtualTimeLoop(selector)`` is an ``asyncio.SelectorEventLoop`` whose ``time()`` reads
  that clock, so ``await asyncio.sleep(3600)`` returns at once with loop time 3600 later
  (``virtual_sleep(3600)``). Virtual time is exact only for a single-threaded program whose
  I/O is ready as soon as it is written (a ``socket.socketpair``): a poll cannot see data
  that is still "in flight".
- ``asyncio_timeouts(program)`` and ``teaching_timeouts(program)`` run one callback program
  (``demo_program`` by default) on asyncio and on ``lessons.eventloop.Loop``, both on a
  virtual-time RecordingSelector, and return the select timeouts and the callback order::

      a, t = asyncio_timeouts(), teaching_timeouts()
      assert a["timeouts"] == t["timeouts"] and a["order"] == t["order"]

- ``equal_timer_order(n)`` shows the one deliberate difference: n timers due at the same
  time run FIFO on the toy, in heap order on asyncio.
- ``cpython_map()`` names, for each step of a pass of the teaching loop, the CPython function
  it corresponds to, with the tags it was read at and what differs between them.
- ``stack_ripping_traceback()`` runs fetch -> connect -> send_request -> read_reply -> parse
  against a 127.0.0.1 server twice: as callbacks on the teaching loop and as coroutines on
  asyncio; ``parse`` raises. It returns the stack at the raise for both, as text and as a list
  of function names: the callbacks' stack has lost ``fetch``, ``connect``, ``send_request``
  (only the loop's frames sit under ``read_reply``); the coroutines' stack keeps the whole
  chain of awaits ``main_async -> fetch_async -> read_reply_async -> parse``.
"""

from __future__ import annotations

import asyncio
import functools
import selectors
import socket
import time
import traceback
from typing import Any, Callable, TypeVar

from lessons import aiorun
from lessons.eventloop import Loop

__all__ = [
    "RecordingSelector", "VirtualTimeLoop", "demo_program", "asyncio_timeouts",
    "teaching_timeouts", "equal_timer_order", "virtual_sleep", "cpython_map", "CPYTHON_TAGS",
    "stack_ripping_traceback",
]

Program = Callable[[Any, list], None]
T = TypeVar("T")


def _own_thread(func: Callable[..., T]) -> Callable[..., T]:
    """``func`` run in a thread of its own (``aiorun.in_thread``: no running loop there, so the
    experiments run the same in a notebook, a script and a test)."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return aiorun.in_thread(functools.partial(func, *args, **kwargs), name=f"asyncio_probe.{func.__name__}")
    return wrapper


# ---------------------------------------------------------------------- the recording selector

class RecordingSelector(selectors.DefaultSelector):   # type: ignore[misc, valid-type]
    """The default selector, recording each ``select(timeout)`` in ``calls``.

    Each entry is ``{"at": loop time before the call, "timeout": ..., "events": n}``. With
    ``virtual=True`` the selector never blocks: it polls, and if nothing is ready it advances
    ``now`` by the timeout (a ``select(None)`` with nothing ready raises RuntimeError, since
    the program would wait forever). ``time()`` is the clock to give a loop."""

    def __init__(self, virtual: bool = False, start: float = 0.0) -> None:
        super().__init__()
        self.virtual = virtual
        self.now = start
        self.calls: list[dict[str, Any]] = []

    def time(self) -> float:
        """Virtual time, or time.monotonic() for a real selector."""
        return self.now if self.virtual else time.monotonic()

    @property
    def timeouts(self) -> list[float | None]:
        """Just the timeouts, in call order."""
        return [c["timeout"] for c in self.calls]

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        at = self.time()
        if not self.virtual:
            events = super().select(timeout)
        else:
            events = super().select(0)
            if not events and timeout != 0:
                if timeout is None:
                    raise RuntimeError("select(None) with nothing ready under virtual time: "
                                       "the program would wait forever")
                self.now += max(timeout, 0)
        self.calls.append({"at": at, "timeout": timeout, "events": len(events)})
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio selector loop whose clock is ``selector.time()`` (virtual with virtual=True)."""

    def __init__(self, selector: RecordingSelector) -> None:
        self._recording = selector      # first, so that time() works from the start
        super().__init__(selector)

    def time(self) -> float:
        return self._recording.time()


# ---------------------------------------------------------------------- one program, two loops

def demo_program(loop: Any, log: list) -> None:
    """Schedule the comparison program on ``loop`` (asyncio's or the teaching one).

    call_soon chains (``first`` queues ``second``: next pass), two timers at the same time
    (two, because with three or more asyncio's order is no longer FIFO: equal_timer_order),
    a cancelled timer, a timer that writes into a socketpair whose other end has a reader,
    and a timer a day and a half away (the select timeout is clamped to 24 h). ``finish``
    closes the sockets and stops the loop. Callbacks append their names to ``log``."""
    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)
    wsock.setblocking(False)

    def first() -> None:
        log.append("first")
        loop.call_soon(second)

    def second() -> None:
        log.append("second")

    def at_one_a() -> None:
        log.append("at_one_a")

    def at_one_b() -> None:
        log.append("at_one_b")

    def never() -> None:
        log.append("never")

    def feed() -> None:
        log.append("feed")
        wsock.send(b"x")

    def on_readable() -> None:
        log.append("on_readable:" + rsock.recv(16).decode())
        loop.remove_reader(rsock.fileno())
        loop.call_later(1.5 * 24 * 3600, finish)

    def finish() -> None:
        log.append("finish")
        rsock.close()
        wsock.close()
        loop.stop()

    loop.call_soon(first)
    now = loop.time()
    loop.call_at(now + 1.0, at_one_a)
    loop.call_at(now + 1.0, at_one_b)
    loop.call_later(0.5, never).cancel()
    loop.call_later(1.5, feed)
    loop.add_reader(rsock.fileno(), on_readable)


def _result(selector: RecordingSelector, log: list) -> dict[str, Any]:
    return {"timeouts": selector.timeouts, "order": list(log), "calls": list(selector.calls),
            "end_time": selector.now}


@_own_thread
def asyncio_timeouts(program: Program = demo_program) -> dict[str, Any]:
    """Run ``program(loop, log)`` on asyncio (VirtualTimeLoop, virtual RecordingSelector)
    until it calls ``loop.stop()``; return ``{"timeouts", "order", "calls", "end_time"}``."""
    selector = RecordingSelector(virtual=True)
    loop = VirtualTimeLoop(selector)
    log: list = []
    try:
        program(loop, log)
        loop.run_forever()
    finally:
        loop.close()
    return _result(selector, log)


@_own_thread
def teaching_timeouts(program: Program = demo_program) -> dict[str, Any]:
    """The same as ``asyncio_timeouts`` on ``lessons.eventloop.Loop``."""
    selector = RecordingSelector(virtual=True)
    loop = Loop(clock=selector.time, selector=selector)
    log: list = []
    try:
        program(loop, log)
        loop.run_forever()
    finally:
        loop.close()
    return _result(selector, log)


def equal_timer_order(n: int = 8) -> dict[str, list[int]]:
    """Schedule ``n`` timers for the same time (0, 1, ..., n-1) on both loops; return the
    order each ran them in. asyncio's TimerHandle compares ``when`` only and heapq is not
    stable, so from n=3 its order is not the scheduling order; the toy's is (FIFO)."""
    def program(loop: Any, log: list) -> None:
        for i in range(n):
            loop.call_later(1.0, log.append, i)
        loop.call_later(2.0, loop.stop)
    return {"asyncio": asyncio_timeouts(program)["order"], "teaching": teaching_timeouts(program)["order"]}


@_own_thread
def virtual_sleep(seconds: float = 3600.0) -> dict[str, Any]:
    """``asyncio.sleep(seconds)`` on a VirtualTimeLoop: returns the loop time that passed,
    the wall time that passed and the select timeouts (the sleep is one select)."""
    selector = RecordingSelector(virtual=True)
    loop = VirtualTimeLoop(selector)
    wall0 = time.perf_counter()
    try:
        start = loop.time()
        loop.run_until_complete(asyncio.sleep(seconds))
        virtual = loop.time() - start
    finally:
        loop.close()
    return {"virtual": virtual, "wall": time.perf_counter() - wall0, "timeouts": selector.timeouts}


# ---------------------------------------------------------------------- the map to CPython

#: The tags the map was read at (git show <tag>:Lib/asyncio/...).
CPYTHON_TAGS: tuple[str, ...] = ("v3.11.9", "v3.13.9", "v3.14.0", "v3.15.0rc1")


def cpython_map() -> list[dict[str, str]]:
    """One row per step of the teaching loop: the teaching code, the CPython file and
    class.function it corresponds to, the tags read, and what differs between them."""
    tags = ", ".join(CPYTHON_TAGS)
    same = "same at every tag read"

    def row(step: str, teaching: str, file: str, function: str, differs: str = same) -> dict[str, str]:
        return {"step": step, "teaching": teaching, "file": file, "function": function,
                "tags": tags, "differs": differs}

    base, events, sel = "Lib/asyncio/base_events.py", "Lib/asyncio/events.py", "Lib/asyncio/selector_events.py"
    return [
        row("schedule now", "Loop.call_soon", base, "BaseEventLoop.call_soon (-> _call_soon)"),
        row("schedule a timer", "Loop.call_later / Loop.call_at", base,
            "BaseEventLoop.call_later / BaseEventLoop.call_at"),
        row("timer order", "TimerHandle.__lt__ (when, seq)", events, "TimerHandle.__lt__",
            "asyncio compares _when only at every tag read; the toy adds seq so equal times are FIFO"),
        row("cancel (lazy)", "TimerHandle.cancel -> Loop._timer_handle_cancelled", events,
            "TimerHandle.cancel -> BaseEventLoop._timer_handle_cancelled"),
        row("1. drop cancelled timers (purge or pop the top)", "Loop.run_once", base,
            "BaseEventLoop._run_once", "same constants (100, 0.5) at every tag read"),
        row("2. compute the select timeout", "Loop.run_once", base, "BaseEventLoop._run_once",
            "v3.11.9: min(max(0, when - now), MAXIMUM_SELECT_TIMEOUT); v3.13.9+: the same rule "
            "as if/elif"),
        row("3. select, queue I/O callbacks", "Loop.run_once -> Loop._process_events", sel,
            "BaseSelectorEventLoop._process_events (-> BaseEventLoop._add_callback)",
            "same at every tag read (a cancelled reader/writer is removed instead of queued)"),
        row("4. move due timers to ready", "Loop.run_once", base, "BaseEventLoop._run_once",
            "end_time = now + clock_resolution up to v3.14.0; "
            "v3.15.0rc1: now + max(clock_resolution, math.ulp(now)) (the toy's form)"),
        row("5. run exactly ntodo callbacks", "Loop.run_once -> Handle._run", base,
            "BaseEventLoop._run_once (ntodo = len(self._ready)); events.Handle._run",
            "debug mode times each callback (left out of the toy)"),
        row("a callback raises", "Handle._run -> Loop.call_exception_handler", base,
            "BaseEventLoop.call_exception_handler / default_exception_handler"),
        row("register a reader", "Loop.add_reader", sel, "BaseSelectorEventLoop._add_reader",
            "v3.15.0rc1 adds a context= parameter and returns the handle"),
        row("self-pipe", "Loop._make_self_pipe / _read_from_self / _write_to_self", sel,
            "BaseSelectorEventLoop._make_self_pipe / _read_from_self / _write_to_self"),
        row("call_soon_threadsafe", "Loop.call_soon_threadsafe", base,
            "BaseEventLoop.call_soon_threadsafe",
            "v3.14.0+ wraps the callback in events._ThreadSafeHandle (a lock around cancel/_run)"),
        row("run until stop()", "Loop.run_forever / Loop.stop", base,
            "BaseEventLoop.run_forever / BaseEventLoop.stop",
            "v3.13.9+ split the set-up and clean-up into _run_forever_setup/_run_forever_cleanup "
            "(not yet at v3.12.0)"),
    ]


# ---------------------------------------------------------------------- stack ripping

class ParseError(ValueError):
    """What ``parse`` raises: the server's reply is not a number."""


def parse(data: bytes) -> int:
    """The last step of both programs; the demo server's reply makes it raise."""
    try:
        return int(data.strip())
    except ValueError:
        raise ParseError(f"cannot parse the reply {data!r}") from None


_REPLY = b"not a number\n"


def _short(frames: list[traceback.FrameSummary]) -> list[traceback.FrameSummary]:
    # "lessons/eventloop.py", "asyncio/events.py": the same text on every machine.
    for f in frames:
        f.filename = "/".join(f.filename.replace("\\", "/").split("/")[-2:])
    return frames


def _stack_at_raise(exc: BaseException, stop_at: str) -> list[traceback.FrameSummary]:
    """The whole call stack at the moment ``exc`` was raised, from the frame named ``stop_at``.

    Call it while the frame that caught ``exc`` is still running. ``exc.__traceback__`` holds
    the frames from that catching frame up to the raise; the catching frame's callers (still
    alive) are what lay under them."""
    tb = exc.__traceback__
    assert tb is not None
    under = traceback.extract_stack(tb.tb_frame)[:-1]
    frames = list(under) + list(traceback.extract_tb(tb))
    names = [f.name for f in frames]
    if stop_at in names:
        frames = frames[names.index(stop_at):]
    return _short(frames)


def _describe_stack(exc: BaseException, stop_at: str) -> dict[str, Any]:
    frames = _stack_at_raise(exc, stop_at)
    last = "".join(traceback.format_exception_only(type(exc), exc))
    tb_frames = _short(list(traceback.extract_tb(exc.__traceback__)))
    return {"functions": [f.name for f in frames],
            "stack": "Stack at the raise (most recent call last):\n"
                     + "".join(traceback.format_list(frames)) + last,
            "traceback_functions": [f.name for f in tb_frames],
            "traceback": "Traceback (most recent call last):\n"
                         + "".join(traceback.format_list(tb_frames)) + last}


# The callback version. Each step only schedules the next; when read_reply runs, the frames
# of fetch, connect and send_request returned long ago.

def fetch(loop: Loop, address: tuple[str, int], state: dict[str, Any]) -> None:
    """Start the request: the first callback."""
    connect(loop, address, state)


def connect(loop: Loop, address: tuple[str, int], state: dict[str, Any]) -> None:
    sock = socket.socket()
    sock.setblocking(False)
    state["client"] = sock
    sock.connect_ex(address)                     # EINPROGRESS: writable once connected
    loop.add_writer(sock.fileno(), send_request, loop, sock)


def send_request(loop: Loop, sock: socket.socket) -> None:
    loop.remove_writer(sock.fileno())
    sock.send(b"how many?\n")
    loop.add_reader(sock.fileno(), read_reply, loop, sock)


def read_reply(loop: Loop, sock: socket.socket) -> None:
    data = sock.recv(4096)
    loop.remove_reader(sock.fileno())
    parse(data)


def _serve_on(loop: Loop, listener: socket.socket, state: dict[str, Any]) -> None:
    def accept() -> None:
        conn, _ = listener.accept()
        conn.setblocking(False)
        state["conn"] = conn
        loop.remove_reader(listener.fileno())
        loop.add_reader(conn.fileno(), answer, conn)

    def answer(conn: socket.socket) -> None:
        if conn.recv(4096):
            loop.remove_reader(conn.fileno())
            conn.sendall(_REPLY)

    loop.add_reader(listener.fileno(), accept)


def _run_callbacks() -> dict[str, Any]:
    loop = Loop()
    state: dict[str, Any] = {}
    caught: list[dict[str, Any]] = []

    def handler(lp: Loop, context: dict[str, Any]) -> None:
        exc = context["exception"]
        # Read the stack now: the frames under Handle._run are alive only while it runs.
        caught.append(_describe_stack(exc, "_run_callbacks"))
        lp.stop()

    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    try:
        loop.set_exception_handler(handler)
        _serve_on(loop, listener, state)
        loop.call_soon(fetch, loop, listener.getsockname(), state)
        safety = loop.call_later(10.0, loop.stop)     # a broken network turns into a failure, not a hang
        loop.run_forever()
        safety.cancel()
    finally:
        for name in ("client", "conn"):
            if name in state:
                state[name].close()
        listener.close()
        loop.close()
    if not caught:
        raise RuntimeError("the callback program finished without parse raising")
    return caught[0]


# The coroutine version: the same steps, but each await keeps its caller's frame suspended,
# so the chain main_async -> fetch_async -> read_reply_async -> parse is on the stack when parse raises.

async def connect_async(address: tuple[str, int]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(*address)


async def send_request_async(writer: asyncio.StreamWriter) -> None:
    writer.write(b"how many?\n")
    await writer.drain()


async def read_reply_async(reader: asyncio.StreamReader) -> int:
    data = await reader.readline()
    return parse(data)


async def fetch_async(address: tuple[str, int]) -> int:
    reader, writer = await connect_async(address)
    try:
        await send_request_async(writer)
        return await read_reply_async(reader)
    finally:
        writer.close()
        await writer.wait_closed()


async def main_async() -> dict[str, Any]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(_REPLY)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    address = server.sockets[0].getsockname()[:2]
    try:
        async with asyncio.timeout(10.0):     # a broken network turns into a failure, not a hang
            await fetch_async(address)
    except ParseError as exc:
        return _describe_stack(exc, "_run_coroutines")
    finally:
        server.close()
        await server.wait_closed()
    raise RuntimeError("the coroutine program finished without parse raising")


def _run_coroutines() -> dict[str, Any]:
    return asyncio.run(main_async())


#: The step names of each program, for the notebook's presence/absence checks.
CALLBACK_STEPS = ("fetch", "connect", "send_request", "read_reply", "parse")
COROUTINE_STEPS = ("main_async", "fetch_async", "connect_async", "send_request_async", "read_reply_async", "parse")


@_own_thread
def stack_ripping_traceback() -> dict[str, dict[str, Any]]:
    """Run both versions; ``{"callbacks": {...}, "coroutines": {...}}``, each with
    ``functions`` (the stack at the raise, outermost first), ``stack`` (that stack as text),
    ``traceback`` (the exception's own traceback, from the frame that caught it: what a log
    shows) and ``traceback_functions`` (its function names). File names are shortened to
    "package/file.py"."""
    return {"callbacks": _run_callbacks(), "coroutines": _run_coroutines()}
