"""Lesson 12: what Python lacks, built in Python - preemption (抢占) of code that never yields.

Design essay
------------

**What Erlang does.** BEAM, Erlang's virtual machine, charges a process one *reduction*
(规约) for each function call (and BIFs charge more for more work) and switches it out when
its budget is spent: ``#define CONTEXT_REDS 4000 /* Swap process out after this number */``
in ``erts/emulator/beam/erl_vm.h`` (erlang/otp, read at commit 01ae283, a 2022+ tree; the
value has been 4000 since OTP 19.2, before that 2000). The charge is taken at every call: the ``DISPATCH``
macros of ``erts/emulator/beam/emu/macros.tab`` read ``if (FCALLS > 0 || ...) { FCALLS--;
Goto(next); } else { goto context_switch; }``. The manual says the same
(``erlang:bump_reductions/1``, ``erts/preloaded/src/erlang.erl``: "the reduction counter is
normally incremented by one for each function and BIF call. A context switch is forced when
the counter reaches the maximum number of reductions for a process (4000 reductions in
Erlang/OTP 19.2 and later)"). So a process that never waits, never sends and never calls
``erlang:yield()`` is still switched out after about 4000 calls, and every other process
on that scheduler gets its turn: preemptive scheduling (抢占式调度) counted in work, not time,
in time slices (时间片) of one budget each.

**Why a generator cannot do this.** A generator (or a coroutine) is suspended only at its own
``yield``/``await``: the suspension point is written into its code. ``fib(30)`` written as a
plain function has no such point, so a generator scheduler (lesson 05, task 12.1) cannot stop
it; it can only ask processes to yield their costs. To stop a function that does not
cooperate, something has to keep its *whole call stack* aside while another runs: a stackful
coroutine (有栈协程, lesson 08's greenlet) or an OS thread.

**Who counts the calls.** CPython offers two hooks that run code at every Python function call:

- ``sys.setprofile(f)`` (every version): ``f(frame, "call", None)`` at each Python function
  start (and ``"return"``, ``"c_call"``, ``"c_return"`` events besides). It is per thread.
  Since 3.12 it is built on the next one (``Python/legacy_tracing.c``, ``setup_profile``:
  ``PY_START`` and ``PY_RESUME`` become ``"call"``).
- ``sys.monitoring`` (3.12+, PEP 669): ``use_tool_id``, ``register_callback(tool,
  events.PY_START, cb)``, ``set_events(tool, events.PY_START)``; ``cb(code, offset)`` runs at
  each Python function start, in every thread, and no other event costs anything.

The callback counts one reduction per call for the process that is running; when the budget
is spent it switches that process out, right there, inside the callback.

**The catch: a hook runs with the thread's tracing flag set, and greenlet does not save it.**
CPython sets ``tstate->tracing`` while a hook runs, so that the hook's own calls are not
reported: 3.11 ``Python/ceval.c`` ``call_trace`` (``if (tstate->tracing) return 0;``, then
``PyThreadState_EnterTracing``); 3.12+ ``Python/instrumentation.c``
``call_instrumentation_vector`` (``if (tstate->tracing) return 0;``) and
``call_one_instrument`` (``tstate->tracing++`` around the callback). greenlet saves and
restores much of the thread state per greenlet (greenlet 3.x ``src/greenlet/TPythonState.cpp``,
``PythonState::operator<<`` and ``operator>>``: the context, the frame, the recursion depth,
the data stack, 3.11's ``use_tracing``) but not ``tracing``. Switch away from inside the callback and the flag stays
set for whatever runs next: a greenlet started then is never counted, so it runs to its end
unpreempted. ``tracing_flag_experiment()`` measures it: three processes of 2000 calls, 500 a
slice; switched plainly, the two started after the first preemption are charged 0 (3.11.7
with ``setprofile``; 3.13.5 with ``setprofile`` and with ``sys.monitoring``).

**What works: switch through ``sys.call_tracing``.** ``sys.call_tracing(f, args)`` exists for
debuggers that must run code under tracing from inside a trace function: it saves
``tstate->tracing``, sets it to 0, calls ``f`` and restores the saved value (``ceval.c``,
``_PyEval_CallTracing``, in 3.11 and in 3.12+ alike). The callback switches with
``sys.call_tracing(scheduler.switch, ())``: the scheduler and every greenlet it starts run with
tracing at 0, so they are counted; when the preempted process is switched back in, its
``call_tracing`` returns and puts its own flag back (1, inside its callback), the callback
returns and CPython clears it as usual. Every greenlet sees the flag it would have seen without
switching. That is backend ``"greenlet"``: 3.11 with ``setprofile``, 3.12+ with
``sys.monitoring``, wherever greenlet is installed (the course's 3.11 venv; the free-threaded
3.13 venv, where importing greenlet turns the GIL back on).

**Where greenlet is missing: a thread per process, one running at a time.** The 3.15 build
the course installs has no greenlet. Backend ``"threads"`` gives each process an OS thread for
its stack and hands one baton around: the callback that spends the budget releases the
scheduler's lock and blocks on its own (C-level ``_thread`` locks, so the hand-off makes no
Python calls and charges nothing). Only one process thread is ever runnable, so the trace is as
deterministic as with greenlet, and ``tstate->tracing`` is per thread, so the catch above does
not arise. Both backends give the same slices for the same processes; the lesson shows it.

**Still not real preemption.** The hook runs only when Python code *calls a Python function*.
A hog that spends its time inside one C function - ``sum(range(10**8))``, a regular expression
that backtracks, a big ``sorted()`` - makes no Python calls: it is charged one reduction and
runs to its end while every other process waits (``c_call_limit`` measures it: the heartbeat
is silent for the whole C call). Erlang has the same hole in the same place and documents it:
a NIF (C code called from Erlang) "is to return to its caller within 1 millisecond"
(``erl_nif`` manual, section "Long-running NIFs"), else it must yield by hand
(``enif_schedule_nif``, ``enif_consume_timeslice``) or run on a dirty scheduler; BEAM's own
long BIFs count their work in reductions and trap out part-way (``erl_bif_lists.c``,
``CELLS_PER_RED``). CPython's C functions have no such protocol. Other limits: the counting
runs Python code at every call, so it costs (``counting_cost`` measures how much); and
setting ``gc.disable()`` during a run (this module does) keeps Python code run by the garbage
collector (``__del__``, weakref callbacks) from being charged to whichever process happened to
allocate.

Public API (plain data out, for a notebook cell to print and assert on)
-----------------------------------------------------------------------

- ``run(processes, budget=CONTEXT_REDS, backend="auto", hook="auto") -> Run``: the scheduler.
  ``processes`` maps a name to a plain function of no arguments; ``Run.trace()`` is the list of
  ``(process, reductions, outcome)`` slices, ``Run.fairness()`` the largest gap between two
  live processes' reductions at any preemption, ``Run.results`` the return values.
- ``worker(n)`` (a process that costs exactly ``n`` reductions), ``hog(n)`` (recursive
  ``fib(n)``), ``c_hog(n)`` (one C call, ``sum(range(n))``), ``heartbeat(beats, work)``
  (a process and the list its beats go to; ``clock()`` is the run's reduction clock).
- ``starvation(...)``: a hog beside a heartbeat; what the heartbeat saw.
  ``c_call_limit(...)``: the same with ``c_hog``.
- ``counting_cost(...)``: calls per second of the hog with and without the hook, in one run;
  ``cost_by_version(...)``: the same in every interpreter ``lessons.pythons`` knows.
- ``capabilities(python)``: greenlet? ``sys.monitoring``? which backend and hook ``"auto"``
  picks there. ``tracing_flag_experiment(python)``: the plain switch against ``call_tracing``.
- ``poll_waker_trace()``: Rust's ``Future::poll`` / ``Waker::wake`` protocol driven by hand.

Every function that takes ``python=`` runs in a fresh interpreter of that path (``lessons.probe``)
when it is given, else in this process. In a notebook::

    from lessons import preemption, pythons
    r = preemption.run({"a": preemption.worker(10), "b": preemption.worker(25)}, budget=4)
    r.trace()[:3]       # [('a', 4, 'preempted'), ('b', 4, 'preempted'), ('a', 4, 'preempted')]
    preemption.starvation()["beats_during_hog"]                  # > 0: it keeps beating
    preemption.starvation(python=pythons.newest())["backend"]    # 'threads' on the 3.15 build
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import threading
import time
import _thread
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import probe

__all__ = ["CONTEXT_REDS", "Run", "Slice", "c_call_limit", "c_hog", "capabilities", "clock",
           "cost_by_version", "counting_cost", "fib", "heartbeat", "hog", "lesson_pythons",
           "poll_waker_trace", "run", "starvation", "tracing_flag_experiment", "worker"]

#: Erlang's budget: ``CONTEXT_REDS`` in ``erts/emulator/beam/erl_vm.h`` (4000 since OTP 19.2).
CONTEXT_REDS = 4000

Process = Callable[[], Any]


# ---------------------------------------------------------------------------
# 1. Processes: plain functions that never yield
# ---------------------------------------------------------------------------


def fib(n: int) -> int:
    """Recursive Fibonacci: ``fib(n)`` makes ``2 * fib(n + 1) - 1`` calls, every one a reduction."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def _leaf() -> None:
    """One reduction's worth of work: a Python call that does nothing."""


def worker(n: int) -> Process:
    """A process that costs exactly ``n`` reductions (itself, then ``n - 1`` calls), returns ``n``.

    The loop runs on ``range`` (C) so that nothing but the calls is charged."""
    if n < 1:
        raise ValueError("a process costs at least one reduction (its own call)")

    def body() -> int:
        for _ in range(n - 1):
            _leaf()
        return n
    body.__qualname__ = f"worker({n})"
    return body


def hog(n: int = 22) -> Process:
    """A CPU hog in pure Python: ``fib(n)``, never yields (``fib(22)``: 57,313 reductions + 1)."""
    def body() -> int:
        return fib(n)
    body.__qualname__ = f"hog({n})"
    return body


def c_hog(n: int = 10**7) -> Process:
    """A CPU hog that spends its time in one C call, ``sum(range(n))``: one reduction in all."""
    def body() -> int:
        return sum(range(n))
    body.__qualname__ = f"c_hog({n})"
    return body


def heartbeat(beats: int = 250, work: int = 199) -> tuple[Process, list[tuple[int, int]]]:
    """A heartbeat process: ``beats`` times, do ``work`` calls of small work, then record
    ``(clock(), time.perf_counter_ns())`` in the list returned beside it. It never yields
    either; one beat costs ``work + 1`` reductions (the ``clock()`` call is one)."""
    log: list[tuple[int, int]] = []
    now = time.perf_counter_ns

    def body() -> int:
        for _ in range(beats):
            for _ in range(work):
                _leaf()
            log.append((clock(), now()))
        return beats
    body.__qualname__ = f"heartbeat({beats}, {work})"
    return body, log


# ---------------------------------------------------------------------------
# 2. The scheduler
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Slice:
    """One turn of one process: the ``reductions`` charged in it, the reduction clock at its
    ``start`` (all processes' reductions so far), and its ``outcome``: ``"preempted"`` (the
    budget was spent and it wanted another call) or ``"exited"`` (its function returned).
    ``t0_ns`` and ``ns`` are its wall-clock start (``perf_counter_ns``) and length: they vary
    from run to run, the rest does not."""

    process: str
    reductions: int
    start: int
    outcome: str
    t0_ns: int = 0
    ns: int = 0


@dataclass
class Run:
    """What ``run`` returns. ``slices`` in the order they ran; ``results`` maps each process to
    its return value; ``budget`` (None: never preempt), ``backend``, ``hook`` and ``python``
    say what ran it."""

    slices: list[Slice]
    results: dict[str, Any]
    budget: int | None
    backend: str
    hook: str
    python: str = field(default_factory=lambda: sys.version.split()[0])

    def trace(self) -> list[tuple[str, int, str]]:
        """``(process, reductions, outcome)`` per slice: the deterministic part of the run."""
        return [(s.process, s.reductions, s.outcome) for s in self.slices]

    def totals(self) -> dict[str, int]:
        """Reductions each process was charged over the whole run."""
        out: dict[str, int] = {}
        for s in self.slices:
            out[s.process] = out.get(s.process, 0) + s.reductions
        return out

    def fairness(self) -> int:
        """Fairness (公平性): the largest difference between the reductions of two live
        processes (started or not, not yet exited) at any preemption. Round-robin with budget
        B keeps it <= B."""
        totals = {s.process: 0 for s in self.slices}
        live = set(totals)
        worst = 0
        for s in self.slices:
            totals[s.process] += s.reductions
            if s.outcome == "exited":
                live.discard(s.process)
            elif len(live) > 1:
                values = [totals[p] for p in live]
                worst = max(worst, max(values) - min(values))
        return worst

    def to_json(self) -> dict[str, Any]:
        """Plain data (for a child interpreter to print); ``Run.from_json`` reads it back."""
        return {"slices": [asdict(s) for s in self.slices], "results": self.results,
                "budget": self.budget, "backend": self.backend, "hook": self.hook, "python": self.python}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Run:
        return cls([Slice(**s) for s in data["slices"]], dict(data["results"]), data["budget"],
                   data["backend"], data["hook"], data["python"])


class _State:
    """What the counting callback and the scheduler share during one run. One process runs at
    a time, so one ``used`` counter (this slice's reductions) serves every process."""

    def __init__(self, budget: int | None) -> None:
        self.budget = -1 if budget is None else budget   # -1: never equal to used, never preempt
        self.used = 0
        self.base = 0                 # reductions charged in the slices already over
        self.running: int | None = None   # the thread ident whose calls are being counted


_active: _State | None = None
# True only in the child that ``tracing_flag_experiment`` starts: switch without call_tracing.
_PLAIN_SWITCH = False


def clock() -> int:
    """The running ``run``'s reduction clock: every reduction charged so far, the caller's
    current slice included (and this call: it is a Python call too). 0 outside a run."""
    state = _active
    return 0 if state is None else state.base + state.used


def _has_greenlet() -> bool:
    try:
        import greenlet  # noqa: F401
    except ImportError:
        return False
    return True


def _resolve(backend: str, hook: str) -> tuple[str, str]:
    if backend == "auto":
        backend = "greenlet" if _has_greenlet() else "threads"
    if hook == "auto":
        hook = "monitoring" if hasattr(sys, "monitoring") else "setprofile"
    if backend not in ("greenlet", "threads"):
        raise ValueError(f"backend must be 'auto', 'greenlet' or 'threads', not {backend!r}")
    if hook not in ("setprofile", "monitoring"):
        raise ValueError(f"hook must be 'auto', 'setprofile' or 'monitoring', not {hook!r}")
    if backend == "greenlet" and not _has_greenlet():
        raise ValueError(f"backend 'greenlet' needs greenlet, which Python {sys.version.split()[0]} "
                         "here does not have; use backend='threads'")
    if hook == "monitoring" and not hasattr(sys, "monitoring"):
        raise ValueError(f"sys.monitoring needs Python 3.12+ (PEP 669); this is {sys.version.split()[0]}")
    return backend, hook


def _free_tool_id() -> int:
    """A sys.monitoring tool id nobody holds (5, 4 or 3: 0-2 are the debugger's, coverage's
    and the profiler's by convention, PEP 669)."""
    for tool in (5, 4, 3):
        if sys.monitoring.get_tool(tool) is None:
            return tool
    raise RuntimeError("sys.monitoring tool ids 3, 4 and 5 are all in use")


class _Hook:
    """Install ``on_call`` as the per-call hook: ``setprofile`` (per thread, for the threads
    that ``enter()``) or ``monitoring`` (PY_START, every thread). ``remove()`` undoes it."""

    def __init__(self, kind: str, on_call: Callable[..., None]) -> None:
        self.kind = kind
        self.on_call = on_call
        self.tool: int | None = None

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event == "call":
                on_call()
        self.profile = profile

    def install(self) -> None:
        if self.kind == "monitoring":
            mon = sys.monitoring
            self.tool = _free_tool_id()
            mon.use_tool_id(self.tool, "lessons.preemption")
            # on_call(code, offset) itself, no wrapper: one Python call per event. (setprofile's
            # wrapper above costs next to nothing beside CPython's own profile trampoline.)
            mon.register_callback(self.tool, mon.events.PY_START, self.on_call)
            mon.set_events(self.tool, mon.events.PY_START)

    def enter(self) -> None:
        """Start counting in this thread (setprofile is per thread; monitoring already is on)."""
        if self.kind == "setprofile":
            sys.setprofile(self.profile)

    def leave(self) -> None:
        if self.kind == "setprofile":
            sys.setprofile(None)

    def remove(self) -> None:
        if self.kind == "monitoring" and self.tool is not None:
            mon = sys.monitoring
            mon.set_events(self.tool, 0)
            mon.register_callback(self.tool, mon.events.PY_START, None)
            mon.free_tool_id(self.tool)
            self.tool = None


def run(processes: Mapping[str, Process], budget: int | None = CONTEXT_REDS, *,
        backend: str = "auto", hook: str = "auto", timeout: float = 300.0) -> Run:
    """Run plain functions as preemptible processes, round-robin, ``budget`` reductions a slice.

    ``processes``: name -> function of no arguments (it need not, and cannot, yield). Each
    Python function call a process makes (its own included) is one reduction; a process that
    has used ``budget`` in this slice and makes one more call is switched out *before* that
    call, which is charged in its next slice (BEAM's ``DISPATCH`` does the same). ``budget=None``
    never preempts: each process runs to its end in one slice, cooperative scheduling
    (协作式调度) of processes that never cooperate.

    ``backend``: ``"greenlet"`` (switch stacks with greenlet, through ``sys.call_tracing``) or
    ``"threads"`` (a thread per process, one at a time); ``"auto"`` prefers greenlet. ``hook``:
    ``"setprofile"`` or ``"monitoring"`` (3.12+); ``"auto"`` prefers monitoring. An exception
    in a process ends the run and is raised here after every process is stopped. ``timeout``
    (threads backend): seconds to wait for one slice before giving up.
    """
    if budget is not None and budget < 1:
        raise ValueError("budget must be a positive number of reductions, or None")
    backend, hook = _resolve(backend, hook)
    global _active
    if _active is not None:
        raise RuntimeError("run() is already running in this interpreter; runs do not nest")
    state = _State(budget)
    gc_was_enabled = gc.isenabled()
    gc.disable()       # garbage collection runs Python code (__del__) that nobody should be charged for
    _active = state
    try:
        if backend == "greenlet":
            slices, results = _run_greenlets(processes, state, hook)
        else:
            slices, results = _run_threads(processes, state, hook, timeout)
    finally:
        _active = None
        if gc_was_enabled:
            gc.enable()
    return Run(slices, results, budget, backend, hook)


def _run_greenlets(processes: Mapping[str, Process], state: _State, hook_kind: str
                   ) -> tuple[list[Slice], dict[str, Any]]:
    import greenlet

    scheduler = greenlet.getcurrent()      # this greenlet runs the loop; processes are its children
    me = threading.get_ident()
    call_tracing = sys.call_tracing
    back = scheduler.switch
    plain = _PLAIN_SWITCH

    def on_call(*_: Any) -> None:
        # Runs at every Python function start, inside CPython's hook (tstate->tracing is 1).
        if state.running != me:
            return                         # the scheduler's own calls, or another thread's
        if state.used == state.budget:
            if plain:
                back()                     # the naive way: tracing stays 1 for whoever runs next
            else:
                # Switch out with tracing at 0 for whoever runs next; when we are switched
                # back in, call_tracing returns and restores our 1 (see the essay).
                call_tracing(back, ())
        state.used += 1

    hook = _Hook(hook_kind, on_call)
    previous_profile = sys.getprofile()
    live = {name: greenlet.greenlet(fn) for name, fn in processes.items()}
    queue = deque(live)
    slices: list[Slice] = []
    results: dict[str, Any] = {}
    hook.install()
    hook.enter()
    try:
        while queue:
            name = queue.popleft()
            g = live[name]
            state.used = 0
            t0 = time.perf_counter_ns()
            state.running = me
            value = g.switch()             # returns when g is preempted (None) or returns
            state.running = None
            t1 = time.perf_counter_ns()
            outcome = "exited" if g.dead else "preempted"
            slices.append(Slice(name, state.used, state.base, outcome, t0, t1 - t0))
            state.base += state.used
            if g.dead:
                results[name] = value
                del live[name]
            else:
                queue.append(name)
    finally:
        state.running = None
        for g in live.values():            # an error ended the run: unwind the others first,
            try:                           # while the hook they are suspended in still stands
                g.throw()
            except Exception:
                pass
        hook.leave()
        hook.remove()
        sys.setprofile(previous_profile)
    return slices, results


class _Abort(BaseException):
    """Raised inside a parked process thread to unwind it when the run ends early."""


def _run_threads(processes: Mapping[str, Process], state: _State, hook_kind: str, timeout: float
                 ) -> tuple[list[Slice], dict[str, Any]]:
    names = list(processes)
    go = {name: _thread.allocate_lock() for name in names}   # held: that process may not run
    for lock in go.values():
        lock.acquire()
    back = _thread.allocate_lock()                           # released: a slice is over
    back.acquire()
    current = [""]                                           # the name of the running process
    outcome: dict[str, tuple[str, Any]] = {}
    aborting = [False]
    get_ident = threading.get_ident

    def on_call(*_: Any) -> None:
        if state.running != get_ident():
            return                       # the scheduler's thread, or one not ours
        if state.used == state.budget:
            me = current[0]
            back.release()               # the slice is over: wake the scheduler ...
            go[me].acquire()             # ... and wait for our next one
            if aborting[0]:
                raise _Abort
        state.used += 1

    hook = _Hook(hook_kind, on_call)
    profile = hook.profile if hook_kind == "setprofile" else None
    setprofile = sys.setprofile

    def body(name: str) -> None:
        go[name].acquire()               # C-level waits: no Python call, nothing charged
        if aborting[0]:
            back.release()
            return
        if profile is not None:          # not hook.enter(): a Python call here would be charged
            setprofile(profile)
        try:
            value = processes[name]()
            outcome[name] = ("value", value)
        except _Abort:
            outcome[name] = ("aborted", None)
        except BaseException as e:       # handed to the scheduler, raised by run()
            outcome[name] = ("error", e)
        finally:
            state.running = None
            setprofile(None)
            back.release()

    hook.install()
    threads = {name: threading.Thread(target=body, args=(name,), name=f"process {name}", daemon=True)
               for name in names}
    for t in threads.values():
        t.start()
    slices: list[Slice] = []
    results: dict[str, Any] = {}
    queue = deque(names)
    parked = set(names)                  # threads waiting on their go lock
    try:
        while queue:
            name = queue.popleft()
            current[0] = name
            state.used = 0
            t0 = time.perf_counter_ns()
            state.running = threads[name].ident
            parked.discard(name)
            go[name].release()
            if not back.acquire(timeout=timeout):
                raise RuntimeError(f"process {name!r} ran one slice for more than {timeout} s")
            state.running = None
            t1 = time.perf_counter_ns()
            done = name in outcome
            slices.append(Slice(name, state.used, state.base, "exited" if done else "preempted", t0, t1 - t0))
            state.base += state.used
            if done:
                kind, value = outcome[name]
                if kind == "error":
                    raise value
                results[name] = value
            else:
                parked.add(name)
                queue.append(name)
    finally:
        state.running = None
        aborting[0] = True
        for name in parked:              # unwind every thread still parked, one at a time
            go[name].release()
            back.acquire(timeout=timeout)
        for t in threads.values():
            t.join(timeout)
        hook.remove()
    return slices, results


def tracing_flag_experiment(python: str | None = None, hook: str = "auto", cost: int = 2000,
                            budget: int = 500) -> dict[str, Any]:
    """The experiment behind the essay: switch greenlets inside the hook plainly, or through
    ``sys.call_tracing``, and see what gets counted.

    Three processes of ``cost`` reductions each, ``budget`` a slice. Returns ``{"python",
    "hook", "cost", "plain_switch", "call_tracing"}``, the last two mapping each process to the
    reductions the run charged it: with a plain switch, the processes started after the first
    preemption are charged 0 (they ran uncounted, unpreempted); through ``call_tracing`` every
    one is charged ``cost``. Always runs in a fresh interpreter (``python``, default this one):
    a plain switch can leave that interpreter's tracing flag wrong. ``{"skipped": reason}``
    where greenlet is missing.
    """
    return _child(python or sys.executable, ["flag", hook, str(cost), str(budget)])


def _flag_experiment(hook: str, cost: int, budget: int) -> dict[str, Any]:
    global _PLAIN_SWITCH
    if not _has_greenlet():
        return {"skipped": f"greenlet is not installed for Python {sys.version.split()[0]}"}
    out: dict[str, Any] = {"python": sys.version.split()[0], "cost": cost}
    for key, plain in (("call_tracing", False), ("plain_switch", True)):   # the broken one last
        _PLAIN_SWITCH = plain
        r = run({name: worker(cost) for name in "abc"}, budget, backend="greenlet", hook=hook)
        out[key] = r.totals()
        out["hook"] = r.hook
    _PLAIN_SWITCH = False
    return out


# ---------------------------------------------------------------------------
# 3. The experiments: a heartbeat beside a hog
# ---------------------------------------------------------------------------


def _heartbeat_report(r: Run, log: Sequence[tuple[int, int]], hog_name: str) -> dict[str, Any]:
    hog_slices = [s for s in r.slices if s.process == hog_name]
    hog_start = hog_slices[0].start
    hog_end = hog_slices[-1].start + hog_slices[-1].reductions
    hog_t0 = hog_slices[0].t0_ns
    hog_t1 = hog_slices[-1].t0_ns + hog_slices[-1].ns
    clocks = [c for c, _ in log]
    stamps = [r.slices[0].t0_ns] + [ns for _, ns in log]     # the run's start counts as a beat
    gaps = [b - a for a, b in zip(clocks, clocks[1:])]
    silences = [b - a for a, b in zip(stamps, stamps[1:])]
    return {
        "python": r.python, "backend": r.backend, "hook": r.hook, "budget": r.budget,
        "trace": r.trace(), "fairness": r.fairness(),
        "beats": len(log),
        # beats whose reduction clock lies inside the hog's life: deterministic
        "beats_during_hog": sum(hog_start < c < hog_end for c in clocks),
        "max_gap_reductions": max(gaps, default=0),
        "hog_reductions": r.totals()[hog_name],
        "hog_slices": len(hog_slices),
        # wall clock: varies from run to run, for printing
        "hog_ms": (hog_t1 - hog_t0) / 1e6,
        "longest_hog_slice_ms": max(s.ns for s in hog_slices) / 1e6,
        "longest_silence_ms": max(silences, default=0) / 1e6,
        "beat_clocks": clocks,
    }


def _heartbeat_run(hog_fn: Process, budget: int | None, beats: int, work: int, backend: str,
                   hook: str) -> dict[str, Any]:
    beat_fn, log = heartbeat(beats, work)
    # The hog goes first, as if it had been started just before the heartbeat: without
    # preemption the heartbeat cannot beat until the hog has finished.
    r = run({"hog": hog_fn, "heartbeat": beat_fn}, budget, backend=backend, hook=hook)
    return _heartbeat_report(r, log, "hog")


def starvation(budget: int | None = CONTEXT_REDS, hog_n: int = 22, beats: int = 250, work: int = 199,
               *, backend: str = "auto", hook: str = "auto", python: str | None = None) -> dict[str, Any]:
    """A pure-Python hog (``fib(hog_n)``) beside a heartbeat, neither of which ever yields.

    Returns ``trace`` (the slices), ``fairness``, ``beats``, ``beats_during_hog`` (beats whose
    reduction clock fell between the hog's first and last reduction: > 0 under preemption, 0
    with ``budget=None``), ``max_gap_reductions`` (the most reductions between two beats: at
    most one hog slice plus one beat's work), and wall-clock numbers to print (``hog_ms``,
    ``longest_silence_ms``). ``python``: run it in a fresh interpreter of that path.
    """
    if python is not None:
        return _tuples(_child(python, ["starvation", _opt(budget), str(hog_n), str(beats), str(work),
                                       backend, hook]))
    return _heartbeat_run(hog(hog_n), budget, beats, work, backend, hook)


def c_call_limit(budget: int | None = CONTEXT_REDS, c_n: int = 10**7, beats: int = 250, work: int = 199,
                 *, backend: str = "auto", hook: str = "auto", python: str | None = None) -> dict[str, Any]:
    """The measured limit: a hog that spends its time in ONE C call (``sum(range(c_n))``).

    Same report as ``starvation``. The hog is charged 1 reduction (``hog_reductions``) and
    runs in one slice however long it takes (``hog_ms``); no beat falls inside it
    (``beats_during_hog == 0``) and the heartbeat's ``longest_silence_ms`` is at least the
    hog's whole C call, preemption on or off.
    """
    if python is not None:
        return _tuples(_child(python, ["c_call_limit", _opt(budget), str(c_n), str(beats), str(work),
                                       backend, hook]))
    return _heartbeat_run(c_hog(c_n), budget, beats, work, backend, hook)


# ---------------------------------------------------------------------------
# 4. What the counting costs
# ---------------------------------------------------------------------------


def _fib_calls(n: int) -> int:
    a, b = 0, 1                  # fib(n) makes 2 * fib(n + 1) - 1 calls
    for _ in range(n + 1):
        a, b = b, a + b
    return 2 * a - 1


def _loop(n: int, loops: int) -> Process:
    def body() -> None:
        for _ in range(loops):
            fib(n)
    return body


def counting_cost(n: int = 20, loops: int = 10, repeats: int = 5, *, backend: str = "auto",
                  python: str | None = None) -> dict[str, Any]:
    """How much slower the hog runs when every call is counted, measured in one run.

    The hog is ``loops`` times ``fib(n)``. Modes, timed in turn ``repeats`` times (A, B, C, A,
    B, C, ...: a change in the machine's load hits all alike): ``bare`` (called directly),
    ``count/<hook>`` (under ``run`` with ``budget=None``: counted, never preempted) and
    ``preempt/<hook>`` (``budget=CONTEXT_REDS``: counted, and switched out to the scheduler
    and back every 4000 calls, even alone), for each hook this interpreter has. Returns ``{"python", "backend", "calls", "rows"}``; each row has the
    median ``cpu_s`` and ``wall_s``, ``calls_per_s`` (CPU) and ``slowdown`` (its CPU time over
    bare's: > 1 means counting costs). CPU time, so the ratio holds on a busy machine.
    """
    if python is not None:
        return _child(python, ["cost", str(n), str(loops), str(repeats), backend])
    backend, _ = _resolve(backend, "auto")
    hooks = ["setprofile"] + (["monitoring"] if hasattr(sys, "monitoring") else [])
    body = _loop(n, loops)
    modes: list[tuple[str, Callable[[], Any]]] = [("bare", body)]
    for h in hooks:
        modes.append((f"count/{h}", lambda h=h: run({"hog": body}, None, backend=backend, hook=h)))
        modes.append((f"preempt/{h}", lambda h=h: run({"hog": body}, CONTEXT_REDS, backend=backend, hook=h)))
    cpu: dict[str, list[float]] = {m: [] for m, _ in modes}
    wall: dict[str, list[float]] = {m: [] for m, _ in modes}
    gc_was_enabled = gc.isenabled()
    gc.disable()                     # as run() does, so that bare runs under the same rules
    try:
        for _ in range(repeats):
            for name, fn in modes:
                c0, w0 = time.process_time(), time.perf_counter()
                fn()
                cpu[name].append(time.process_time() - c0)
                wall[name].append(time.perf_counter() - w0)
    finally:
        if gc_was_enabled:
            gc.enable()
    calls = loops * _fib_calls(n) + 1
    rows = []
    bare_cpu = statistics.median(cpu["bare"])
    for name, _ in modes:
        c = statistics.median(cpu[name])
        rows.append({"mode": name, "cpu_s": c, "wall_s": statistics.median(wall[name]),
                     "calls_per_s": calls / c if c else float("inf"),
                     "slowdown": c / bare_cpu if bare_cpu else float("nan")})
    return {"python": sys.version.split()[0], "backend": backend, "calls": calls, "rows": rows}


def lesson_pythons() -> list[str]:
    """The interpreters the lesson compares: every one ``lessons.pythons`` finds, with the
    free-threaded 3.13 replaced by its venv (which has greenlet) when ``make freethreaded``
    made one."""
    from . import freethreaded, pythons

    venv = freethreaded.find(venv=True)
    out = []
    for i in pythons.interpreters():
        out.append(str(venv) if i.free_threaded and venv is not None else i.path)
    return out


def cost_by_version(n: int = 20, loops: int = 10, repeats: int = 5,
                    pythons_: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """``counting_cost`` in a fresh process of each interpreter (default ``lesson_pythons()``),
    with ``capabilities`` merged in; an interpreter that fails gives ``{"python", "skipped"}``."""
    out = []
    for path in pythons_ if pythons_ is not None else lesson_pythons():
        try:
            got = counting_cost(n, loops, repeats, python=path)
            got.update({"path": path, **{k: v for k, v in capabilities(path).items() if k != "python"}})
        except (RuntimeError, subprocess.SubprocessError) as e:
            got = {"python": path, "skipped": str(e).splitlines()[-1]}
        out.append(got)
    return out


def capabilities(python: str | None = None) -> dict[str, Any]:
    """What the interpreter at ``python`` (default: this one) offers: ``greenlet`` (its version
    or None), ``monitoring`` (sys.monitoring, 3.12+), ``free_threaded`` (a build without the
    GIL, PEP 703), ``gil`` (is it on now: importing greenlet turns it back on), and what
    ``"auto"`` picks there (``backend``, ``hook``)."""
    if python is not None:
        return _child(python, ["capabilities"])
    try:
        import greenlet
        version: str | None = greenlet.__version__
    except ImportError:
        version = None
    backend, hook = _resolve("auto", "auto")
    import sysconfig
    return {"python": sys.version.split()[0], "greenlet": version, "monitoring": hasattr(sys, "monitoring"),
            "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
            "gil": getattr(sys, "_is_gil_enabled", lambda: True)(), "backend": backend, "hook": hook}


# ---------------------------------------------------------------------------
# 5. Rust's poll/waker protocol, driven by hand
# ---------------------------------------------------------------------------


def poll_waker_trace() -> list[tuple[str, str]]:
    """One future, one task, polled (轮询) by hand: who called what, as ``(actor, what)`` pairs.

    Not an executor (task 12.2 builds that): one poll, one wake, one poll, in the order Rust's
    contract prescribes (stable since Rust 1.36; ``core/src/future/future.rs``,
    ``Future::poll``): a future that is not
    ready returns ``Poll::Pending`` and stores a clone of the ``Waker`` (唤醒器) from its ``Context``;
    whoever makes progress possible calls ``wake()`` (``core/src/task/wake.rs``: each wake is
    followed by at least one poll); only then is the future polled again. Nobody polls in
    between: an executor with nothing woken sleeps.
    """
    trace: list[tuple[str, str]] = []
    woken: list[str] = []

    class Waker:
        def __init__(self, task: str) -> None:
            self.task = task

        def wake(self, by: str) -> None:
            trace.append((by, f"waker.wake() -> {self.task} is runnable again"))
            woken.append(self.task)

    class OneValue:                            # a future: Ready once someone delivers a value
        def __init__(self) -> None:
            self.value: int | None = None
            self.waker: Waker | None = None

        def poll(self, waker: Waker) -> tuple[str, int | None]:
            if self.value is None:
                self.waker = waker             # keep the waker: the one way back
                trace.append(("future", "poll() -> Pending, waker stored"))
                return ("Pending", None)
            trace.append(("future", f"poll() -> Ready({self.value})"))
            return ("Ready", self.value)

        def deliver(self, value: int, by: str) -> None:
            trace.append((by, f"delivers {value}"))
            self.value = value
            if self.waker is not None:
                self.waker.wake(by)

    fut, waker = OneValue(), Waker("task-1")
    trace.append(("executor", "polls task-1"))
    fut.poll(waker)
    if not woken:
        trace.append(("executor", "nothing is woken: sleeps until a wake, polls nothing"))
    fut.deliver(42, "timer")                   # an event source: a timer, a socket, a thread
    task = woken.pop()
    trace.append(("executor", f"wakes up: {task} was woken, polls it"))
    fut.poll(waker)
    return trace


# ---------------------------------------------------------------------------
# The command line a fresh interpreter runs
# ---------------------------------------------------------------------------


def _tuples(report: dict[str, Any]) -> dict[str, Any]:
    """JSON made the trace's tuples lists: make them tuples again, as in this process."""
    report["trace"] = [tuple(t) for t in report["trace"]]
    return report


def _opt(budget: int | None) -> str:
    return "none" if budget is None else str(budget)


def _child(python: str, args: Sequence[str], timeout: float = 600.0) -> Any:
    """``lessons.preemption.main(args)`` in a fresh interpreter ``python``; its JSON answer."""
    done = subprocess.run(probe.command("preemption", args, python=python), capture_output=True,
                          text=True, env=probe.child_env(), timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"preemption {' '.join(args)!r} under {python} failed:\n{done.stderr.strip()}")
    return probe.last_json_line(done.stdout)


def main(argv: Sequence[str] | None = None) -> None:
    """``starvation|c_call_limit BUDGET N BEATS WORK BACKEND HOOK``, ``cost N LOOPS REPEATS
    BACKEND``, ``run BUDGET BACKEND HOOK NAME=COST...`` or ``capabilities``; one JSON line."""
    args = list(sys.argv[1:] if argv is None else argv)
    what = args.pop(0)
    if what in ("starvation", "c_call_limit"):
        budget = None if args[0] == "none" else int(args[0])
        fn = starvation if what == "starvation" else c_call_limit
        result: Any = fn(budget, int(args[1]), int(args[2]), int(args[3]), backend=args[4], hook=args[5])
    elif what == "cost":
        result = counting_cost(int(args[0]), int(args[1]), int(args[2]), backend=args[3])
    elif what == "run":
        budget = None if args[0] == "none" else int(args[0])
        procs = {spec.split("=")[0]: worker(int(spec.split("=")[1])) for spec in args[3:]}
        result = run(procs, budget, backend=args[1], hook=args[2]).to_json()
    elif what == "flag":
        result = _flag_experiment(args[0], int(args[1]), int(args[2]))
    elif what == "capabilities":
        result = capabilities()
    else:
        raise SystemExit(f"lessons.preemption: unknown command {what!r}")
    print(json.dumps(result))
