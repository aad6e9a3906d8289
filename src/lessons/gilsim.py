"""A discrete-event model of how CPython's GIL passes between CPU-bound threads.

Lesson 02 draws "which thread held the GIL when" from this model, next to a
real measurement.  It is a *model*: small enough to read in one sitting, exact
enough that every rule below points at the line of CPython it imitates.  Time
is in microseconds (µs), as in ``Python/ceval_gil.c``.

The rules (CPython 3.2 and later; file and function names as of 3.12 to 3.15,
checked at the tags v3.12.0, v3.13.0, v3.14.7 and v3.15.0rc1)
-----------------------------------------------------------------------------

1. **take_gil() waits, then asks.**  A thread that finds the GIL locked waits
   on the condition variable ``gil->cond`` for at most ``interval`` µs
   (``COND_TIMED_WAIT`` in ``take_gil()``).  If the wait *times out* and no
   switch happened in the meantime (``gil->switch_number`` unchanged), it
   sets the holder's drop request (``SET_GIL_DROP_REQUEST`` up to 3.12; the
   ``_PY_GIL_DROP_REQUEST_BIT`` of the holder's ``eval_breaker`` in 3.13), and
   waits again.  A wait that ends because the GIL was released, but another
   thread took it first, simply starts a new ``interval``-long wait.
2. **The holder looks only at check points.**  The eval loop tests
   ``eval_breaker`` at a few instructions only (``RESUME``, ``JUMP_BACKWARD``,
   after calls; ``CHECK_EVAL_BREAKER()`` in 3.12's ``Python/bytecodes.c``, the
   micro-ops ``_CHECK_PERIODIC*`` there from 3.13 on).  Here a
   thread reaches a check point every ``check_every_us`` µs of its own CPU
   time: well under 1 µs for a pure-Python loop, the whole call for a long
   C function that never returns to the eval loop (``sum(range(10**8))``).
3. **drop_gil() signals one waiter.**  Releasing the GIL signals ``gil->cond``;
   the woken thread needs ``wake_latency_us`` before it runs (the kernel must
   schedule it).  The model wakes the thread that has waited longest; POSIX
   leaves that choice to the system.
4. **FORCE_SWITCHING** (on in every release since 3.2; defined today in
   ``Include/internal/pycore_gil.h``).  If a drop was requested, ``drop_gil()`` then waits on
   ``gil->switch_cond`` until ``gil->last_holder`` is another thread, and only
   then does the releaser call ``take_gil()`` again.  Without it, the releaser,
   already running on a CPU, calls ``take_gil()`` at once and finds the GIL
   free before the woken thread is even scheduled.  The model lets it win that
   race every time (``force_switching=False``), the worst case the comment in
   ``ceval_gil.c`` describes: "one thread would speculatively release the GIL,
   but still run and end up being the first to re-acquire it".
5. A thread that finishes its work releases the GIL for good.

What the model leaves out, on purpose: blocking calls and I/O (a thread here
only computes; exercise 02.5 asks you to model threads that block), more
threads than CPUs (every thread has a CPU of its own), the kernel's own
preemption, and the other reasons to trip ``eval_breaker`` (signals, pending
calls, the garbage collector).

Example::

    trace = simulate([SimThread("A", work_us=20_000), SimThread("B", work_us=20_000)],
                     interval_us=5_000)
    trace.switches          # hand-offs of the GIL between different threads
    trace.timeline_spans()  # (lane, start, end, label) for lessons.plotting.timeline
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

#: The states a thread can be in; spans of the trace carry one of these labels.
RUNNING = "holds the GIL"
WAITING = "waits for the GIL"
HANDING_OFF = "waits for the hand-off"
STATES: tuple[str, ...] = (RUNNING, WAITING, HANDING_OFF)

#: Event kinds in ``Trace.events``.
DROP_REQUEST = "drop request"
ACQUIRE = "acquire"
RELEASE = "release"
FINISH = "finish"

_EPS = 1e-9


@dataclass(frozen=True)
class SimThread:
    """One CPU-bound thread of the model.

    Args:
        name: its lane label.
        work_us: CPU time it needs in total, µs; ``math.inf`` runs it until the horizon.
        check_every_us: CPU time between two eval-breaker check points, µs.
        start_us: when it calls ``take_gil()`` for the first time.
    """

    name: str
    work_us: float = math.inf
    check_every_us: float = 1.0
    start_us: float = 0.0


@dataclass(frozen=True)
class Span:
    """``thread`` was in ``state`` (one of ``STATES``) from ``start`` to ``end`` µs."""

    thread: str
    start: float
    end: float
    state: str


@dataclass(frozen=True)
class Event:
    """Something happened to ``thread`` at ``time`` µs: see the ``*_REQUEST``/``ACQUIRE``... kinds."""

    time: float
    thread: str
    kind: str


@dataclass(frozen=True)
class Trace:
    """The outcome of ``simulate``: every state span and event, in time order."""

    spans: tuple[Span, ...]
    events: tuple[Event, ...]
    end_us: float
    finished: dict[str, float] = field(default_factory=dict)  #: thread -> time its work was done

    @property
    def threads(self) -> list[str]:
        """Thread names in order of first appearance."""
        seen: list[str] = []
        for s in self.spans:
            if s.thread not in seen:
                seen.append(s.thread)
        return seen

    @property
    def switches(self) -> int:
        """How many times the GIL went to a thread other than its last holder."""
        holders = [e.thread for e in self.events if e.kind == ACQUIRE]
        return sum(1 for a, b in zip(holders, holders[1:]) if a != b)

    def slices(self, thread: str | None = None) -> list[float]:
        """Lengths (µs) of the stretches during which a thread held the GIL."""
        return [s.end - s.start for s in self.spans
                if s.state == RUNNING and (thread is None or s.thread == thread)]

    def time_in(self, state: str, thread: str) -> float:
        """Total µs ``thread`` spent in ``state``."""
        return sum(s.end - s.start for s in self.spans if s.state == state and s.thread == thread)

    def timeline_spans(self, scale: float = 1e-3,
                       states: Sequence[str] = STATES) -> list[tuple[str, float, float, str]]:
        """``(lane, start, end, label)`` tuples for ``lessons.plotting.timeline``.

        ``scale`` converts µs to the plot's unit (default: milliseconds).
        """
        return [(s.thread, s.start * scale, s.end * scale, s.state)
                for s in self.spans if s.state in states and s.end > s.start]

    def marks(self, kind: str = DROP_REQUEST, scale: float = 1e-3) -> list[tuple[str, float]]:
        """``(lane, time)`` of every event of ``kind`` (by default: drop requests, at the requester)."""
        return [(e.thread, e.time * scale) for e in self.events if e.kind == kind]


class _State:
    """Mutable per-thread bookkeeping while the simulation runs."""

    def __init__(self, spec: SimThread) -> None:
        self.spec = spec
        self.done_us = 0.0          # CPU time already used
        self.run_start = 0.0        # when the current RUNNING span began
        self.state: str | None = None
        self.since = 0.0
        self.token = 0              # invalidates stale timeouts, notices and wake-ups
        self.saved_switch = 0       # gil.switch_number when the current wait began


@dataclass
class _Gil:
    """The fields of ``struct _gil_runtime_state`` the model needs."""

    locked: bool = False
    holder: str | None = None
    last_holder: str | None = None
    switch_number: int = 0
    drop_request: bool = False


def simulate(
    threads: Sequence[SimThread],
    *,
    interval_us: float = 5000.0,
    wake_latency_us: float = 5.0,
    force_switching: bool = True,
    horizon_us: float | None = None,
) -> Trace:
    """Run the model until every thread is done or ``horizon_us`` is reached.

    Args:
        threads: the threads, each with its own CPU; names must be unique.
        interval_us: the switch interval (``sys.getswitchinterval()`` × 10⁶; 5000 by default).
        wake_latency_us: how long a signalled thread takes to start running.
        force_switching: model CPython's ``FORCE_SWITCHING`` (on in every release).
        horizon_us: stop here; required if any thread has infinite work.

    Returns:
        A ``Trace``.

    Raises:
        ValueError: duplicate names, non-positive times, or infinite work without a horizon.
    """
    names = [t.name for t in threads]
    if len(set(names)) != len(names):
        raise ValueError("thread names must be unique")
    if interval_us <= 0 or wake_latency_us < 0:
        raise ValueError("interval_us must be > 0 and wake_latency_us >= 0")
    if any(t.check_every_us <= 0 or t.work_us <= 0 or t.start_us < 0 for t in threads):
        raise ValueError("every thread needs work_us > 0, check_every_us > 0 and start_us >= 0")
    if horizon_us is None and any(math.isinf(t.work_us) for t in threads):
        raise ValueError("a thread with infinite work needs a horizon_us")
    return _Simulation(threads, interval_us, wake_latency_us, force_switching,
                       math.inf if horizon_us is None else float(horizon_us)).run()


class _Simulation:
    """One run of the model: an event queue plus the GIL and thread states."""

    def __init__(self, threads: Sequence[SimThread], interval_us: float, wake_latency_us: float,
                 force_switching: bool, end_limit: float) -> None:
        self.threads = list(threads)
        self.interval = interval_us
        self.wake = wake_latency_us
        self.force_switching = force_switching
        self.end_limit = end_limit
        self.st = {t.name: _State(t) for t in threads}
        self.gil = _Gil()
        self.waiters: list[str] = []        # blocked on gil->cond, longest-waiting first
        self.switch_waiters: list[str] = []  # FORCE_SWITCHING: released, waiting on switch_cond
        self.spans: list[Span] = []
        self.events: list[Event] = []
        self.finished: dict[str, float] = {}
        self.queue: list[tuple[float, int, str, str, int]] = []  # (time, seq, kind, thread, token)
        self.seq = 0

    # -- bookkeeping ---------------------------------------------------------

    def push(self, time: float, kind: str, name: str, token: int = 0) -> None:
        heapq.heappush(self.queue, (time, self.seq, kind, name, token))
        self.seq += 1

    def enter(self, name: str, state: str | None, now: float) -> None:
        s = self.st[name]
        if s.state is not None and now > s.since:
            self.spans.append(Span(name, s.since, now, s.state))
        s.state, s.since = state, now

    # -- take_gil() and drop_gil() -------------------------------------------

    def take_gil(self, name: str, now: float) -> None:
        if not self.gil.locked:
            self.acquire(name, now)
            return
        self.enter(name, WAITING, now)
        self.waiters.append(name)
        self.start_wait(name, now)

    def start_wait(self, name: str, now: float) -> None:
        """One turn of take_gil()'s loop: remember switch_number, wait up to `interval`."""
        s = self.st[name]
        s.token += 1
        s.saved_switch = self.gil.switch_number
        self.push(now + self.interval, "timeout", name, s.token)

    def acquire(self, name: str, now: float) -> None:
        s, gil = self.st[name], self.gil
        gil.locked, gil.holder = True, name
        if gil.last_holder != name:
            gil.last_holder = name
            gil.switch_number += 1
        self.events.append(Event(now, name, ACQUIRE))
        for other in self.switch_waiters:   # COND_SIGNAL(gil->switch_cond)
            self.push(now + self.wake, "handoff_done", other)
        self.switch_waiters.clear()
        gil.drop_request = False            # take_gil() resets a pending request
        self.enter(name, RUNNING, now)
        s.run_start = now
        s.token += 1
        remaining = s.spec.work_us - s.done_us
        if not math.isinf(remaining):
            self.push(now + remaining, "finish", name, s.token)

    def next_check_point(self, name: str, now: float) -> float:
        """When the running thread reaches its next eval-breaker check after ``now``."""
        s = self.st[name]
        progress = s.done_us + (now - s.run_start)
        step = s.spec.check_every_us
        next_check = (math.floor(progress / step + _EPS) + 1) * step
        return s.run_start + (next_check - s.done_us)

    def release(self, name: str, now: float) -> None:
        s, gil = self.st[name], self.gil
        s.done_us += now - s.run_start
        s.token += 1
        gil.locked, gil.holder, gil.last_holder = False, None, name
        self.events.append(Event(now, name, RELEASE))
        if self.waiters:                    # COND_SIGNAL(gil->cond): wake one waiter
            woken = self.waiters.pop(0)
            self.st[woken].token += 1       # its wait ends signalled, not timed out
            self.push(now + self.wake, "woken", woken, self.st[woken].token)

    # -- the event loop ------------------------------------------------------

    def run(self) -> Trace:
        for t in self.threads:
            self.push(t.start_us, "start", t.name)
        now = 0.0
        while self.queue:
            if self.queue[0][0] > self.end_limit:
                now = self.end_limit
                break
            now, _, kind, name, token = heapq.heappop(self.queue)
            getattr(self, "on_" + kind)(name, now, token)
        for name, s in self.st.items():
            if s.state is not None and now > s.since:
                self.spans.append(Span(name, s.since, now, s.state))
        self.spans.sort(key=lambda sp: (sp.start, sp.thread))
        return Trace(tuple(self.spans), tuple(self.events), now, dict(self.finished))

    def on_start(self, name: str, now: float, token: int) -> None:
        self.take_gil(name, now)

    def on_timeout(self, name: str, now: float, token: int) -> None:
        s, gil = self.st[name], self.gil
        if token != s.token or s.state != WAITING:
            return                          # stale: the wait already ended
        if gil.locked and gil.switch_number == s.saved_switch:
            self.events.append(Event(now, name, DROP_REQUEST))
            if not gil.drop_request and gil.holder is not None:
                gil.drop_request = True
                holder = gil.holder
                self.push(self.next_check_point(holder, now), "notice", holder, self.st[holder].token)
        self.start_wait(name, now)

    def on_woken(self, name: str, now: float, token: int) -> None:
        s = self.st[name]
        if token != s.token or s.state != WAITING:
            return
        if not self.gil.locked:
            self.acquire(name, now)
        else:                               # lost the race: back to a fresh wait
            self.waiters.append(name)
            self.start_wait(name, now)

    def on_notice(self, name: str, now: float, token: int) -> None:
        s, gil = self.st[name], self.gil
        if token != s.token or s.state != RUNNING or not gil.drop_request:
            return
        self.release(name, now)
        if not self.force_switching:
            self.take_gil(name, now)        # still on its CPU: straight back into take_gil()
            return
        gil.drop_request = False            # RESET_GIL_DROP_REQUEST, then wait on switch_cond
        if gil.last_holder == name and not gil.locked:
            self.enter(name, HANDING_OFF, now)
            self.switch_waiters.append(name)
        else:
            self.take_gil(name, now)

    def on_handoff_done(self, name: str, now: float, token: int) -> None:
        if self.st[name].state == HANDING_OFF:
            self.take_gil(name, now)

    def on_finish(self, name: str, now: float, token: int) -> None:
        s = self.st[name]
        if token != s.token or s.state != RUNNING:
            return
        self.release(name, now)
        self.finished[name] = now
        self.events.append(Event(now, name, FINISH))
        self.enter(name, None, now)
