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

Running real asyncio. ``asyncio.Runner(loop_factory=Loop)`` (and so any asyncio program:
Tasks, ``asyncio.sleep``, ``timeout``, ``TaskGroup``, Queue/Event/Lock, ``to_thread``...) runs
on this loop, because asyncio's Future and Task ask a loop for very little. Read at v3.11.9
and v3.15.0rc1: ``futures.Future.__init__`` (and the C ``future_init`` in
``Modules/_asynciomodule.c``) calls ``loop.get_debug()``; a done future schedules its
callbacks with ``loop.call_soon(cb, fut, context=ctx)``; ``tasks.Task.__init__`` schedules its
first step with ``loop.call_soon(self.__step, context=self._context)`` (3.12+: unless
``eager_start`` and ``loop.is_running()``), and every later step the same way; ``sleep`` and
``timeout`` use ``create_future``, ``call_later``/``call_at`` and ``time``; Queue, Event and
Lock find the loop through ``events._get_running_loop()``. So the toy adds, each mirroring
one asyncio function (``base_events.py`` unless named; the same at both tags unless said):

- ``create_future`` (BaseEventLoop.create_future): ``asyncio.Future(loop=self)``, the C class.
- ``create_task(coro, *, name, context, **kwargs)``, ``set_task_factory``/``get_task_factory``
  (BaseEventLoop.create_task): the 3.13+ form, which passes ``**kwargs`` to the factory
  (3.11 passed only ``context`` and set the name afterwards).
- ``get_debug``/``set_debug``: the flag only; the toy has no debug checks of its own.
- ``run_forever`` now does what BaseEventLoop.run_forever does around the passes (3.12+
  splits it into ``_run_forever_setup``/``_run_forever_cleanup``): ``events._set_running_loop``
  (that is what ``asyncio.get_running_loop()`` reads) and ``sys.set_asyncgen_hooks``, both
  restored afterwards. One difference: asyncio refuses to run while another loop runs in the
  thread (``_check_running``); the toy stacks on it and restores it, because a Jupyter kernel
  keeps its own asyncio loop running around every cell, and the lessons run this loop there.
- ``run_until_complete`` (BaseEventLoop.run_until_complete and ``_run_until_complete_cb``):
  a done-callback on the future calls ``stop()``.
- ``shutdown_asyncgens`` and the two hooks (``_asyncgen_firstiter_hook``,
  ``_asyncgen_finalizer_hook``): ``Runner.close`` awaits it, so an async generator left
  suspended still runs its ``finally`` on the loop.
- ``run_in_executor``, ``set_default_executor``, ``shutdown_default_executor(timeout=None)``
  (the ``timeout`` argument is 3.12+; ``Runner.close`` passes ``THREAD_JOIN_TIMEOUT`` = 300 at
  3.15.0rc1, ``runners.py``); ``close()`` shuts the executor down without waiting, as
  BaseEventLoop.close does.
- ``sock_recv``, ``sock_recv_into``, ``sock_sendall``, ``sock_connect``, ``sock_accept``
  (``selector_events.py``, BaseSelectorEventLoop.sock_* and their ``_sock_*`` callbacks, with
  ``_sock_read_done``/``_sock_write_done``): try the call at once; on ``BlockingIOError``
  register a reader (writer) whose callback retries and completes a future; a done-callback
  of that future removes the reader (writer) whether it completed or was cancelled, unless
  the handle was already replaced. Two differences, both said in the docstrings:
  ``sock_connect`` takes numeric addresses only (asyncio resolves names with
  ``getaddrinfo`` in the executor, ``_ensure_resolved``), and the socket must be
  non-blocking always (asyncio checks it only in debug mode).

``Runner`` itself (``runners.py``) calls ``create_task``, ``run_until_complete``,
``call_soon_threadsafe`` (to wake the loop on Ctrl-C), ``shutdown_asyncgens``,
``shutdown_default_executor`` and ``close``; ``tasks.all_tasks`` and ``current_task`` only
need the loop to be hashable and running. ``tests/kit/test_loop_conformance.py`` runs one
suite of asyncio programs on this loop, asyncio's and uvloop's, with the same verdicts (in
the course's Python, 3.11); a smaller program (TaskGroup, sleep, timeout, sock_* echo,
run_in_executor, Queue, an async generator closed by Runner, ``asyncio.eager_task_factory``)
also ran the same on this loop and asyncio's under CPython 3.12.1 and 3.13.0.

Why subclass ``asyncio.AbstractEventLoop``. It costs nothing (it has no state and no
``__init__``) and buys two things: ``asyncio.set_event_loop(loop)`` accepts only its
instances (``events.py``, ``BaseDefaultEventLoopPolicy.set_event_loop`` at v3.11.9,
``_BaseDefaultEventLoopPolicy.set_event_loop`` at v3.15.0rc1, where policies are deprecated), and every part of asyncio's loop API the toy leaves out (``create_server``,
``create_connection``, transports and protocols, ``getaddrinfo``, signal handlers,
subprocesses) raises ``NotImplementedError`` with its own name instead of an
``AttributeError`` deep inside asyncio. uvloop's ``Loop`` subclasses it too.

Speed. The teaching loop is pure Python, like asyncio's ``BaseSelectorEventLoop``; both use
the C Task and Future. ``bench/loop_speed.py`` compares them (and uvloop) on the same
programs; the goal was for the toy to be at least as fast as asyncio's loop on an echo server
with 100 clients. What was changed for it, each a small local change: ``_add``/``_remove`` look
a descriptor up with ``selector.get_map().get(fd)`` instead of ``get_key``: for a descriptor
not registered yet (and each ``sock_recv`` that has to wait registers one), ``get_key`` raises
three KeyErrors and formats two messages (``selectors.py``, ``BaseSelector.get_key`` and
``_SelectorMapping.__getitem__``), ``get_map().get`` two and one: 1.24 against 0.89 us a miss
here (timeit, Python 3.11.7); ``run_once`` takes a short path when no observer is set (no
names, clock reads or lists for a ``PassRecord`` nobody reads: a pass per callback is what
the ``call_soon`` chain measures, 0.81 of asyncio's rate before, about 1.0 after) and reads
the clock after select only when there are timers; ``TimerHandle.__lt__`` compares
``_when`` then ``_seq`` instead of building two tuples per comparison. The rest was already as
lean as asyncio's: the toy does less per call (no ``_ensure_fd_no_transport``, no SSL check,
no debug branches), and that is the whole margin; the syscalls (``send``, ``recv``,
``epoll_ctl`` twice per wait) are the same.

What the toy still leaves out: debug mode's checks and slow-callback warnings, signal
handling, transports and protocols (so no ``asyncio.open_connection``/``start_server``),
name resolution, subprocesses, the ``_ThreadSafeHandle`` lock, Windows' proactor.

Observing a run. Pass ``observer=callable``: after each pass it receives a ``PassRecord``
(the select timeout, the events, the callbacks run, the heap and ready sizes). ``FakeClock``
and ``ScriptedSelector`` at the bottom make a run exact: the selector "waits" by advancing
the fake clock by the timeout, and delivers I/O events at scripted times.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextvars
import functools
import heapq
import ipaddress
import itertools
import logging
import math
import selectors
import socket
import sys
import threading
import time
import traceback
import warnings
import weakref
from asyncio import events as _events
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Coroutine

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
        # Two comparisons instead of two tuples: heapq calls this O(log n) times per push/pop.
        if self._when != other._when:
            return self._when < other._when
        return self._seq < other._seq

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


class Loop(asyncio.AbstractEventLoop):
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
        # asyncio's side (see "Running real asyncio" in the essay)
        self._debug = False
        self._task_factory: Callable[..., asyncio.Future[Any]] | None = None
        self._default_executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._executor_shutdown_called = False
        self._asyncgens: weakref.WeakSet[Any] = weakref.WeakSet()
        self._asyncgens_shutdown_called = False
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

    def _add(self, fd: Any, event: int, handle: Handle) -> Handle:
        # Like selector_events._add_reader/_add_writer: key.data is (reader, writer).
        self._check_closed()
        # get_map().get: one lookup and no exception when fd is new (get_key raises, and
        # every sock_* wait registers a new fd: a hot path of the echo bench).
        key = self._selector.get_map().get(fd)
        if key is None:
            data = (handle, None) if event == selectors.EVENT_READ else (None, handle)
            self._selector.register(fd, event, data)
            return handle
        reader, writer = key.data
        old = reader if event == selectors.EVENT_READ else writer
        if old is not None:
            old.cancel()
        data = (handle, writer) if event == selectors.EVENT_READ else (reader, handle)
        self._selector.modify(fd, key.events | event, data)
        return handle

    def _remove(self, fd: Any, event: int) -> bool:
        if self._closed:
            return False
        key = self._selector.get_map().get(fd)
        if key is None:
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
        observer = self.observer
        started = self.time() if observer is not None else 0.0    # only a PassRecord needs it
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

        if self._scheduled:         # no timers, no need to read the clock
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
        if observer is None:
            # The common case, kept lean (a pass per callback is the call_soon chain bench):
            # no names, no clock reads, no lists for a PassRecord nobody reads.
            ready = self._ready
            for _ in range(ntodo):
                handle = ready.popleft()
                if not handle._cancelled:
                    handle._run()
            self._passes += 1
            return
        ran: list[str] = []
        raised: list[str] = []
        spans: list[tuple[str, float, float]] = []
        for _ in range(ntodo):
            handle = self._ready.popleft()
            if handle._cancelled:
                continue
            name = describe(handle._callback)
            errors_before = self._errors_seen
            t0 = self.time()
            handle._run()
            spans.append((name, t0, self.time()))
            ran.append(name)
            if self._errors_seen != errors_before:
                raised.append(name)
        observer(PassRecord(
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
        """Run passes until stop() is called; the pass in which stop() is called completes.

        While it runs, the loop is asyncio's *running loop* for this thread
        (``asyncio.get_running_loop()`` returns it) and owns the thread's async generator hooks,
        as BaseEventLoop.run_forever does (_run_forever_setup/_run_forever_cleanup at 3.12+)."""
        self._check_closed()
        if self._running:
            raise RuntimeError("this event loop is already running")
        # asyncio refuses to run while another loop runs in this thread (_check_running). The
        # toy stacks instead: a notebook kernel runs its own asyncio loop around every cell, and
        # the lessons run this loop inside a cell. Whatever was registered comes back after.
        outer_loop = _events._get_running_loop()
        old_hooks = sys.get_asyncgen_hooks()
        self._running = True
        try:
            sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook,
                                   finalizer=self._asyncgen_finalizer_hook)
            _events._set_running_loop(self)
            while True:
                self.run_once()
                if self._stopping:
                    break
        finally:
            self._stopping = False
            self._running = False
            _events._set_running_loop(outer_loop)
            sys.set_asyncgen_hooks(*old_hooks)

    def run_until_complete(self, future: Awaitable[Any]) -> Any:
        """Run until ``future`` (a Future, or a coroutine wrapped in a Task) is done; return its
        result or raise its exception. As BaseEventLoop.run_until_complete (3.11..3.15)."""
        self._check_closed()
        if self._running:
            raise RuntimeError("this event loop is already running")
        new_task = not asyncio.isfuture(future)
        fut = asyncio.ensure_future(future, loop=self)
        if new_task:
            fut._log_destroy_pending = False    # type: ignore[attr-defined]  # raised below instead
        fut.add_done_callback(_stop_when_done)
        try:
            self.run_forever()
        except BaseException:
            if new_task and fut.done() and not fut.cancelled():
                fut.exception()     # the caller never saw this task: mark its error as retrieved
            raise
        finally:
            fut.remove_done_callback(_stop_when_done)
        if not fut.done():
            raise RuntimeError("Event loop stopped before Future completed.")
        return fut.result()

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
        executor, self._default_executor = self._default_executor, None
        if executor is not None:
            executor.shutdown(wait=False)   # as BaseEventLoop.close: do not wait for threads
        csock, self._csock = self._csock, None
        self._ssock.close()
        if csock is not None:
            csock.close()
        self._selector.close()

    def _check_closed(self) -> None:
        if self._closed:
            raise RuntimeError("Event loop is closed")

    # ------------------------------------------------------------------ futures and tasks
    # asyncio's Future and Task (C classes from _asyncio, or futures.Future / tasks._PyTask)
    # work on any loop: they only call loop.call_soon(callback, ..., context=...),
    # loop.get_debug(), loop.call_exception_handler() and, for timeouts, loop.call_at/time.
    def create_future(self) -> asyncio.Future[Any]:
        """A new asyncio.Future bound to this loop (BaseEventLoop.create_future)."""
        return asyncio.Future(loop=self)

    def create_task(self, coro: Coroutine[Any, Any, Any], *, name: str | None = None,
                    context: contextvars.Context | None = None, **kwargs: Any) -> asyncio.Future[Any]:
        """Wrap ``coro`` in an asyncio.Task (or the task factory's task) that starts next pass.

        As BaseEventLoop.create_task at 3.13..3.15 (``**kwargs`` passed on to the factory);
        3.11 gave a factory only ``context`` and set the name afterwards: the toy passes
        ``name`` only when one is given, so a 3.11-style ``factory(loop, coro)`` still works."""
        self._check_closed()
        if name is not None:
            kwargs["name"] = name
        if context is not None:
            kwargs["context"] = context
        if self._task_factory is not None:
            return self._task_factory(self, coro, **kwargs)
        return asyncio.Task(coro, loop=self, **kwargs)

    def set_task_factory(self, factory: Callable[..., asyncio.Future[Any]] | None) -> None:
        """``factory(loop, coro, **kwargs)`` makes the loop's tasks; None restores asyncio.Task."""
        if factory is not None and not callable(factory):
            raise TypeError("task factory must be a callable or None")
        self._task_factory = factory

    def get_task_factory(self) -> Callable[..., asyncio.Future[Any]] | None:
        return self._task_factory

    def get_debug(self) -> bool:
        """asyncio's debug flag. The toy only stores it: Future and Task read it (to record
        where they were created); the loop itself has no slow-callback warnings."""
        return self._debug

    def set_debug(self, enabled: bool) -> None:
        self._debug = bool(enabled)

    # ------------------------------------------------------------------ async generators
    # An ``async for`` over an async generator that is left early leaves the generator
    # suspended; only the loop can run its ``finally`` (aclose() is a coroutine). run_forever
    # installs these hooks (sys.set_asyncgen_hooks), as BaseEventLoop does.
    def _asyncgen_firstiter_hook(self, agen: Any) -> None:
        if self._asyncgens_shutdown_called:
            warnings.warn(f"asynchronous generator {agen!r} was scheduled after "
                          f"loop.shutdown_asyncgens() call", ResourceWarning, source=self)
        self._asyncgens.add(agen)

    def _asyncgen_finalizer_hook(self, agen: Any) -> None:
        # Called by the garbage collector, maybe from another thread: hence threadsafe.
        self._asyncgens.discard(agen)
        if not self.is_closed():
            self.call_soon_threadsafe(self.create_task, agen.aclose())

    async def shutdown_asyncgens(self) -> None:
        """aclose() every async generator still alive (asyncio.Runner.close awaits this)."""
        self._asyncgens_shutdown_called = True
        if not self._asyncgens:
            return
        closing = list(self._asyncgens)
        self._asyncgens.clear()
        results = await asyncio.gather(*[agen.aclose() for agen in closing], return_exceptions=True)
        for result, agen in zip(results, closing):
            if isinstance(result, Exception):
                self.call_exception_handler({
                    "message": f"an error occurred during closing of asynchronous generator {agen!r}",
                    "exception": result, "asyncgen": agen})

    # ------------------------------------------------------------------ the default executor
    def run_in_executor(self, executor: concurrent.futures.Executor | None,
                        func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run func(*args) in ``executor`` (None: a ThreadPoolExecutor made on first use); the
        asyncio future completes through call_soon_threadsafe (asyncio.wrap_future)."""
        self._check_closed()
        if executor is None:
            if self._executor_shutdown_called:
                raise RuntimeError("Executor shutdown has been called")
            if self._default_executor is None:
                self._default_executor = concurrent.futures.ThreadPoolExecutor(
                    thread_name_prefix="lessons-loop")
            executor = self._default_executor
        return asyncio.wrap_future(executor.submit(func, *args), loop=self)

    def set_default_executor(self, executor: concurrent.futures.ThreadPoolExecutor) -> None:
        if not isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            raise TypeError("executor must be ThreadPoolExecutor instance")
        self._default_executor = executor

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Join the default executor's threads without blocking the loop: a helper thread
        waits for them and wakes the loop. ``timeout`` as at 3.12+ (Runner passes 300 s)."""
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is None:
            return
        done = self.create_future()

        def join() -> None:
            try:
                executor.shutdown(wait=True)
            except Exception as exc:    # pragma: no cover - shutdown itself rarely fails
                if not self.is_closed():
                    self.call_soon_threadsafe(_set_exception_unless_done, done, exc)
            else:
                if not self.is_closed():
                    self.call_soon_threadsafe(_set_result_unless_done, done, None)

        thread = threading.Thread(target=join, name="lessons-loop-shutdown")
        thread.start()
        try:
            async with asyncio.timeout(timeout):
                await done
        except TimeoutError:
            warnings.warn(f"The executor did not finishing joining its threads within {timeout} "
                          f"seconds.", RuntimeWarning, stacklevel=2)
            executor.shutdown(wait=False)
        else:
            thread.join()

    # ------------------------------------------------------------------ sockets as coroutines
    # Every sock_* method has asyncio's shape (selector_events.py): try the call at once (the
    # kernel often has the data already, and then no reader is ever registered); on
    # BlockingIOError register a reader/writer whose callback retries the call and completes a
    # future; a done-callback on that future removes the reader/writer, whether the future
    # completed or was cancelled (a cancelled sock_recv must leave nothing registered).
    # The socket must be non-blocking (asyncio checks that only in debug mode; the toy always).
    async def sock_recv(self, sock: socket.socket, n: int) -> bytes:
        """Receive up to n bytes; b"" at end of stream."""
        _check_nonblocking(sock)
        try:
            return sock.recv(n)
        except (BlockingIOError, InterruptedError):
            pass
        fut = self.create_future()
        self._wait_readable(sock, fut, self._sock_recv, fut, sock, n)
        return await fut

    def _sock_recv(self, fut: asyncio.Future[Any], sock: socket.socket, n: int) -> None:
        if fut.done():      # cancelled in an earlier pass; its done-callback is queued
            return
        try:
            data = sock.recv(n)
        except (BlockingIOError, InterruptedError):
            return          # spurious readiness: stay registered, try again next pass
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(data)

    async def sock_recv_into(self, sock: socket.socket, buf: Any) -> int:
        """Receive into the writable buffer ``buf``; return the number of bytes written."""
        _check_nonblocking(sock)
        try:
            return sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            pass
        fut = self.create_future()
        self._wait_readable(sock, fut, self._sock_recv_into, fut, sock, buf)
        return await fut

    def _sock_recv_into(self, fut: asyncio.Future[Any], sock: socket.socket, buf: Any) -> None:
        if fut.done():
            return
        try:
            nbytes = sock.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(nbytes)

    async def sock_sendall(self, sock: socket.socket, data: bytes) -> None:
        """Send every byte of ``data``, waiting for writability as often as needed."""
        _check_nonblocking(sock)
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        if sent == len(data):
            return
        fut = self.create_future()
        handle = self._add(sock.fileno(), selectors.EVENT_WRITE,
                           Handle(self._sock_sendall, (fut, sock, memoryview(data), [sent]), self))
        fut.add_done_callback(functools.partial(self._writer_done, sock.fileno(), handle))
        await fut

    def _sock_sendall(self, fut: asyncio.Future[Any], sock: socket.socket, view: memoryview,
                      pos: list[int]) -> None:
        if fut.done():
            return
        try:
            sent = sock.send(view[pos[0]:])
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
            return
        pos[0] += sent      # a list, so that the next call of this callback sees the progress
        if pos[0] == len(view):
            fut.set_result(None)

    async def sock_connect(self, sock: socket.socket, address: Any) -> None:
        """Connect ``sock`` to ``address``. For AF_INET/AF_INET6 the host must be a numeric
        address ("127.0.0.1", "::1"): asyncio first resolves names with getaddrinfo in the
        executor (_ensure_resolved); the toy does not resolve, and refuses a name rather
        than let connect() block the loop on DNS."""
        _check_nonblocking(sock)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                ipaddress.ip_address(address[0])
            except ValueError:
                raise ValueError(f"sock_connect needs a numeric address, got {address[0]!r}: "
                                 f"resolve it first (socket.getaddrinfo)") from None
        fut = self.create_future()
        try:
            sock.connect(address)
        except (BlockingIOError, InterruptedError):
            # Connecting in the background: the socket becomes writable when it is done.
            handle = self._add(sock.fileno(), selectors.EVENT_WRITE,
                               Handle(self._sock_connect_cb, (fut, sock, address), self))
            fut.add_done_callback(functools.partial(self._writer_done, sock.fileno(), handle))
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(None)
        try:
            await fut
        finally:
            fut = None      # type: ignore[assignment]  # break the cycle through the exception

    def _sock_connect_cb(self, fut: asyncio.Future[Any], sock: socket.socket, address: Any) -> None:
        if fut.done():
            return
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            # OSError(ECONNREFUSED, ...) is constructed as ConnectionRefusedError (PEP 3151).
            fut.set_exception(OSError(err, f"Connect call failed {address}"))
        else:
            fut.set_result(None)

    async def sock_accept(self, sock: socket.socket) -> tuple[socket.socket, Any]:
        """Accept a connection on the listening ``sock``: (non-blocking conn, address)."""
        _check_nonblocking(sock)
        fut = self.create_future()
        self._sock_accept(fut, sock)
        return await fut

    def _sock_accept(self, fut: asyncio.Future[Any], sock: socket.socket) -> None:
        if fut.done():
            return
        try:
            conn, address = sock.accept()
            conn.setblocking(False)
        except (BlockingIOError, InterruptedError):
            # As asyncio: (re-)register; a replaced reader is cancelled, and its done-callback
            # then leaves the new one alone (_reader_done).
            self._wait_readable(sock, fut, self._sock_accept, fut, sock)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result((conn, address))

    def _wait_readable(self, sock: socket.socket, fut: asyncio.Future[Any],
                       callback: Callable[..., Any], *args: Any) -> None:
        handle = self._add(sock.fileno(), selectors.EVENT_READ, Handle(callback, args, self))
        fut.add_done_callback(functools.partial(self._reader_done, sock.fileno(), handle))

    def _reader_done(self, fd: int, handle: Handle, fut: asyncio.Future[Any]) -> None:
        # A cancelled handle was replaced by another add_reader: that one is not ours to remove.
        if not handle._cancelled:
            self.remove_reader(fd)

    def _writer_done(self, fd: int, handle: Handle, fut: asyncio.Future[Any]) -> None:
        if not handle._cancelled:
            self.remove_writer(fd)

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


def _stop_when_done(fut: asyncio.Future[Any]) -> None:
    # base_events._run_until_complete_cb: SystemExit/KeyboardInterrupt already ended the run.
    if not fut.cancelled() and isinstance(fut.exception(), (SystemExit, KeyboardInterrupt)):
        return
    fut.get_loop().stop()


def _set_result_unless_done(fut: asyncio.Future[Any], result: Any) -> None:
    if not fut.done():
        fut.set_result(result)


def _set_exception_unless_done(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


def _check_nonblocking(sock: socket.socket) -> None:
    if sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking: call sock.setblocking(False) first")


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
