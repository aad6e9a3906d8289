"""The teaching event loop (事件循环): asyncio's BaseEventLoop._run_once, small enough to read.

Design essay
============

An event loop is a ``while True`` around one *pass* (asyncio calls it ``_run_once``, in
``Lib/asyncio/base_events.py``; read here at v3.11.9, v3.12.0, v3.13.0, v3.14.0/v3.14.7 and
v3.15.0rc1). A pass does five things, in this order, and each rule exists for a reason:

1. **Drop cancelled timers.** ``Handle.cancel()`` does not search the heap (that would be
   O(n)); it only marks the handle (*lazy cancellation*) and, for a timer still in the heap,
   counts it in ``_timer_cancelled_count``. At the start of a pass, if the heap holds more
   than ``_MIN_SCHEDULED_TIMER_HANDLES = 100`` timers *and* more than
   ``_MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5`` of them are cancelled, the heap is rebuilt
   without them (the *purge*, O(n), paid rarely, so a program that arms and cancels a timeout
   per request cannot grow the heap without bound). Otherwise only cancelled timers at the
   heap's top are popped, because the top decides the select timeout. Same constants and code
   at every tag listed above.
2. **Compute the select timeout.** ``0`` when callbacks are ready (or ``stop()`` was called):
   they must run now, so select only polls. Else the first timer's ``when - now``, clamped to
   ``[0, MAXIMUM_SELECT_TIMEOUT]`` (24 * 3600 s: a timer far in the future must not overflow
   the OS's timeout argument). Else ``None``: nothing to do but wait for I/O, forever.
   (3.11/3.12 write ``min(max(0, when - now), MAXIMUM_SELECT_TIMEOUT)``; 3.13+ the same rule as
   an if/elif.)
3. **select, then queue the I/O callbacks** of the ready descriptors
   (``BaseSelectorEventLoop._process_events`` in ``selector_events.py``; a reader whose handle
   was cancelled is unregistered there instead).
4. **Move due timers to the ready queue.** "Due" means ``when < end_time`` with
   ``end_time = now + clock_resolution`` at 3.11..3.14 (so a timer that is due within the
   clock's resolution is not delayed by a whole extra pass); 3.15.0rc1 writes
   ``now + max(self._clock_resolution, math.ulp(now))`` so that ``end_time > now`` even when
   the resolution is below one ulp of ``now``. The toy uses the 3.15 form: with a fake clock
   whose resolution is 0 it makes "due" mean exactly ``when <= now``.
5. **Run exactly ``ntodo = len(ready)`` callbacks**: those ready when the running starts. A
   callback that calls ``call_soon`` appends behind them, to run in the *next* pass, after
   another select. Otherwise a callback that reschedules itself would starve I/O forever.

Timer order. asyncio's ``TimerHandle.__lt__`` (``events.py``) compares ``_when`` only, at
every tag from v3.11.9 to v3.15.0rc1, and ``heapq`` is not stable: timers with the *same*
``when`` come out of the heap in an order that depends on the heap's shape, not on the order
they were scheduled (the docs say: "callbacks scheduled for exactly the same time ... it is
undefined which will be called first", Doc/library/asyncio-eventloop.rst, ``call_later``).
The toy adds a sequence number, compared after ``when``, so equal timers run first in, first
out: a teaching loop (and its tests) should be exactly predictable.

call_soon_threadsafe. ``deque.append`` is safe from another thread, but the loop may be
asleep in ``select(None)`` and would never look at the deque. So the loop owns a
*self-pipe* (in fact a ``socket.socketpair()``, ``_make_self_pipe``): its read end is
registered with the selector, and ``call_soon_threadsafe`` appends then writes one byte to
the other end (``_write_to_self``), which makes select return; the reader callback drains the
bytes (``_read_from_self``). asyncio 3.14+ wraps such callbacks in ``_ThreadSafeHandle``, whose
lock closes a race between ``cancel()`` from a thread and the loop running the handle; the toy
leaves that out.

A callback that raises must not kill the loop: ``Handle._run`` catches the exception (not
``SystemExit``/``KeyboardInterrupt``) and passes a context dict to
``call_exception_handler``, exactly as asyncio does.

What the toy leaves out: debug mode and slow-callback warnings, signal handling,
``contextvars`` beyond running each handle in its context, executors, transports and
protocols, async generators' shutdown, the ``_ThreadSafeHandle`` lock, Windows' proactor.

Observing a run. Pass ``observer=callable``: after each pass it receives a ``PassRecord``
(the select timeout, the events, the callbacks run, the heap and ready sizes). ``FakeClock``
and ``ScriptedSelector`` at the bottom make a run exact: the selector "waits" by advancing
the fake clock by the timeout, and delivers I/O events at scripted times.
"""

from __future__ import annotations

import collections
import contextvars
import heapq
import itertools
import logging
import math
import selectors
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = [
    "Loop", "Handle", "TimerHandle", "PassRecord", "FakeClock", "ScriptedSelector",
    "MAXIMUM_SELECT_TIMEOUT", "MIN_SCHEDULED_TIMER_HANDLES", "MIN_CANCELLED_TIMER_HANDLES_FRACTION",
]

#: asyncio.base_events._MIN_SCHEDULED_TIMER_HANDLES (3.11..3.15.0rc1)
MIN_SCHEDULED_TIMER_HANDLES = 100
#: asyncio.base_events._MIN_CANCELLED_TIMER_HANDLES_FRACTION (3.11..3.15.0rc1)
MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5
#: asyncio.base_events.MAXIMUM_SELECT_TIMEOUT (3.11..3.15.0rc1)
MAXIMUM_SELECT_TIMEOUT = 24 * 3600

logger = logging.getLogger(__name__)


def describe(callback: Any) -> str:
    """A short name for a callback: its __qualname__, or its repr."""
    inner = getattr(callback, "func", callback)    # functools.partial
    return getattr(inner, "__qualname__", None) or repr(inner)


class Handle:
    """A callback scheduled on the loop (asyncio.events.Handle). ``cancel()`` only marks it."""

    __slots__ = ("_callback", "_args", "_loop", "_cancelled", "_context")

    def __init__(self, callback: Callable[..., Any], args: tuple[Any, ...], loop: "Loop",
                 context: contextvars.Context | None = None) -> None:
        self._callback = callback
        self._args = args
        self._loop = loop
        self._cancelled = False
        self._context = context if context is not None else contextvars.copy_context()

    def cancel(self) -> None:
        """Mark the handle cancelled; the loop skips it when it comes up (lazy cancellation)."""
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def name(self) -> str:
        """The callback's name, as the loop reports it (PassRecord.ran, repr)."""
        return describe(self._callback)

    def _run(self) -> None:
        # Like events.Handle._run: an exception goes to the loop's handler, the loop goes on.
        try:
            self._context.run(self._callback, *self._args)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler({
                "message": f"Exception in callback {describe(self._callback)}",
                "exception": exc,
                "handle": self,
            })

    def __repr__(self) -> str:
        state = " cancelled" if self._cancelled else ""
        return f"<{type(self).__name__} {describe(self._callback)}{state}>"


class TimerHandle(Handle):
    """A callback to run at ``when()`` on the loop's clock (asyncio.events.TimerHandle).

    Unlike asyncio's, ordering is ``(when, sequence)``: equal times run first in, first out."""

    __slots__ = ("_when", "_seq", "_scheduled")

    def __init__(self, when: float, seq: int, callback: Callable[..., Any], args: tuple[Any, ...],
                 loop: "Loop", context: contextvars.Context | None = None) -> None:
        super().__init__(callback, args, loop, context)
        self._when = when
        self._seq = seq
        self._scheduled = False     # True while in the loop's heap

    def when(self) -> float:
        return self._when

    @property
    def seq(self) -> int:
        """The scheduling order, which breaks ties between equal ``when``s."""
        return self._seq

    def __lt__(self, other: "TimerHandle") -> bool:
        return (self._when, self._seq) < (other._when, other._seq)

    def cancel(self) -> None:
        if not self._cancelled:
            self._loop._timer_handle_cancelled(self)
        super().cancel()

    def __repr__(self) -> str:
        state = " cancelled" if self._cancelled else ""
        return f"<TimerHandle when={self._when:g} {describe(self._callback)}{state}>"


@dataclass
class PassRecord:
    """What one pass did, given to the observer after the pass."""

    index: int                      # 0 for the loop's first pass
    started: float                  # loop.time() when the pass began
    timeout: float | None           # what was passed to selector.select()
    events: list[tuple[int, int]]   # (fd, mask) that select returned (self-pipe included)
    ntodo: int                      # callbacks ready when running began
    ran: list[str]                  # names of the callbacks run, in order (cancelled skipped)
    raised: list[str]               # names of those that raised (sent to the exception handler)
    heap_before: int                # timer heap size after the purge step, before select
    heap_after: int                 # timer heap size at the end of the pass
    ready_after: int                # callbacks queued for the next pass
    purged: int                     # cancelled timers removed by the purge (0: no purge)
    popped_cancelled: int           # cancelled timers popped from the heap's top
    spans: list[tuple[str, float, float]] = field(default_factory=list)  # (name, start, end)


class Loop:
    """A selector event loop shaped like asyncio's BaseSelectorEventLoop.

    ``clock`` and ``selector`` are injectable (a fake clock and a scripted selector make every
    select timeout exact). ``clock_resolution`` defaults to time.monotonic's resolution for the
    real clock and 0 for any other. ``observer`` receives a PassRecord after each pass.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 selector: selectors.BaseSelector | None = None,
                 clock_resolution: float | None = None,
                 observer: Callable[[PassRecord], None] | None = None) -> None:
        self._clock = clock
        if clock_resolution is None:
            clock_resolution = time.get_clock_info("monotonic").resolution if clock is time.monotonic else 0.0
        self._clock_resolution = clock_resolution
        self._selector = selector if selector is not None else selectors.DefaultSelector()
        self._ready: collections.deque[Handle] = collections.deque()
        self._scheduled: list[TimerHandle] = []
        self._timer_cancelled_count = 0
        self._seq = itertools.count()
        self._stopping = False
        self._running = False
        self._closed = False
        self._passes = 0
        self.purges = 0                     #: how many times the purge rule rebuilt the heap
        self.observer = observer
        self._exception_handler: Callable[["Loop", dict[str, Any]], Any] | None = None
        self._make_self_pipe()

    # ------------------------------------------------------------------ scheduling
    def time(self) -> float:
        """The loop's clock (time.monotonic unless another clock was injected)."""
        return self._clock()

    def call_soon(self, callback: Callable[..., Any], *args: Any,
                  context: contextvars.Context | None = None) -> Handle:
        """Run callback(*args) in the next pass that starts running callbacks."""
        self._check_closed()
        handle = Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any,
                   context: contextvars.Context | None = None) -> TimerHandle:
        """Run callback(*args) ``delay`` seconds from now (loop.time() + delay)."""
        return self.call_at(self.time() + delay, callback, *args, context=context)

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any,
                context: contextvars.Context | None = None) -> TimerHandle:
        """Run callback(*args) at loop time ``when``; equal times run in the order scheduled."""
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()
        timer = TimerHandle(when, next(self._seq), callback, args, self, context)
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer

    def call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any,
                             context: contextvars.Context | None = None) -> Handle:
        """call_soon from any thread: queue, then wake the loop through the self-pipe."""
        self._check_closed()
        handle = Handle(callback, args, self, context)
        self._ready.append(handle)      # deque.append is atomic
        self._write_to_self()
        return handle

    def _timer_handle_cancelled(self, handle: TimerHandle) -> None:
        if handle._scheduled:
            self._timer_cancelled_count += 1

    # ------------------------------------------------------------------ I/O readiness
    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        """Call callback(*args) in every pass where ``fd`` is readable (replaces a previous reader)."""
        self._add(fd, selectors.EVENT_READ, Handle(callback, args, self))

    def add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        """Call callback(*args) in every pass where ``fd`` is writable (replaces a previous writer)."""
        self._add(fd, selectors.EVENT_WRITE, Handle(callback, args, self))

    def remove_reader(self, fd: Any) -> bool:
        """Stop watching ``fd`` for reading; True if a reader was registered."""
        return self._remove(fd, selectors.EVENT_READ)

    def remove_writer(self, fd: Any) -> bool:
        """Stop watching ``fd`` for writing; True if a writer was registered."""
        return self._remove(fd, selectors.EVENT_WRITE)

    def _add(self, fd: Any, event: int, handle: Handle) -> None:
        # Like selector_events._add_reader/_add_writer: key.data is (reader, writer).
        self._check_closed()
        try:
            key = self._selector.get_key(fd)
        except KeyError:
            data = (handle, None) if event == selectors.EVENT_READ else (None, handle)
            self._selector.register(fd, event, data)
            return
        reader, writer = key.data
        old = reader if event == selectors.EVENT_READ else writer
        if old is not None:
            old.cancel()
        data = (handle, writer) if event == selectors.EVENT_READ else (reader, handle)
        self._selector.modify(fd, key.events | event, data)

    def _remove(self, fd: Any, event: int) -> bool:
        if self._closed:
            return False
        try:
            key = self._selector.get_key(fd)
        except KeyError:
            return False
        reader, writer = key.data
        old = reader if event == selectors.EVENT_READ else writer
        mask = key.events & ~event
        if not mask:
            self._selector.unregister(fd)
        else:
            data = (None, writer) if event == selectors.EVENT_READ else (reader, None)
            self._selector.modify(fd, mask, data)
        if old is not None:
            old.cancel()
            return True
        return False

    def _process_events(self, event_list: list[tuple[selectors.SelectorKey, int]]) -> None:
        for key, mask in event_list:
            reader, writer = key.data
            if mask & selectors.EVENT_READ and reader is not None:
                if reader._cancelled:
                    self.remove_reader(key.fileobj)
                else:
                    self._ready.append(reader)
            if mask & selectors.EVENT_WRITE and writer is not None:
                if writer._cancelled:
                    self.remove_writer(key.fileobj)
                else:
                    self._ready.append(writer)

    # ------------------------------------------------------------------ the self-pipe
    def _make_self_pipe(self) -> None:
        self._ssock, self._csock = socket.socketpair()
        self._ssock.setblocking(False)
        self._csock.setblocking(False)
        self.add_reader(self._ssock.fileno(), self._read_from_self)

    @property
    def self_pipe_fd(self) -> int:
        """The descriptor of the self-pipe's read end (its events appear in PassRecord.events)."""
        return self._ssock.fileno()

    def _read_from_self(self) -> None:
        while True:
            try:
                if not self._ssock.recv(4096):
                    break
            except InterruptedError:
                continue
            except BlockingIOError:
                break

    def _write_to_self(self) -> None:
        # May run in another thread, even while close() runs: tolerate a closed socket.
        csock = self._csock
        if csock is None:
            return
        try:
            csock.send(b"\0")
        except OSError:
            pass    # a full pipe already wakes the loop; a closed one means the loop is gone

    # ------------------------------------------------------------------ one pass
    def run_once(self) -> None:
        """One pass, as BaseEventLoop._run_once: purge, timeout, select, due timers, run ntodo."""
        started = self.time()
        purged = popped = 0
        sched_count = len(self._scheduled)
        if (sched_count > MIN_SCHEDULED_TIMER_HANDLES and
                self._timer_cancelled_count / sched_count > MIN_CANCELLED_TIMER_HANDLES_FRACTION):
            live = []
            for handle in self._scheduled:
                if handle._cancelled:
                    handle._scheduled = False
                    purged += 1
                else:
                    live.append(handle)
            heapq.heapify(live)
            self._scheduled = live
            self._timer_cancelled_count = 0
            self.purges += 1
        else:
            while self._scheduled and self._scheduled[0]._cancelled:
                self._timer_cancelled_count -= 1
                handle = heapq.heappop(self._scheduled)
                handle._scheduled = False
                popped += 1
        heap_before = len(self._scheduled)

        timeout: float | None = None
        if self._ready or self._stopping:
            timeout = 0
        elif self._scheduled:
            timeout = self._scheduled[0]._when - self.time()
            if timeout > MAXIMUM_SELECT_TIMEOUT:
                timeout = MAXIMUM_SELECT_TIMEOUT
            elif timeout < 0:
                timeout = 0

        event_list = self._selector.select(timeout)
        self._process_events(event_list)

        now = self.time()
        end_time = now + max(self._clock_resolution, math.ulp(now))
        while self._scheduled:
            handle = self._scheduled[0]
            if handle._when >= end_time:
                break
            handle = heapq.heappop(self._scheduled)
            handle._scheduled = False
            self._ready.append(handle)

        ntodo = len(self._ready)
        observing = self.observer is not None
        ran: list[str] = []
        raised: list[str] = []
        spans: list[tuple[str, float, float]] = []
        for _ in range(ntodo):
            handle = self._ready.popleft()
            if handle._cancelled:
                continue
            if not observing:
                handle._run()
                continue
            name = describe(handle._callback)
            errors_before = self._errors_seen
            t0 = self.time()
            handle._run()
            spans.append((name, t0, self.time()))
            ran.append(name)
            if self._errors_seen != errors_before:
                raised.append(name)
        if observing:
            assert self.observer is not None
            self.observer(PassRecord(
                index=self._passes, started=started, timeout=timeout,
                events=[(self._fd_of(key), mask) for key, mask in event_list],
                ntodo=ntodo, ran=ran, raised=raised, heap_before=heap_before,
                heap_after=len(self._scheduled), ready_after=len(self._ready),
                purged=purged, popped_cancelled=popped, spans=spans))
        self._passes += 1

    @staticmethod
    def _fd_of(key: selectors.SelectorKey) -> int:
        return key.fd if isinstance(key.fd, int) else -1

    # ------------------------------------------------------------------ running
    def run_forever(self) -> None:
        """Run passes until stop() is called; the pass in which stop() is called completes."""
        self._check_closed()
        if self._running:
            raise RuntimeError("this event loop is already running")
        self._running = True
        try:
            while True:
                self.run_once()
                if self._stopping:
                    break
        finally:
            self._stopping = False
            self._running = False

    def stop(self) -> None:
        """Ask run_forever to return after the current pass (its select will not block)."""
        self._stopping = True

    def is_running(self) -> bool:
        return self._running

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Drop every pending callback, close the self-pipe and the selector. Idempotent."""
        if self._running:
            raise RuntimeError("cannot close a running event loop")
        if self._closed:
            return
        self.remove_reader(self._ssock.fileno())
        self._closed = True
        self._ready.clear()
        self._scheduled.clear()
        self._timer_cancelled_count = 0
        csock, self._csock = self._csock, None
        self._ssock.close()
        if csock is not None:
            csock.close()
        self._selector.close()

    def _check_closed(self) -> None:
        if self._closed:
            raise RuntimeError("Event loop is closed")

    # ------------------------------------------------------------------ inspection
    @property
    def timer_cancelled_count(self) -> int:
        """Cancelled timers still in the heap, as counted for the purge rule."""
        return self._timer_cancelled_count

    def scheduled(self) -> list[TimerHandle]:
        """The timer heap's handles in the order they will fire (cancelled ones included)."""
        return sorted(self._scheduled)

    def ready(self) -> list[Handle]:
        """The ready queue, front first."""
        return list(self._ready)

    # ------------------------------------------------------------------ errors
    _errors_seen = 0

    def set_exception_handler(self, handler: Callable[["Loop", dict[str, Any]], Any] | None) -> None:
        """handler(loop, context) replaces default_exception_handler; None restores it."""
        self._exception_handler = handler

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        """Log the message and the exception's traceback (as asyncio's default handler does)."""
        exc = context.get("exception")
        text = context.get("message", "Unhandled exception in event loop")
        if exc is not None:
            text += "\n" + "".join(traceback.format_exception(exc)).rstrip()
        logger.error(text)

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        """Send an error context (message, exception, handle) to the handler; never raises."""
        self._errors_seen += 1
        if self._exception_handler is None:
            self.default_exception_handler(context)
            return
        try:
            self._exception_handler(self, context)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self.default_exception_handler({"message": "Unhandled error in exception handler",
                                            "exception": exc, "context": context})


# ---------------------------------------------------------------------- test doubles

class FakeClock:
    """A clock that only moves when told: ``clock()`` reads it, ``advance(dt)`` moves it."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, dt: float) -> None:
        self.now += dt


class ScriptedSelector(selectors.BaseSelector):
    """A selector for a FakeClock: ``select(timeout)`` records the timeout, then "waits".

    ``deliver(at, fd, mask)`` scripts an I/O event. select(timeout) advances the clock to the
    earliest scripted event due by ``now + timeout`` (all of them for ``None``) and returns the
    events due then for registered descriptors; with none due it advances by the timeout.
    A ``select(None)`` with nothing scripted raises RuntimeError (a real loop would hang).
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.timeouts: list[float | None] = []
        self._keys: dict[int, selectors.SelectorKey] = {}
        self._script: list[tuple[float, int, int, int]] = []     # (at, seq, fd, mask)
        self._seq = itertools.count()

    def deliver(self, at: float, fd: int, mask: int = selectors.EVENT_READ) -> None:
        heapq.heappush(self._script, (at, next(self._seq), fd, mask))

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} is already registered")
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        return self._keys.pop(fd)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        self.unregister(fileobj)
        return self.register(fileobj, events, data)

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        return self._keys[fd]

    def get_map(self) -> Any:
        return dict(self._keys)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.timeouts.append(timeout)
        now = self.clock()
        limit = math.inf if timeout is None else now + max(timeout, 0)
        if self._script and self._script[0][0] <= limit:
            self.clock.now = max(now, self._script[0][0])
        elif timeout is None:
            raise RuntimeError("select(None) with no I/O scripted: a real loop would wait forever")
        else:
            self.clock.now = limit
        out = []
        while self._script and self._script[0][0] <= self.clock.now:
            _, _, fd, mask = heapq.heappop(self._script)
            key = self._keys.get(fd)
            if key is not None and key.events & mask:
                out.append((key, key.events & mask))
        return out

    def close(self) -> None:
        self._keys.clear()
