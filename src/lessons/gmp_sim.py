"""A discrete-event simulator of Go's G-M-P scheduler, rule by rule from the Go 1.27.3 runtime.

Lessons 10 and 11 print ``GODEBUG=schedtrace`` lines from this model beside real Go's.  It is a
*model*: every rule below names the function of ``src/runtime/proc.go`` (or ``runtime2.go``,
``chan.go``, ``netpoll_epoll.go``) it imitates, and nothing else decides what happens.  It is
deterministic: the same ``seed`` gives the same events, spans and SCHED lines, byte for byte.
Time is integer nanoseconds of simulated time, starting at 0 when ``main.main`` starts.

The objects (``runtime2.go``)
-----------------------------
* **G** (``type g``): a goroutine, here a Python generator that yields *ops* (``Run``, ``Go``,
  ``Send``, ...).  Statuses as in ``runtime2.go``: ``_Gidle`` 0, ``_Grunnable`` 1, ``_Grunning``
  2, ``_Gsyscall`` 3, ``_Gwaiting`` 4, ``_Gdead`` 6.  ``waitreason`` strings are Go's ("chan
  receive", "sleep", "IO wait", ...) and, as in Go, stay set until the G dies (``gdestroy``).
* **P** (``type p``): ``_Pidle`` 0, ``_Prunning`` 1, ``_Psyscall`` 2 (``version="1.24"`` only),
  ``_Pgcstop`` 3 (never used: no GC).  Each P has a 256-slot ring ``runq`` plus ``runnext``,
  ``schedtick``, ``syscalltick``, ``sysmontick`` (sysmon's last look), a timer heap and a free-G
  list (``gFree``, so ``gfreecnt`` in scheddetail is Go's number).
* **M** (``type m``): a thread.  An M is running (holds a P), spinning (``m.spinning``), idle (on
  ``sched.midle``, a LIFO list, ``mput``/``mget``), in a syscall, blocked in the netpoller, or
  sysmon (its own M with no P).
* **schedt**: the global run queue, ``pidle`` (LIFO, ``pidleput``/``pidleget``), ``npidle``,
  ``nmspinning``, ``needspinning``, ``lastpoll``, ``pollUntil``, ``sysmonwait``.

The start: the state right after the runtime's init, when ``main.main`` runs: M0 runs G1 on P0;
M1 is sysmon (``runtime.main`` starts it first, ``newm(sysmon, nil, -1)``); two more Ms sit idle
(with ``GOMAXPROCS=1`` one), the ones the init made: one started by ``wakep`` when ``gcenable``
said ``go bgsweep()``, one by ``handoffp`` when the main goroutine, locked to M0 during init,
blocked waiting for it.  So ``threads=4`` (3 with one P) from the first line, as real Go shows
once its init is over; Go's very first line, printed *during* init, may still say 2 or 3.
G numbering: G1 is main and the Gs it (or anything) starts are G2, G3, ... in order.  Real Go
also has system goroutines (G2 forcegc, bgsweep, bgscavenge, ...) and hands out ids from per-P
caches of 16 (``pp.goidcache``), so a real program's first ``go`` gets an id like 6, 18 or 34;
the model skips both so lessons can name Gs.  It keeps Go's reuse of dead G structs
(``gfput``/``gfget``: 64 free Gs on a P move down to 31, the rest go to the global free list).

The rules (file ``proc.go`` unless named)
------------------------------------------
1. **go statement** (``newproc``): the new G goes to ``runqput(pp, newg, next=true)`` on the
   creator's P, then ``wakep()`` (``mainStarted`` is true in the model from the start).
2. **runqput**: ``next=true`` puts the G in ``runnext`` and kicks the old ``runnext`` to the ring's
   tail.  A full ring (256) goes to ``runqputslow``: the oldest half (128) plus the new G move to
   the global queue, in that order (129 at once).
3. **runqget**: ``runnext`` first, with ``inheritTime=true``; else the ring's head.
   **execute** increments ``pp.schedtick`` only when ``inheritTime`` is false, so a G run from
   ``runnext`` shares its predecessor's time slice.
4. **schedule → findRunnable**, in this order: the P's timers (``pp.timers.check``); every 61st
   schedtick (``pp.schedtick%61 == 0``) one G from a non-empty global queue (``globrunqget``);
   the local queue (``runqget``); a global batch (``globrunqgetbatch(len(pp.runq)/2)``: n =
   min(128, size, size/gomaxprocs+1), run the first, the rest onto the local ring
   (``runqputbatch``)); the netpoller without blocking (``netpoll(0)``, if anyone waits on it and
   no M is blocked in it), the first ready G run, the rest through ``injectglist``; stealing
   (rule 5), only if ``mp.spinning || 2*nmspinning < gomaxprocs-npidle`` (``becomeSpinning``
   otherwise); then the global queue once more, the "delicate dance" (a non-spinning M with
   ``needspinning == 1`` spins instead of dropping), ``releasep`` + ``pidleput``, and a spinning
   M rechecks the global queue, every P's queue (``checkRunqsNoP``) and the timers
   (``checkTimersNoP``); then it blocks in the netpoller if nobody does and there is something
   to wait for (network waiters or a timer), else ``stopm`` (onto the idle M list).
5. **stealWork**: ``stealTries = 4`` rounds, each over all Ps in a random order (Go's
   ``randomOrder``: a start ``r % n`` and a step coprime with n; ``r`` comes here from
   ``random.Random(seed)`` instead of ``cheaprand``), skipping itself and idle Ps.  The last
   round also runs the victims' due timers (onto the thief's P) and may take ``runnext``.
   **runqgrab** takes ``n - n/2`` Gs from the victim's head (the larger half); **runqsteal**
   puts them on the thief's ring and runs the last one.  Before taking the ``runnext`` of a
   running P whose G is not in a syscall it sleeps ``usleep(3)`` and takes it only if it is
   still there (else it retries the grab), as ``runqgrab`` does.
6. **Spinning**: ``wakep`` starts an M only if ``nmspinning == 0`` and an idle P exists
   (``pidlegetSpinning``; none: ``needspinning = 1``); **startm** takes an idle M
   (``mget``) or creates one (``newm``: ``threads=`` is ``mcount()``, all Ms ever made, M0 and
   sysmon included); **resetspinning**: an M that stops spinning because it found work calls
   ``wakep`` again, so work spreads one P at a time.
7. **Channels** (``chan.go``): a send to a waiting receiver (or a receive from a waiting sender)
   copies the value and readies the other G: ``goready`` → ``ready`` → ``runqput(pp, gp,
   next=true)`` + ``wakep``.  Buffered channels queue up to ``cap`` values; ``close`` readies
   every waiter (last queued first, as ``closechan``'s gList does), receivers get ``None`` (the
   zero value), blocked senders panic.  **WaitGroup** (``sync``): ``Wait`` parks
   ("sync.WaitGroup.Wait"); the ``Done`` that reaches 0 readies the waiters in order
   (``semrelease`` → ``readyWithTime`` → ``goready``).
8. **Gosched and preemption** (``goschedImpl``): the G goes to the **global** queue
   (``globrunqput``), then ``wakep`` and ``schedule``; ``gopreempt_m`` is the same path.
9. **sysmon** (its own M, no P): sleeps ``usleep(delay)`` with delay 20 µs while
   ``idle == 0``, doubled each round once ``idle > 50``, at most 10 ms; ``idle`` resets when
   ``retake`` took something, else grows.  When every P is idle and schedtrace is off it sleeps
   until the next timer (``sysmonwait``; woken early by syscall entry/exit).  Each round: the
   network (``netpoll(0)`` + ``injectglist`` if nobody polled for 10 ms), ``retake``, then
   ``schedtrace`` every ``schedtrace_ms`` (lines are printed by sysmon, so a line is as late as
   its tick, like Go's "SCHED 109ms").
10. **retake**: a P whose ``schedtick`` has not moved for ``forcePreemptNS`` (10 ms) since sysmon
    first saw that value gets ``preemptone``: ``gp.preempt = true``; with ``asyncpreempt`` the
    G stops at once (SIGURG, ``preemptM``, Go 1.14; after ``async_preempt_ns``), without it at its
    next function call: a ``Run(ns, calls=True)`` segment makes calls all the time and stops
    after ``call_preempt_ns``, a ``Run(ns, calls=False)`` segment (``for {}``) only when it ends,
    at the next op.  A P in a syscall is taken if its ``syscalltick`` is unchanged since the
    last tick (so after at least one 20 µs tick) and it has local work, or no M spins and no P
    is idle, or it has been there 10 ms: ``takeP`` then ``handoffp``.
11. **handoffp**: start an M for the P if it has local work or the global queue has some; else
    a spinning M if nobody spins and no P is idle; else one if it is the last running P and
    nobody polls the network; else the P goes idle (``wakeNetPoller`` for its timers).
12. **Syscalls**, Go 1.27 (``reentersyscall``): the G goes to ``_Gsyscall``, the P stays
    ``_Prunning``, wired to the M; retake takes it with ``setBlockOnExitSyscall`` + ``takeP``.
    ``exitsyscall``: P still ours → go on (fast path); else ``exitsyscallTryGetP``: the old P if
    another M holds it in a syscall, else an idle P; else ``exitsyscallNoP``: the G goes to the
    global queue (unless an idle P turned up) and the M ``stopm``s.  ``version="1.24"``: the P
    goes to ``_Psyscall`` with no M (``p.m == nil``: scheddetail shows ``status=2 ... m=nil``);
    ``exitsyscallfast`` CASes it back from ``_Psyscall`` or takes an idle P, else
    ``exitsyscall0`` (the same as ``exitsyscallNoP``).  Who may take the P is the same in
    both: only sysmon's retake.
13. **Timers**: ``Sleep(ns)`` adds a timer to the current P's heap (``timerslen``) and parks
    ("sleep"); adding one calls ``wakeNetPoller`` (``netpollBreak`` if the poller sleeps past
    it, else ``wakep``).  Timers run only where Go runs them: ``findRunnable``'s check of its
    own P, the last steal round on other Ps (the readied G goes to the *thief's* P), and an M
    that blocked in the netpoller until the earliest timer (``pollUntil``).  So a timer on a P
    busy with a long G waits for that P's next schedule, as in Go.
14. **Netpoller** (``netpoll_epoll.go``): ``NetWait(ns)`` parks ("IO wait") until ``ns`` later.
    It is readied by ``findRunnable``'s ``netpoll(0)``, by sysmon's, or by the M blocked in
    ``netpoll(delay)``, which wakes when a waiter is ready, on ``netpollBreak``, or at its
    timeout, which ``epoll_wait`` takes in whole milliseconds (< 1 ms → 1 ms).
15. **Program end**: when main returns the program exits, whatever else runs (as in Go); when
    every M is idle and no timer is pending, ``checkdead``'s "all goroutines are asleep -
    deadlock!" (``sim.fatal``).

Costs (assumptions, all ``Sim`` keyword arguments, ns): ``switch_ns=100`` (schedule + execute +
gogo), ``chan_ns=30`` (one channel or WaitGroup op), ``newproc_ns=120`` (a ``go`` statement),
``steal_ns=100`` (looking at one victim P), ``netpoll_ns=300`` (``epoll_wait(0)``),
``syscall_ns=100`` (entersyscall + exitsyscall), ``futex_ns=500`` (what waking a thread costs
the waker: ``notewakeup``, ``netpollBreak``, ``clone``), ``wake_ns=5_000`` (until a woken M
runs), ``newm_ns=15_000`` (until a new thread runs), ``async_preempt_ns=5_000`` (SIGURG to
``asyncPreempt``), ``call_preempt_ns=200``, ``usleep_slack_ns=50_000``: Linux's default timer
slack for normal threads, so sysmon's ``usleep(20)`` lasts ~70 µs and runqgrab's ``usleep(3)``
~53 µs, as measured on real Go (set it to 0 for exact sleeps).  Compare shapes with real Go,
never times.

Left out on purpose: the garbage collector (no GC workers, no stop-the-world, no ``_Pgcstop``,
``gcwaiting=false``), ``GOMAXPROCS`` changes (``procresize``) and the cgroup-aware default,
timer details (one heap per P of plain deadlines, no timer stealing between heaps, no
``adjusttimers``), lock contention (``sched.lock`` is free and every step is atomic), the
kernel's own scheduling of threads (an M with a P always has a CPU), cgo, ``LockOSThread``
(``lockedg``/``lockedm`` print nil), ``entersyscallblock``, the race detector's
``randomizeScheduler``, ``select``, tracing, profiling, the finalizer and system goroutines.
scheddetail prints what Go would print where the model has no such thing: ``mallocing=0
throwing=0 preemptoff= dying=0``, ``locks=0`` (sysmon's M, which prints the lines while holding
``sched.sysmonlock`` and ``sched.lock``, shows 32 in 1.27, whose mutexes count 16 each, and 2 in
1.24), ``gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false``.

The API: a goroutine is a generator function; it yields ops and gets each op's result back:
``Run(ns, calls=True)``, ``Go(fn, *args)`` (→ the new G's id), ``Send(ch, v)``, ``Recv(ch)``
(→ the value), ``Close(ch)`` on a ``Chan(cap)``; ``Syscall(ns)``, ``Sleep(ns)``,
``NetWait(ns)``, ``Gosched()``, ``Now()`` (→ the simulated time); ``wg.Add(n)``, ``wg.Done()``,
``wg.Wait()`` on a ``WaitGroup()``.  ``Sim.go(main, *args)`` makes G1; ``Sim.run(until_ns,
schedtrace_ms, scheddetail)`` returns the SCHED lines sysmon printed; main's return value is
``sim.result``.  ``sim.step()`` hands out one ``Event`` at a time (``sim.events`` has them all;
kinds: ``EVENT_KINDS``), ``sim.snapshot()`` the state as JSON, ``sim.schedtrace_line()`` the
state in Go's format, ``sim.describe()`` as a picture in text, ``sim.stats`` the counters,
``sim.spans()`` the timeline (``plot_timeline(sim)`` draws it), ``stepper()`` an ipywidgets
stepper.  ``scenarios.spawn``, ``pingpong``, ``blocked_syscall``, ``tight_loop`` and
``fairness`` return ``(main, args)`` pairs (``scenarios.DEFAULTS`` says which GOMAXPROCS each is
meant for; ``scenarios.sim(name)`` builds that Sim).

Example::

    from lessons import gmp_sim as gs

    def worker(n):
        yield gs.Run(50_000)                     # 50 µs of CPU, with function calls
        yield gs.Sleep(1_000_000)                # time.Sleep(time.Millisecond)

    def main():
        for i in range(8):
            gid = yield gs.Go(worker, i)         # the new G's id
        yield gs.Sleep(5_000_000)

    sim = gs.Sim(gomaxprocs=2, seed=1)
    sim.go(main)                                 # G1
    lines = sim.run(schedtrace_ms=1)             # ['SCHED 0ms: gomaxprocs=2 idleprocs=0 ...', ...]
    sim.stats["steals"], sim.spans()[:3], sim.snapshot()["ps"][0]["runq"]
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable, Iterator
from math import gcd
from typing import Any, NamedTuple

__all__ = [
    "Sim", "Event", "GoPanic", "Chan", "WaitGroup",
    "Run", "Go", "Send", "Recv", "Close", "Syscall", "Sleep", "NetWait", "Gosched", "Now",
    "WgAdd", "WgWait", "scenarios", "plot_timeline", "stepper", "EVENT_KINDS",
]

# --- statuses, as in runtime2.go -------------------------------------------------------------
_Gidle, _Grunnable, _Grunning, _Gsyscall, _Gwaiting, _Gdead = 0, 1, 2, 3, 4, 6
_Pidle, _Prunning, _Psyscall, _Pgcstop = 0, 1, 2, 3
G_STATUS = {_Gidle: "_Gidle", _Grunnable: "_Grunnable", _Grunning: "_Grunning",
            _Gsyscall: "_Gsyscall", _Gwaiting: "_Gwaiting", _Gdead: "_Gdead"}
P_STATUS = {_Pidle: "_Pidle", _Prunning: "_Prunning", _Psyscall: "_Psyscall", _Pgcstop: "_Pgcstop"}

FORCE_PREEMPT_NS = 10 * 1000 * 1000      # forcePreemptNS
FORCEGC_PERIOD = 2 * 60 * 10**9          # forcegcperiod (sysmon's longest deep sleep is half)
_INF = 1 << 62
_heappush = heapq.heappush

# --- event kinds (Event.kind) ------------------------------------------------------------------
EV_RUN = "run"                    # execute(): a G starts running on a P (detail: where it came from)
EV_GO = "go"                      # newproc
EV_PARK = "park"                  # gopark (detail: the wait reason)
EV_READY = "ready"                # goready / injectglist: the G is runnable again
EV_GOSCHED = "gosched"            # runtime.Gosched → the global queue
EV_PREEMPT_REQUEST = "preempt_request"   # sysmon's preemptone
EV_PREEMPT = "preempt"            # gopreempt_m: the G stopped and went to the global queue
EV_EXIT = "goexit"                # goexit0
EV_STEAL = "steal"                # runqsteal took Gs (detail: how many, from which P)
EV_GLOBAL_FAIR = "global_fair"    # the 1/61 check took a G from the global queue
EV_GLOBAL_BATCH = "global_batch"  # globrunqgetbatch
EV_RUNQ_OVERFLOW = "runq_overflow"  # runqputslow: 128 + 1 Gs to the global queue
EV_SPIN = "spin"                  # an M becomes spinning
EV_WAKEP = "wakep"                # wakep found an idle P and starts a spinning M
EV_STARTM = "startm"              # startm woke an idle M
EV_NEWM = "newm"                  # startm created a thread
EV_STOPM = "stopm"                # an M parks on the idle list
EV_IDLE_P = "idle_p"              # pidleput from findRunnable (the P has nothing to run)
EV_SYSCALL_ENTER = "syscall_enter"
EV_SYSCALL_EXIT = "syscall_exit"  # detail: fast / oldp / idle p / no p (global queue)
EV_HANDOFF = "handoff"            # retake took a P from a syscall and handoffp'd it
EV_NETPOLL = "netpoll"            # some netpoll returned Gs (detail: who polled, how many)
EV_NETPOLL_BLOCK = "netpoll_block"  # an M blocks in netpoll(delay)
EV_TIMER = "timer"                # a timer ran and readied its G
EV_DEADLOCK = "deadlock"
EV_PROGRAM_EXIT = "program_exit"  # main returned
EVENT_KINDS = (EV_RUN, EV_GO, EV_PARK, EV_READY, EV_GOSCHED, EV_PREEMPT_REQUEST, EV_PREEMPT,
               EV_EXIT, EV_STEAL, EV_GLOBAL_FAIR, EV_GLOBAL_BATCH, EV_RUNQ_OVERFLOW, EV_SPIN,
               EV_WAKEP, EV_STARTM, EV_NEWM, EV_STOPM, EV_IDLE_P, EV_SYSCALL_ENTER,
               EV_SYSCALL_EXIT, EV_HANDOFF, EV_NETPOLL, EV_NETPOLL_BLOCK, EV_TIMER, EV_DEADLOCK,
               EV_PROGRAM_EXIT)


class Event(NamedTuple):
    """One thing the scheduler did at ``t_ns``; ``p``, ``m``, ``g`` are ids or None."""

    t_ns: int
    kind: str
    p: int | None
    m: int | None
    g: int | None
    detail: str


class GoPanic(RuntimeError):
    """A Go panic in a simulated goroutine (send on a closed channel, negative WaitGroup...)."""


# --- ops: what a goroutine's generator yields --------------------------------------------------
K_RUN, K_GO, K_SEND, K_RECV, K_CLOSE, K_SYSCALL, K_SLEEP, K_NETWAIT, K_GOSCHED, K_WGADD, \
    K_WGWAIT, K_NOW = range(12)


class Op:
    """Base of the ops; the value a generator gets back from ``yield op`` is the op's result."""

    __slots__ = ()
    kind = -1


class Run(Op):
    """Compute for ``ns``.  ``calls=False``: a loop with no function call, which only
    asynchronous preemption can stop before it ends."""

    __slots__ = ("ns", "calls")
    kind = K_RUN

    def __init__(self, ns: int, calls: bool = True) -> None:
        self.ns = int(ns)
        self.calls = calls

    def __repr__(self) -> str:
        return f"Run({self.ns}, calls={self.calls})"


class Go(Op):
    """``go fn(*args)``; result: the new G's id."""

    __slots__ = ("fn", "args")
    kind = K_GO

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self.fn = fn
        self.args = args

    def __repr__(self) -> str:
        return f"Go({getattr(self.fn, '__name__', self.fn)})"


class Chan:
    """``make(chan T, cap)``.  ``ch.send(v)``, ``ch.recv()``, ``ch.close()`` make the ops."""

    __slots__ = ("cap", "buf", "recvq", "sendq", "closed")

    def __init__(self, cap: int = 0) -> None:
        self.cap = cap
        self.buf: deque[Any] = deque()
        self.recvq: deque[G] = deque()
        self.sendq: deque[tuple[G, Any]] = deque()
        self.closed = False

    def send(self, value: Any) -> Send:
        return Send(self, value)

    def recv(self) -> Recv:
        return Recv(self)

    def close(self) -> Close:
        return Close(self)

    def __repr__(self) -> str:
        return f"Chan(cap={self.cap}, len={len(self.buf)}, closed={self.closed})"


class Send(Op):
    """``ch <- value``."""

    __slots__ = ("ch", "value")
    kind = K_SEND

    def __init__(self, ch: Chan, value: Any = None) -> None:
        self.ch = ch
        self.value = value


class Recv(Op):
    """``<-ch``; result: the value (``None`` from a closed, drained channel)."""

    __slots__ = ("ch",)
    kind = K_RECV

    def __init__(self, ch: Chan) -> None:
        self.ch = ch


class Close(Op):
    """``close(ch)``."""

    __slots__ = ("ch",)
    kind = K_CLOSE

    def __init__(self, ch: Chan) -> None:
        self.ch = ch


class Syscall(Op):
    """A raw blocking system call of ``ns`` (``syscall.Syscall``: the M blocks with its G)."""

    __slots__ = ("ns",)
    kind = K_SYSCALL

    def __init__(self, ns: int) -> None:
        self.ns = int(ns)


class Sleep(Op):
    """``time.Sleep(ns)``: park on a timer of the current P."""

    __slots__ = ("ns",)
    kind = K_SLEEP

    def __init__(self, ns: int) -> None:
        self.ns = int(ns)


class NetWait(Op):
    """Block on the netpoller (a read on a socket) until it is ready ``ns`` later."""

    __slots__ = ("ns",)
    kind = K_NETWAIT

    def __init__(self, ns: int) -> None:
        self.ns = int(ns)


class Gosched(Op):
    """``runtime.Gosched()``: to the global queue, and schedule."""

    __slots__ = ()
    kind = K_GOSCHED


class Now(Op):
    """Result: the current simulated time, ns (``time.Now``, for measuring inside a program)."""

    __slots__ = ()
    kind = K_NOW


class WaitGroup:
    """``sync.WaitGroup``: ``wg.Add(n)``, ``wg.Done()``, ``wg.Wait()`` make the ops."""

    __slots__ = ("count", "waiters")

    def __init__(self) -> None:
        self.count = 0
        self.waiters: deque[G] = deque()

    def Add(self, n: int) -> WgAdd:  # noqa: N802 - Go's name
        return WgAdd(self, n)

    def Done(self) -> WgAdd:  # noqa: N802
        return WgAdd(self, -1)

    def Wait(self) -> WgWait:  # noqa: N802
        return WgWait(self)


class WgAdd(Op):
    """``wg.Add(n)`` (``wg.Done()`` is ``WgAdd(wg, -1)``)."""

    __slots__ = ("wg", "n")
    kind = K_WGADD

    def __init__(self, wg: WaitGroup, n: int) -> None:
        self.wg = wg
        self.n = n


class WgWait(Op):
    """``wg.Wait()``."""

    __slots__ = ("wg",)
    kind = K_WGWAIT

    def __init__(self, wg: WaitGroup) -> None:
        self.wg = wg


# --- the runtime's objects ---------------------------------------------------------------------
class G:
    __slots__ = ("goid", "status", "gen", "m", "waitreason", "val", "exc", "rem", "run_until",
                 "calls", "preempt", "span_start", "span_p", "sys_start", "queued_at")

    def __init__(self) -> None:
        self.goid = 0
        self.status = _Gidle
        self.gen: Any = None
        self.m: M | None = None
        self.waitreason = ""
        self.val: Any = None
        self.exc: BaseException | None = None
        self.rem = 0            # what is left of a Run segment that was preempted
        self.run_until = 0      # end of the Run segment in progress (0: none)
        self.calls = True
        self.preempt = False    # gp.preempt (stackguard0 = stackPreempt)
        self.span_start = -1
        self.span_p = -1
        self.sys_start = -1
        self.queued_at = 0

    def __repr__(self) -> str:
        return f"G{self.goid}({G_STATUS.get(self.status, self.status)})"


class P:
    __slots__ = ("id", "status", "m", "runq", "runnext", "schedtick", "syscalltick",
                 "pd_schedtick", "pd_schedwhen", "pd_syscalltick", "pd_syscallwhen", "timers",
                 "gfree", "preempt", "idle")

    def __init__(self, pid: int) -> None:
        self.id = pid
        self.status = _Pidle
        self.m: M | None = None
        self.runq: deque[G] = deque()     # the 256-slot ring (len() is runqtail - runqhead)
        self.runnext: G | None = None
        self.schedtick = 0
        self.syscalltick = 0
        self.pd_schedtick = 0             # p.sysmontick
        self.pd_schedwhen = 0
        self.pd_syscalltick = 0
        self.pd_syscallwhen = 0
        self.timers: list[tuple[int, int, G]] = []
        self.gfree: list[G] = []
        self.preempt = False
        self.idle = False                 # on sched.pidle (idlepMask)

    def __repr__(self) -> str:
        return f"P{self.id}({P_STATUS[self.status]})"


S_RUNNING, S_IDLE, S_SYSCALL, S_NETPOLL, S_STARTING, S_SYSMON = range(6)
_M_STATE = {S_RUNNING: "running", S_IDLE: "idle", S_SYSCALL: "syscall", S_NETPOLL: "netpoll",
            S_STARTING: "starting", S_SYSMON: "sysmon"}


class _Steal:
    """Where a stealWork pass is, so that runqgrab's usleep(3) can suspend and resume it."""

    __slots__ = ("i", "pos", "inc", "k", "cost", "poll_until", "ran_timer", "pending")

    def __init__(self) -> None:
        self.i = self.pos = self.inc = self.k = self.cost = self.poll_until = 0
        self.ran_timer = False
        self.pending: tuple[P, G] | None = None


class M:
    __slots__ = ("id", "p", "curg", "spinning", "state", "nextp", "oldp", "syscalltick", "tok",
                 "act", "was_spinning", "steal", "poll_wake")

    def __init__(self, mid: int) -> None:
        self.id = mid
        self.p: P | None = None
        self.curg: G | None = None
        self.spinning = False
        self.state = S_RUNNING
        self.nextp: P | None = None
        self.oldp: P | None = None
        self.syscalltick = 0
        self.tok = 0
        self.act = 0
        self.was_spinning = False
        self.steal = _Steal()
        self.poll_wake = _INF

    def __repr__(self) -> str:
        return f"M{self.id}({_M_STATE[self.state]})"


# M actions: what an M does when its next event comes
A_SCHED, A_RUNG, A_SYSEXIT, A_PREEMPT, A_START, A_NETPOLL, A_STEAL, A_SYSMON = range(8)
# findRunnable's entry points
FR_TOP, FR_STEAL = 0, 1
# where execute's G came from (for the "run" event)
SRC_RUNNEXT, SRC_LOCAL, SRC_GLOBAL_FAIR, SRC_GLOBAL, SRC_NETPOLL, SRC_STEAL, SRC_TIMER, \
    SRC_SYSCALL = range(8)
_SRC = ("runnext (inheritTime)", "local runq", "global (1/61)", "global batch", "netpoll",
        "stolen", "timer", "exitsyscall")
_SUSPEND = object()
WR_CHAN_RECV, WR_CHAN_SEND, WR_SLEEP, WR_IO, WR_WG = ("chan receive", "chan send", "sleep",
                                                      "IO wait", "sync.WaitGroup.Wait")


def _coprimes(n: int) -> list[int]:
    return [i for i in range(1, n + 1) if gcd(i, n) == 1]


def _empty_gen() -> Iterator[Op]:
    return
    yield  # pragma: no cover


class Sim:
    """The simulator; see the module docstring for its rules and the meaning of each cost.

    Args:
        gomaxprocs: number of Ps.
        seed: seeds the steal order (``random.Random(seed)``); same seed, same run.
        version: "1.27" (Go 1.27.3) or "1.24" (Go 1.24.11: ``_Psyscall`` and its format).
        asyncpreempt: False is ``GODEBUG=asyncpreemptoff=1``.
        record: keep ``events`` and spans (off for speed; stats are always kept).
    """

    def __init__(self, gomaxprocs: int = 2, seed: int = 1, version: str = "1.27",
                 asyncpreempt: bool = True, *, record: bool = True,
                 switch_ns: int = 100, chan_ns: int = 30, newproc_ns: int = 120,
                 steal_ns: int = 100, netpoll_ns: int = 300, syscall_ns: int = 100,
                 futex_ns: int = 500, wake_ns: int = 5_000, newm_ns: int = 15_000,
                 async_preempt_ns: int = 5_000, call_preempt_ns: int = 200,
                 usleep_slack_ns: int = 50_000) -> None:
        if version not in ("1.27", "1.24"):
            raise ValueError('version must be "1.27" or "1.24"')
        if gomaxprocs < 1:
            raise ValueError("gomaxprocs must be >= 1")
        self.gomaxprocs = gomaxprocs
        self.seed = seed
        self.version = version
        self.v127 = version == "1.27"
        self.asyncpreempt = asyncpreempt
        self.record = record
        self.switch_ns, self.chan_ns, self.newproc_ns = switch_ns, chan_ns, newproc_ns
        self.steal_ns, self.netpoll_ns, self.syscall_ns = steal_ns, netpoll_ns, syscall_ns
        self.futex_ns, self.wake_ns, self.newm_ns = futex_ns, wake_ns, newm_ns
        self.async_preempt_ns, self.call_preempt_ns = async_preempt_ns, call_preempt_ns
        self.usleep_slack_ns = usleep_slack_ns
        self.rng = random.Random(seed)
        self._coprimes = _coprimes(gomaxprocs)

        self.now = 0
        self.events: list[Event] = []
        self.lines: list[str] = []
        self._run_lines: list[str] | None = None
        self._spans: list[tuple[str, int, int, str]] = []
        self._heap: list[tuple[int, int, M, int]] = []
        self._seq = 0
        self.allp = [P(i) for i in range(gomaxprocs)]
        self.allm: list[M] = []
        self.allgs: list[G] = []
        self.midle: list[M] = []
        self.pidle: list[P] = []
        self.npidle = 0
        self.nmspinning = 0
        self.needspinning = 0
        self.runq: deque[G] = deque()       # sched.runq
        self.gfree: list[G] = []            # sched.gFree
        self.lastpoll: int | None = 0       # None: an M is blocked in netpoll (Go's 0)
        self.poll_until = 0                 # sched.pollUntil
        self.poller: M | None = None
        self.netpoll_inited = False
        self.netq: list[tuple[int, int, G]] = []   # network waiters, by ready time
        self.sysmonwait = False
        self.goidgen = 0
        self.main_g: G | None = None
        self.started = False
        self.done = False
        self.exited = False
        self.deadlock = False
        self.fatal: str | None = None
        self.result: Any = None
        self.exit_ns: int | None = None
        self.schedtrace_ms = 0
        self.scheddetail = False
        self.starttime: int | None = None
        self.lasttrace: int | None = None
        self.sysmon_delays: list[int] = []      # each usleep's delay, µs (record=True)
        self.sysmon_ticks: list[int] = []       # when sysmon woke (record=True)
        # sysmon's locals
        self._sm_idle = 0
        self._sm_delay = 0
        self._sm_deep = False
        self._sm_syscallwake = False
        self._step_cursor = 0
        # counters (stats)
        self.n_threads_created = 0
        self.n_steals = self.n_stolen = self.n_runnext_steals = 0
        self.n_preempt = self.n_preempt_req = self.n_handoffs = 0
        self.n_fair = self.n_batches = self.n_batch_gs = self.n_overflow = 0
        self.n_sched = self.n_go = self.n_spin = self.n_wakep = self.n_startm = 0
        self.n_stopm = self.n_netpoll_gs = self.n_timers = self.n_gosched = 0
        self.n_actions = self.n_sysmon_ticks = self.n_syscalls = 0
        self.max_global = 0
        self._acts = (self._h_sched, self._run_g, self._h_sysexit, self._h_preempt,
                      self._h_start, self._h_netpoll, self._h_steal, self._h_sysmon)

        # the state after runtime init (see the module docstring)
        m0 = self._newm_struct()
        self.sysmon_m = self._newm_struct()
        self.sysmon_m.state = S_SYSMON
        for _ in range(2 if gomaxprocs > 1 else 1):
            m = self._newm_struct()
            m.state = S_IDLE
            self.midle.append(m)
        p0 = self.allp[0]
        self._acquirep(m0, p0)
        for pp in reversed(self.allp[1:]):      # procresize: pidleput(P[n-1]) ... pidleput(P1)
            self._pidleput(pp)

    # ------------------------------------------------------------------ public API
    def go(self, fn: Callable[..., Any], *args: Any) -> int:
        """Create a goroutine; the first one is main (G1).  Before the run the Gs go on P0's
        ring (M0 runs G1 first); later calls put them on the global queue, as the runtime
        does for a G it readies without a P.  ``sim.go(scenarios.spawn())`` (a ``(main, args)``
        pair) is ``sim.go(main, *args)``.  Returns the G's id."""
        if isinstance(fn, tuple) and not args:
            fn, args = fn
        g = self._newg(None, fn, args)
        g.status = _Grunnable
        if self.main_g is None:
            self.main_g = g
        if not self.started:
            self._runqput(self.allp[0], g, False)
        else:
            self.runq.append(g)
            self._start_idle(1, self.now)
        return g.goid

    def run(self, until_ns: int | None = None, schedtrace_ms: int | None = None,
            scheddetail: bool = False, max_actions: int | None = None) -> list[str]:
        """Run until main returns (program exit), a deadlock, or ``until_ns``.  With
        ``schedtrace_ms``, sysmon prints SCHED lines (``GODEBUG=schedtrace=N``, and
        ``scheddetail=1`` with ``scheddetail``); returns the lines printed by this call."""
        if schedtrace_ms is not None:
            self.schedtrace_ms = schedtrace_ms
            self.scheddetail = scheddetail
        self._start()
        out: list[str] = []
        self._run_lines = out
        heap = self._heap
        pop = heapq.heappop
        acts = self._acts
        limit = _INF if until_ns is None else until_ns
        budget = _INF if max_actions is None else max_actions
        actions = 0
        try:
            while heap and not self.done and budget > 0:
                t, _, m, tok = heap[0]
                if t > limit:
                    break
                pop(heap)
                if tok != m.tok:
                    continue
                budget -= 1
                # _dispatch, inlined for speed
                self.now = t
                r = acts[m.act](m, t)
                while r is not None:
                    act, t = r
                    if heap and t > heap[0][0]:
                        self._push(m, t, act)
                        break
                    self.now = t
                    r = acts[act](m, t)
                actions += 1
        finally:
            self._run_lines = None
            self.n_actions += actions
        if until_ns is not None and not self.done and self.now < until_ns:
            self.now = until_ns
        return out

    def step(self) -> Event | None:
        """The next event, running the simulation as far as needed; None once it has ended.
        Stepping from the start yields every event of ``sim.events`` once, in order."""
        if not self.record:
            raise RuntimeError("step() needs record=True")
        self._start()
        heap = self._heap
        while self._step_cursor >= len(self.events):
            if self.done or not heap:
                return None
            t, _, m, tok = heapq.heappop(heap)
            if tok != m.tok:
                continue
            self._dispatch(m, t, self._acts, heap)
        ev = self.events[self._step_cursor]
        self._step_cursor += 1
        return ev

    @property
    def stats(self) -> dict[str, Any]:
        """Counters of what the scheduler did (kept even with ``record=False``)."""
        return {
            "threads": len(self.allm), "threads_created": self.n_threads_created,
            "steals": self.n_steals, "stolen_gs": self.n_stolen,
            "runnext_steals": self.n_runnext_steals, "preemptions": self.n_preempt,
            "preempt_requests": self.n_preempt_req, "handoffs": self.n_handoffs,
            "global_fair_picks": self.n_fair, "global_batches": self.n_batches,
            "global_batch_gs": self.n_batch_gs, "runq_overflows": self.n_overflow,
            "schedules": self.n_sched, "schedticks": [pp.schedtick for pp in self.allp],
            "syscalltick": [pp.syscalltick for pp in self.allp],
            "goroutines": self.goidgen, "go_statements": self.n_go, "gosched": self.n_gosched,
            "spins": self.n_spin, "wakeps": self.n_wakep, "startms": self.n_startm,
            "stopms": self.n_stopm, "netpoll_gs": self.n_netpoll_gs, "timers_run": self.n_timers,
            "syscalls": self.n_syscalls, "sysmon_ticks": self.n_sysmon_ticks,
            "max_global_runq": self.max_global, "events": len(self.events),
            "actions": self.n_actions, "t_ns": self.now, "exited": self.exited,
            "deadlock": self.deadlock,
        }

    def snapshot(self) -> dict[str, Any]:
        """The state now, JSON-able."""
        gid = _gid
        counts: dict[str, Any] = {}
        for g in self.allgs:
            name = G_STATUS[g.status]
            counts[name] = counts.get(name, 0) + 1
        counts["total"] = len(self.allgs)
        counts["main_done"] = self.exited
        return {
            "t_ns": self.now, "version": self.version, "gomaxprocs": self.gomaxprocs,
            "ps": [{"id": pp.id, "status": P_STATUS[pp.status], "m": pp.m.id if pp.m else None,
                    "curg": gid(pp.m.curg) if pp.m else None, "runnext": gid(pp.runnext),
                    "runq": [g.goid for g in pp.runq], "schedtick": pp.schedtick,
                    "syscalltick": pp.syscalltick, "timers": len(pp.timers),
                    "gfreecnt": len(pp.gfree)} for pp in self.allp],
            "global_runq": [g.goid for g in self.runq],
            "ms": [{"id": m.id, "p": m.p.id if m.p else None, "curg": gid(m.curg),
                    "spinning": m.spinning, "state": self._m_state(m)} for m in self.allm],
            "gs": counts,
            "threads": len(self.allm), "idleprocs": self.npidle,
            "spinningthreads": self.nmspinning, "needspinning": self.needspinning,
            "idlethreads": len(self.midle), "exited": self.exited, "deadlock": self.deadlock,
            "result": self.result if _jsonable(self.result) else repr(self.result),
        }

    def schedtrace_line(self, detail: bool = False) -> str | list[str]:
        """The state now in Go's ``schedtrace`` format (``scheddetail=1``: a list of lines)."""
        now = self.now
        ms = (now - (self.starttime if self.starttime is not None else 0)) // 1_000_000
        head = (f"SCHED {ms}ms: gomaxprocs={self.gomaxprocs} idleprocs={self.npidle} "
                f"threads={len(self.allm)} spinningthreads={self.nmspinning} "
                f"needspinning={self.needspinning} idlethreads={len(self.midle)} "
                f"runqueue={len(self.runq)}")
        if not detail:
            lens = [str(len(pp.runq)) for pp in self.allp]
            if self.v127:
                ticks = "".join(f"{pp.schedtick} " for pp in self.allp)
                return f"{head} [ {' '.join(lens)} ] schedticks=[ {ticks}]"
            return f"{head} [{' '.join(lens)}]"
        lines = [head + " gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false"]
        for pp in self.allp:
            lines.append(f"  P{pp.id}: status={pp.status} schedtick={pp.schedtick} "
                         f"syscalltick={pp.syscalltick} m={pp.m.id if pp.m else 'nil'} "
                         f"runqsize={len(pp.runq)} gfreecnt={len(pp.gfree)} "
                         f"timerslen={len(pp.timers)}")
        sysmon_locks = 32 if self.v127 else 2
        for m in reversed(self.allm):        # allm is a list pushed at the head: newest first
            lines.append(f"  M{m.id}: p={m.p.id if m.p else 'nil'} "
                         f"curg={m.curg.goid if m.curg else 'nil'} mallocing=0 throwing=0 "
                         f"preemptoff= locks={sysmon_locks if m is self.sysmon_m else 0} dying=0 "
                         f"spinning={'true' if m.spinning else 'false'} "
                         f"blocked={'true' if m.state == S_IDLE else 'false'} lockedg=nil")
        for g in self.allgs:
            lines.append(f"  G{g.goid}: status={g.status}({g.waitreason}) "
                         f"m={g.m.id if g.m else 'nil'} lockedm=nil")
        return lines

    def spans(self) -> list[tuple[str, int, int, str]]:
        """(lane, start_ns, end_ns, label): what ran on each P ("P0": "G5") and each M's
        blocking syscalls ("M4": "G5 syscall"); spans still open end now."""
        out = list(self._spans)
        now = self.now if self.exit_ns is None else self.exit_ns
        for pp in self.allp:
            g = pp.m.curg if pp.m else None
            if g is not None and g.span_start >= 0 and g.span_p == pp.id and g.status == _Grunning:
                out.append((f"P{pp.id}", g.span_start, max(now, g.span_start), f"G{g.goid}"))
        for m in self.allm:
            g = m.curg
            if g is not None and g.status == _Gsyscall and g.sys_start >= 0:
                out.append((f"M{m.id}", g.sys_start, max(now, g.sys_start), f"G{g.goid} syscall"))
        return out

    def describe(self) -> str:
        """A plain-text picture of the state: each P's runnext and ring, the global queue, Ms."""
        def ids(gs: Any, limit: int = 12) -> str:
            gs = list(gs)
            s = " ".join(f"G{g.goid}" for g in gs[:limit])
            return s + (f" … (+{len(gs) - limit})" if len(gs) > limit else "")

        out = [f"t = {self.now / 1e6:.6f} ms   gomaxprocs={self.gomaxprocs} (Go {self.version})"
               f"   threads={len(self.allm)} idleprocs={self.npidle} spinning={self.nmspinning}"
               f" needspinning={self.needspinning}"]
        out.append(f"global runq ({len(self.runq)}): [{ids(self.runq)}]")
        for pp in self.allp:
            cur = pp.m.curg if pp.m else None
            out.append(f"P{pp.id} {P_STATUS[pp.status]:9} m={'M%d' % pp.m.id if pp.m else '-':4}"
                       f" curg={'G%d' % cur.goid if cur else '-':5}"
                       f" runnext={'G%d' % pp.runnext.goid if pp.runnext else '-':5}"
                       f" runq({len(pp.runq)})=[{ids(pp.runq)}] schedtick={pp.schedtick}")
        out.append("  ".join(f"M{m.id}:{self._m_state(m)}"
                             + (f"/P{m.p.id}" if m.p else "")
                             + (f"/G{m.curg.goid}" if m.curg else "") for m in self.allm))
        if self.fatal:
            out.append("fatal error: " + self.fatal)
        elif self.exited:
            out.append(f"main returned at {self.exit_ns} ns: program exit")
        return "\n".join(out)

    # ------------------------------------------------------------------ the event loop
    def _start(self) -> None:
        if self.started:
            return
        if self.main_g is None:
            raise RuntimeError("call sim.go(main) first")
        self.started = True
        m0 = self.allm[0]
        self._push(m0, 0, A_SCHED)
        self._sm_delay = 20
        self._push(self.sysmon_m, 20_000 + self.usleep_slack_ns, A_SYSMON)
        if self.record:
            self.sysmon_delays.append(20)

    def _push(self, m: M, t: int, act: int) -> None:
        m.tok += 1
        m.act = act
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, m, m.tok))

    def _dispatch(self, m: M, t: int, acts: Any, heap: list[Any]) -> None:
        # One M's turn: its handlers run inline, one after another, as long as the M's own
        # clock stays at or before the next event of anyone else (so effects keep time order).
        self.now = t
        self.n_actions += 1
        r = acts[m.act](m, t)
        while r is not None:
            act, t = r
            if heap and t > heap[0][0]:
                self._push(m, t, act)
                return
            self.now = t
            r = acts[act](m, t)

    def _ev(self, t: int, kind: str, p: P | None, m: M | None, g: G | None, detail: str = "") -> None:
        self.events.append(Event(t, kind, p.id if p is not None else None,
                                 m.id if m is not None else None,
                                 g.goid if g is not None else None, detail))

    # ------------------------------------------------------------------ Ms and Ps
    def _newm_struct(self) -> M:
        m = M(len(self.allm))           # mReserveID: sched.mnext++
        self.allm.append(m)
        return m

    def _m_state(self, m: M) -> str:
        if m.state == S_RUNNING and m.spinning:
            return "spinning"
        return _M_STATE[m.state]

    def _acquirep(self, m: M, pp: P) -> None:
        m.p = pp
        pp.m = m
        pp.status = _Prunning

    def _releasep(self, m: M) -> P:
        pp = m.p
        assert pp is not None
        pp.m = None
        m.p = None
        pp.status = _Pidle
        return pp

    def _pidleput(self, pp: P) -> None:
        pp.idle = True
        self.pidle.append(pp)
        self.npidle += 1

    def _pidleget(self) -> P | None:
        if not self.pidle:
            return None
        pp = self.pidle.pop()
        pp.idle = False
        self.npidle -= 1
        return pp

    def _pidleget_spinning(self) -> P | None:
        pp = self._pidleget()
        if pp is None:
            self.needspinning = 1   # "Delicate dance": we found work we cannot take
        return pp

    def _become_spinning(self, m: M, t: int) -> None:
        m.spinning = True
        self.nmspinning += 1
        self.needspinning = 0
        self.n_spin += 1
        if self.record:
            self._ev(t, EV_SPIN, m.p, m, None)

    def _wakep(self, t: int) -> int:
        """wakep: one more spinning M, only if none spins and a P is idle.  Returns the cost."""
        if self.nmspinning != 0:
            return 0
        if not self.pidle:                  # pidlegetSpinning finds none: the fast "no"
            self.needspinning = 1
            return 0
        self.nmspinning = 1
        pp = self._pidleget_spinning()
        if pp is None:
            self.nmspinning = 0
            return 0
        self.n_wakep += 1
        if self.record:
            self._ev(t, EV_WAKEP, pp, None, None)
        return self._startm(pp, True, t)

    def _resetspinning(self, m: M, t: int) -> int:
        m.spinning = False
        self.nmspinning -= 1
        return self._wakep(t)

    def _startm(self, pp: P | None, spinning: bool, t: int) -> int:
        if pp is None:
            pp = self._pidleget()
            if pp is None:
                return 0
        if self.midle:
            nmp = self.midle.pop()          # mget
            nmp.spinning = spinning
            nmp.nextp = pp
            nmp.state = S_STARTING
            self._push(nmp, t + self.wake_ns, A_START)
            self.n_startm += 1
            if self.record:
                self._ev(t, EV_STARTM, pp, nmp, None, "spinning" if spinning else "")
            return self.futex_ns
        nmp = self._newm_struct()           # newm
        nmp.spinning = spinning
        nmp.nextp = pp
        nmp.state = S_STARTING
        self.n_threads_created += 1
        self._push(nmp, t + self.newm_ns, A_START)
        if self.record:
            self._ev(t, EV_NEWM, pp, nmp, None, "spinning" if spinning else "")
        return self.futex_ns

    def _stopm(self, m: M, t: int) -> None:
        m.state = S_IDLE
        self.midle.append(m)                # mput
        self.n_stopm += 1
        if self.record:
            self._ev(t, EV_STOPM, None, m, None)
        self._checkdead(t)

    def _checkdead(self, t: int) -> None:
        run = len(self.allm) - len(self.midle) - 1     # mcount - nmidle - nmsys
        if run > 0:
            return
        for pp in self.allp:
            if pp.timers:
                return
        self.done = True
        self.deadlock = True
        self.fatal = "all goroutines are asleep - deadlock!"
        if self.record:
            self._ev(t, EV_DEADLOCK, None, None, None, self.fatal)

    def _start_idle(self, n: int, t: int) -> int:
        cost = 0
        for _ in range(n):
            pp = self._pidleget_spinning()
            if pp is None:
                break
            cost += self._startm(pp, False, t)
        return cost

    def _handoffp(self, pp: P, t: int) -> int:
        if pp.runq or pp.runnext is not None or self.runq:
            return self._startm(pp, False, t)
        if self.nmspinning + self.npidle == 0:
            self.nmspinning = 1
            self.needspinning = 0
            return self._startm(pp, True, t)
        if self.npidle == self.gomaxprocs - 1 and self.lastpoll is not None:
            return self._startm(pp, False, t)
        self._pidleput(pp)
        if pp.timers:
            return self._wake_netpoller(pp.timers[0][0], t)
        return 0

    # ------------------------------------------------------------------ queues
    def _runqput(self, pp: P, g: G, nxt: bool) -> None:
        if nxt:
            old = pp.runnext
            pp.runnext = g
            if old is None:
                return
            g = old                         # kick the old runnext to the tail
        q = pp.runq
        if len(q) < 256:
            q.append(g)
            return
        # runqputslow: half the ring plus g, in order, to the global queue
        batch = [q.popleft() for _ in range(128)]
        batch.append(g)
        self.runq.extend(batch)
        self.n_overflow += 1
        if len(self.runq) > self.max_global:
            self.max_global = len(self.runq)
        if self.record:
            self._ev(self.now, EV_RUNQ_OVERFLOW, pp, pp.m, g,
                     f"G{batch[0].goid}..G{batch[-2].goid} + G{g.goid} to the global queue")

    def _globrunqput(self, g: G) -> None:
        self.runq.append(g)
        if len(self.runq) > self.max_global:
            self.max_global = len(self.runq)

    def _globrunqgetbatch(self, pp: P, t: int) -> G:
        runq = self.runq
        sz = len(runq)
        n = min(128, sz, sz // self.gomaxprocs + 1)   # len(pp.runq)/2 = 128
        gp = runq.popleft()
        lq = pp.runq
        for _ in range(n - 1):
            lq.append(runq.popleft())
        self.n_batches += 1
        self.n_batch_gs += n
        if self.record:
            self._ev(t, EV_GLOBAL_BATCH, pp, pp.m, gp, f"{n} Gs ({n - 1} to the local ring)")
        return gp

    def _injectglist(self, lst: list[G], pp: P | None, t: int) -> int:
        if not lst:
            return 0
        for g in lst:
            g.status = _Grunnable
            if self.record:
                self._ev(t, EV_READY, pp, None, g, "injectglist")
        if pp is None:
            self.runq.extend(lst)
            return self._start_idle(len(lst), t)
        k = min(self.npidle, len(lst))
        cost = 0
        if k:
            self.runq.extend(lst[:k])
            cost += self._start_idle(k, t)
        q = pp.runq
        for g in lst[k:]:
            if len(q) < 256:
                q.append(g)
            else:
                self.runq.append(g)
        return cost + self._wakep(t)

    def _ready(self, g: G, pp: P, t: int, why: str = "") -> int:
        g.status = _Grunnable
        self._runqput(pp, g, True)
        if self.record:
            self._ev(t, EV_READY, pp, pp.m, g, why)
        return self._wakep(t)

    def _newg(self, pp: P | None, fn: Callable[..., Any], args: tuple[Any, ...]) -> G:
        g = None
        if pp is not None:                  # gfget
            if not pp.gfree and self.gfree:
                while len(pp.gfree) < 32 and self.gfree:
                    pp.gfree.append(self.gfree.pop())
            if pp.gfree:
                g = pp.gfree.pop()
        if g is None:
            g = G()
            self.allgs.append(g)
        gen = fn(*args)
        if not hasattr(gen, "send"):
            gen = _empty_gen()
        self.goidgen += 1
        g.goid = self.goidgen
        g.gen = gen
        g.status = _Grunnable
        g.waitreason = ""
        g.val = None
        g.exc = None
        g.rem = g.run_until = 0
        g.preempt = False
        g.span_start = -1
        return g

    def _gfput(self, pp: P, g: G) -> None:
        pp.gfree.append(g)
        if len(pp.gfree) >= 64:
            while len(pp.gfree) >= 32:
                self.gfree.append(pp.gfree.pop())

    def _dropg(self, m: M, g: G, t: int) -> None:
        m.curg = None
        g.m = None
        if self.record and g.span_start >= 0:
            self._spans.append((f"P{g.span_p}", g.span_start, max(t, g.span_start), f"G{g.goid}"))
            g.span_start = -1

    # ------------------------------------------------------------------ timers and netpoll
    def _run_timers(self, p2: P, pp: P, t: int) -> tuple[int, int]:
        tm = p2.timers
        ran = cost = 0
        while tm and tm[0][0] <= t:
            _, _, g = heapq.heappop(tm)
            ran += 1
            self.n_timers += 1
            if self.record:
                self._ev(t, EV_TIMER, pp, pp.m, g, f"timer of P{p2.id}")
            cost += self._ready(g, pp, t, "timer")
        return ran, cost

    def _wake_netpoller(self, when: int, t: int) -> int:
        if self.lastpoll is None:
            if self.poll_until == 0 or self.poll_until > when:
                return self._netpoll_break(t)
            return 0
        return self._wakep(t)

    def _netpoll_break(self, t: int) -> int:
        m = self.poller
        if m is not None and m.poll_wake > t + self.wake_ns:
            m.poll_wake = t + self.wake_ns
            self._push(m, m.poll_wake, A_NETPOLL)
        return self.futex_ns

    def _netpoll(self, t: int) -> list[G]:
        q = self.netq
        lst: list[G] = []
        while q and q[0][0] <= t:
            lst.append(heapq.heappop(q)[2])
        lst.reverse()                       # netpollready pushes onto a gList
        self.n_netpoll_gs += len(lst)
        return lst

    def _block_netpoll(self, m: M, t: int, poll_until: int) -> None:
        self.lastpoll = None
        self.poll_until = poll_until
        self.poller = m
        m.state = S_NETPOLL
        wake = _INF
        if poll_until:
            delay = poll_until - t
            if delay <= 0:
                wake = t + self.netpoll_ns
            else:                           # epoll_wait's timeout is in whole ms, at least 1
                waitms = 1 if delay < 1_000_000 else delay // 1_000_000
                wake = t + waitms * 1_000_000 + self.usleep_slack_ns
        if self.netq:
            wake = min(wake, max(t, self.netq[0][0]) + self.wake_ns)
        m.poll_wake = wake
        if self.record:
            self._ev(t, EV_NETPOLL_BLOCK, None, m, None,
                     f"until {wake} ns" if wake < _INF else "no timeout")
        if wake < _INF:
            self._push(m, wake, A_NETPOLL)
        else:
            m.tok += 1

    # ------------------------------------------------------------------ schedule
    def _h_sched(self, m: M, t: int) -> tuple[int, int] | None:
        # The hot path, inlined: findRunnable's first three steps (no due timer, not the 61st
        # tick or an empty global queue, a local G) and execute().  Anything else: the full path.
        pp = m.p
        tm = pp.timers
        if not m.spinning and not (tm and tm[0][0] <= t) and not (self.runq and pp.schedtick % 61 == 0):
            gp = pp.runnext
            if gp is not None:
                pp.runnext = None
                inherit = True
            elif pp.runq:
                gp = pp.runq.popleft()
                inherit = False
                pp.schedtick += 1
            if gp is not None:
                pp.preempt = False
                m.curg = gp
                gp.m = m
                gp.status = _Grunning
                gp.preempt = False
                self.n_sched += 1
                t += self.switch_ns
                if self.record:
                    self._ev(t, EV_RUN, pp, m, gp, _SRC[SRC_RUNNEXT if inherit else SRC_LOCAL])
                    gp.span_start = t
                    gp.span_p = pp.id
                return (A_RUNG, t)
        r = self._find_runnable(m, t, FR_TOP)
        if r is None:
            return None
        return self._schedule_tail(m, r)

    def _h_steal(self, m: M, t: int) -> tuple[int, int] | None:
        r = self._find_runnable(m, t, FR_STEAL)
        if r is None:
            return None
        return self._schedule_tail(m, r)

    def _h_start(self, m: M, t: int) -> tuple[int, int] | None:
        # mstart1 / stopm's return: acquirep(nextp), then schedule()
        pp = m.nextp
        m.nextp = None
        m.state = S_RUNNING
        assert pp is not None
        self._acquirep(m, pp)
        return self._h_sched(m, t)

    def _schedule_tail(self, m: M, r: tuple[G, bool, int, int]) -> tuple[int, int]:
        gp, inherit, t, src = r
        if m.spinning:
            t += self._resetspinning(m, t)
        return self._execute(m, gp, inherit, t, src)

    def _execute(self, m: M, gp: G, inherit: bool, t: int, src: int) -> tuple[int, int]:
        pp = m.p
        m.curg = gp
        gp.m = m
        gp.status = _Grunning
        gp.preempt = False
        if not inherit:
            pp.schedtick += 1
        self.n_sched += 1
        t += self.switch_ns
        if self.record:
            self._ev(t, EV_RUN, pp, m, gp, _SRC[src])
            gp.span_start = t
            gp.span_p = pp.id
        return (A_RUNG, t)

    def _find_runnable(self, m: M, t: int, entry: int) -> tuple[G, bool, int, int] | None:
        while True:
            if entry == FR_TOP:
                r = self._fr_top(m, t)
            else:
                r = self._fr_steal(m, t)
            if r is None or r.__class__ is tuple:
                return r
            t = r                           # goto top, after anyone else's earlier event
            heap = self._heap
            if heap and t > heap[0][0]:
                self._push(m, t, A_SCHED)
                return None
            entry = FR_TOP

    def _fr_top(self, m: M, t: int) -> Any:
        pp = m.p
        pp.preempt = False
        cost = 0
        tm = pp.timers
        if tm and tm[0][0] <= t:
            cost += self._run_timers(pp, pp, t)[1]
        poll_until = tm[0][0] if tm else 0
        runq = self.runq
        if runq and pp.schedtick % 61 == 0:
            gp = runq.popleft()
            self.n_fair += 1
            if self.record:
                self._ev(t, EV_GLOBAL_FAIR, pp, m, gp, f"schedtick={pp.schedtick}")
            return (gp, False, t + cost, SRC_GLOBAL_FAIR)
        gp = pp.runnext
        if gp is not None:
            pp.runnext = None
            return (gp, True, t + cost, SRC_RUNNEXT)
        if pp.runq:
            return (pp.runq.popleft(), False, t + cost, SRC_LOCAL)
        if runq:
            return (self._globrunqgetbatch(pp, t), False, t + cost, SRC_GLOBAL)
        if self.netpoll_inited and self.netq and self.lastpoll is not None:
            cost += self.netpoll_ns
            lst = self._netpoll(t)
            if lst:
                gp = lst.pop(0)
                if self.record:
                    self._ev(t, EV_NETPOLL, pp, m, gp, f"findRunnable netpoll(0): {len(lst) + 1} Gs")
                cost += self._injectglist(lst, pp, t)
                gp.status = _Grunnable
                return (gp, False, t + cost, SRC_NETPOLL)
        if m.spinning or 2 * self.nmspinning < self.gomaxprocs - self.npidle:
            if not m.spinning:
                self._become_spinning(m, t)
            st = m.steal
            st.i = 0
            self._steal_enum(st)
            st.cost = cost
            st.poll_until = poll_until
            st.ran_timer = False
            st.pending = None
            return self._fr_steal(m, t)
        return self._fr_idle(m, t + cost, poll_until, False)

    def _steal_enum(self, st: _Steal) -> None:
        # stealOrder.start(cheaprand()): randomOrder's start position and coprime step
        n = self.gomaxprocs
        r = self.rng.getrandbits(32)
        st.pos = r % n
        st.inc = self._coprimes[(r // n) % len(self._coprimes)]
        st.k = 0

    def _fr_steal(self, m: M, t: int) -> Any:
        st = m.steal
        pp = m.p
        if st.pending is not None:          # back from runqgrab's usleep(3)
            p2, nxt = st.pending
            st.pending = None
            if p2.runnext is nxt:
                p2.runnext = None
                self._stolen(pp, p2, nxt, 1, True, t)
                return (nxt, False, t + st.cost, SRC_STEAL)
            r = self._runqsteal(m, pp, p2, True, t)   # the CAS failed: grab again
            if r is _SUSPEND:
                return None
            if r is not None:
                return (r, False, t + st.cost, SRC_STEAL)
        allp = self.allp
        n = self.gomaxprocs
        steal_ns = self.steal_ns
        while st.i < 4:
            last = st.i == 3
            while st.k < n:
                pos = st.pos
                st.k += 1
                st.pos = (pos + st.inc) % n
                p2 = allp[pos]
                if p2 is pp:
                    continue
                st.cost += steal_ns
                if last and p2.timers:
                    if p2.timers[0][0] <= t:
                        ran, c = self._run_timers(p2, pp, t)
                        st.cost += c
                        if ran:
                            gp = pp.runnext
                            if gp is not None:
                                pp.runnext = None
                                return (gp, True, t + st.cost, SRC_TIMER)
                            if pp.runq:
                                return (pp.runq.popleft(), False, t + st.cost, SRC_TIMER)
                            st.ran_timer = True
                    if p2.timers:
                        w = p2.timers[0][0]
                        if st.poll_until == 0 or w < st.poll_until:
                            st.poll_until = w
                if not p2.idle:
                    r = self._runqsteal(m, pp, p2, last, t)
                    if r is _SUSPEND:
                        return None
                    if r is not None:
                        return (r, False, t + st.cost, SRC_STEAL)
            st.i += 1
            if st.i < 4:
                self._steal_enum(st)
        return self._fr_idle(m, t + st.cost, st.poll_until, st.ran_timer)

    def _runqsteal(self, m: M, pp: P, p2: P, steal_runnext: bool, t: int) -> Any:
        q2 = p2.runq
        n = len(q2)
        n -= n >> 1                         # runqgrab: n - n/2
        if n == 0:
            if steal_runnext:
                nxt = p2.runnext
                if nxt is not None:
                    mp = p2.m
                    if p2.status == _Prunning and mp is not None and (
                            mp.curg is None or mp.curg.status != _Gsyscall):
                        # usleep(3): give p2 a chance to schedule its runnext
                        st = m.steal
                        st.pending = (p2, nxt)
                        self._push(m, t + st.cost + 3_000 + self.usleep_slack_ns, A_STEAL)
                        st.cost = 0
                        return _SUSPEND
                    p2.runnext = None
                    self._stolen(pp, p2, nxt, 1, True, t)
                    return nxt
            return None
        if n == 1:
            gp = q2.popleft()
        else:
            batch = [q2.popleft() for _ in range(n)]
            gp = batch.pop()                # runqsteal runs the last one grabbed
            pp.runq.extend(batch)
        self._stolen(pp, p2, gp, n, False, t)
        return gp

    def _stolen(self, pp: P, p2: P, gp: G, n: int, runnext: bool, t: int) -> None:
        self.n_steals += 1
        self.n_stolen += n
        if runnext:
            self.n_runnext_steals += 1
        if self.record:
            self._ev(t, EV_STEAL, pp, pp.m, gp,
                     f"{'runnext' if runnext else f'{n} Gs'} from P{p2.id}")

    def _fr_idle(self, m: M, t: int, poll_until: int, new_work: bool) -> Any:
        if new_work:
            return t
        pp = m.p
        if self.runq:
            return (self._globrunqgetbatch(pp, t), False, t, SRC_GLOBAL)
        if not m.spinning and self.needspinning == 1:
            self._become_spinning(m, t)
            return t
        self._releasep(m)
        self._pidleput(pp)
        if self.record:
            self._ev(t, EV_IDLE_P, pp, m, None)
        was = m.spinning
        if was:
            m.spinning = False
            self.nmspinning -= 1
            if self.runq:
                p2 = self._pidleget_spinning()
                if p2 is not None:
                    gp = self._globrunqgetbatch(p2, t)
                    self._acquirep(m, p2)
                    self._become_spinning(m, t)
                    return (gp, False, t, SRC_GLOBAL)
            for p2 in self.allp:            # checkRunqsNoP
                if not p2.idle and (p2.runq or p2.runnext is not None):
                    p3 = self._pidleget_spinning()
                    if p3 is None:
                        break
                    self._acquirep(m, p3)
                    self._become_spinning(m, t)
                    return t
            for p2 in self.allp:            # checkTimersNoP
                if p2.timers:
                    w = p2.timers[0][0]
                    if poll_until == 0 or w < poll_until:
                        poll_until = w
        if self.netpoll_inited and (self.netq or poll_until) and self.lastpoll is not None:
            m.was_spinning = was
            self._block_netpoll(m, t, poll_until)
            return None
        if poll_until and self.netpoll_inited:
            if self.poll_until == 0 or self.poll_until > poll_until:
                self._netpoll_break(t)
        self._stopm(m, t)
        return None

    def _h_netpoll(self, m: M, t: int) -> tuple[int, int] | None:
        # back from netpoll(delay): findRunnable's code after the blocking poll
        self.poller = None
        m.poll_wake = _INF
        self.poll_until = 0
        self.lastpoll = t
        m.state = S_RUNNING
        lst = self._netpoll(t)
        pp = self._pidleget()
        if pp is None:
            if lst:
                if self.record:
                    self._ev(t, EV_NETPOLL, None, m, None, f"blocking netpoll, no P: {len(lst)} Gs")
                self._injectglist(lst, None, t)
            self._stopm(m, t)
            return None
        self._acquirep(m, pp)
        if lst:
            gp = lst.pop(0)
            if self.record:
                self._ev(t, EV_NETPOLL, pp, m, gp, f"blocking netpoll: {len(lst) + 1} Gs")
            t += self._injectglist(lst, pp, t)
            gp.status = _Grunnable
            return self._schedule_tail(m, (gp, False, t, SRC_NETPOLL))
        if m.was_spinning:
            self._become_spinning(m, t)
        return self._h_sched(m, t)

    # ------------------------------------------------------------------ running a G
    def _run_g(self, m: M, t: int) -> tuple[int, int] | None:
        g = m.curg
        assert g is not None
        g.run_until = 0
        # Only this M touches g while it runs inline, so what sysmon or a close() may have
        # set (preempt, the rest of a preempted segment, a panic) is looked at on entry.
        if g.preempt:                       # a function prologue sees stackguard0 == stackPreempt
            return self._gopreempt(m, g, t)
        if g.rem:                           # the rest of a preempted Run segment
            end = t + g.rem
            g.rem = 0
            g.run_until = end
            self._push(m, end, A_RUNG)
            return None
        heap = self._heap
        rec = self.record
        send = g.gen.send
        exc = g.exc
        while True:
            try:
                if exc is None:
                    op = send(g.val)
                else:
                    g.exc = None
                    op = g.gen.throw(exc)
                    exc = None
            except StopIteration as stop:
                return self._goexit(m, g, t, stop.value)
            g.val = None
            k = op.kind
            if k == K_RUN:
                ns = op.ns
                if ns > 0:
                    g.calls = op.calls
                    end = t + ns
                    g.run_until = end
                    m.tok += 1              # _push, inlined
                    m.act = A_RUNG
                    self._seq += 1
                    _heappush(heap, (end, self._seq, m, m.tok))
                    return None
                continue
            pp = m.p
            if k == K_GOSCHED:             # goschedImpl, inlined
                self.n_gosched += 1
                if rec:
                    self._ev(t, EV_GOSCHED, pp, m, g)
                    self._dropg(m, g, t)
                else:
                    m.curg = None
                    g.m = None
                g.status = _Grunnable
                g.queued_at = t
                runq = self.runq
                runq.append(g)
                if len(runq) > self.max_global:
                    self.max_global = len(runq)
                if self.nmspinning == 0:
                    if self.pidle:
                        t += self._wakep(t)
                    else:
                        self.needspinning = 1
                if heap and t > heap[0][0]:
                    self._push(m, t, A_SCHED)
                    return None
                return self._h_sched(m, t)
            if k == K_GO:
                ng = self._newg(pp, op.fn, op.args)
                self.n_go += 1
                self._runqput(pp, ng, True)
                if rec:
                    self._ev(t, EV_GO, pp, m, ng, f"by G{g.goid}")
                t += self.newproc_ns
                t += self._wakep(t)
                g.val = ng.goid
            elif k == K_SEND:
                ch = op.ch
                t += self.chan_ns
                if ch.closed:
                    raise GoPanic(f"G{g.goid}: send on closed channel")
                if ch.recvq:
                    rg = ch.recvq.popleft()
                    rg.val = op.value
                    t += self._ready(rg, pp, t, "chan send")
                elif len(ch.buf) < ch.cap:
                    ch.buf.append(op.value)
                else:
                    ch.sendq.append((g, op.value))
                    return self._park(m, g, t, WR_CHAN_SEND)
            elif k == K_RECV:
                ch = op.ch
                t += self.chan_ns
                if ch.buf:
                    g.val = ch.buf.popleft()
                    if ch.sendq:
                        sg, sv = ch.sendq.popleft()
                        ch.buf.append(sv)
                        t += self._ready(sg, pp, t, "chan recv")
                elif ch.sendq:
                    sg, g.val = ch.sendq.popleft()
                    t += self._ready(sg, pp, t, "chan recv")
                elif ch.closed:
                    g.val = None
                else:
                    ch.recvq.append(g)
                    return self._park(m, g, t, WR_CHAN_RECV)
            elif k == K_SLEEP:
                if op.ns > 0:
                    when = t + op.ns
                    self._seq += 1
                    heapq.heappush(pp.timers, (when, self._seq, g))
                    self.netpoll_inited = True          # doaddtimer: netpollGenericInit
                    t += self._wake_netpoller(when, t)
                    return self._park(m, g, t, WR_SLEEP)
            elif k == K_SYSCALL:
                return self._entersyscall(m, g, pp, t, op.ns)
            elif k == K_NETWAIT:
                ready = t + max(0, op.ns)
                self._seq += 1
                heapq.heappush(self.netq, (ready, self._seq, g))
                self.netpoll_inited = True
                pm = self.poller
                if pm is not None and ready + self.wake_ns < pm.poll_wake:
                    pm.poll_wake = max(t, ready) + self.wake_ns   # epoll_wait returns
                    self._push(pm, pm.poll_wake, A_NETPOLL)
                return self._park(m, g, t, WR_IO)
            elif k == K_CLOSE:
                ch = op.ch
                t += self.chan_ns
                if ch.closed:
                    raise GoPanic(f"G{g.goid}: close of closed channel")
                ch.closed = True
                lst = []
                while ch.recvq:
                    rg = ch.recvq.popleft()
                    rg.val = None
                    lst.append(rg)
                while ch.sendq:
                    sg, _ = ch.sendq.popleft()
                    sg.exc = GoPanic(f"G{sg.goid}: send on closed channel")
                    lst.append(sg)
                for rg in reversed(lst):        # closechan: glist.push each, then pop
                    t += self._ready(rg, pp, t, "close")
            elif k == K_WGADD:
                wg = op.wg
                t += self.chan_ns
                wg.count += op.n
                if wg.count < 0:
                    raise GoPanic(f"G{g.goid}: sync: negative WaitGroup counter")
                if wg.count == 0:
                    while wg.waiters:
                        t += self._ready(wg.waiters.popleft(), pp, t, "WaitGroup")
            elif k == K_WGWAIT:
                wg = op.wg
                t += self.chan_ns
                if wg.count > 0:
                    wg.waiters.append(g)
                    return self._park(m, g, t, WR_WG)
            elif k == K_NOW:
                g.val = t
            else:
                raise TypeError(f"G{g.goid} yielded {op!r}, not a gmp_sim op")
            if heap and t > heap[0][0]:     # someone else's event comes first
                self._push(m, t, A_RUNG)
                return None

    def _park(self, m: M, g: G, t: int, reason: str) -> tuple[int, int]:
        g.status = _Gwaiting
        g.waitreason = reason
        if self.record:
            self._ev(t, EV_PARK, m.p, m, g, reason)
        self._dropg(m, g, t)
        return (A_SCHED, t)

    def _gosched_impl(self, m: M, g: G, t: int) -> tuple[int, int]:
        g.status = _Grunnable
        g.queued_at = t
        self._dropg(m, g, t)
        self._globrunqput(g)
        t += self._wakep(t)
        return (A_SCHED, t)

    def _gopreempt(self, m: M, g: G, t: int) -> tuple[int, int]:
        self.n_preempt += 1
        if self.record:
            self._ev(t, EV_PREEMPT, m.p, m, g, "to the global queue")
        return self._gosched_impl(m, g, t)

    def _h_preempt(self, m: M, t: int) -> tuple[int, int] | None:
        g = m.curg
        assert g is not None
        if g.run_until > t:
            g.rem = g.run_until - t
        g.run_until = 0
        return self._gopreempt(m, g, t)

    def _goexit(self, m: M, g: G, t: int, value: Any) -> tuple[int, int] | None:
        pp = m.p
        if g is self.main_g:
            self.result = value
            self.done = True
            self.exited = True
            self.exit_ns = t
            if self.record:
                self._ev(t, EV_PROGRAM_EXIT, pp, m, g, "main returned")
                self._dropg(m, g, t)
            return None
        g.status = _Gdead
        g.waitreason = ""
        g.gen = None
        if self.record:
            self._ev(t, EV_EXIT, pp, m, g)
        self._dropg(m, g, t)
        self._gfput(pp, g)
        return (A_SCHED, t)

    # ------------------------------------------------------------------ syscalls
    def _entersyscall(self, m: M, g: G, pp: P, t: int, ns: int) -> None:
        self.n_syscalls += 1
        m.syscalltick = pp.syscalltick
        m.oldp = pp
        g.status = _Gsyscall
        if not self.v127:                   # 1.24: _Psyscall, the P is not wired to the M
            pp.m = None
            m.p = None
            pp.status = _Psyscall
        m.state = S_SYSCALL
        cost = self.syscall_ns
        if self.sysmonwait:
            cost += self._wake_sysmon(t)
        if self.record:
            self._ev(t, EV_SYSCALL_ENTER, pp, m, g, f"{ns} ns")
            if g.span_start >= 0:
                self._spans.append((f"P{g.span_p}", g.span_start, max(t, g.span_start), f"G{g.goid}"))
                g.span_start = -1
            g.sys_start = t
        self._push(m, t + cost + max(0, ns), A_SYSEXIT)
        return None

    def _h_sysexit(self, m: M, t: int) -> tuple[int, int] | None:
        g = m.curg
        assert g is not None
        oldp = m.oldp
        m.oldp = None
        m.state = S_RUNNING
        how = ""
        if self.record and g.sys_start >= 0:
            self._spans.append((f"M{m.id}", g.sys_start, t, f"G{g.goid} syscall"))
            g.sys_start = -1
        pp: P | None
        if self.v127:
            pp = m.p
            if pp is not None:
                how = "fast path: P still ours"
            else:
                pp, how = self._exitsyscall_tryget_p(m, oldp, t)
                if pp is not None:
                    self._acquirep(m, pp)
        else:
            pp = None
            if oldp is not None and oldp.status == _Psyscall:    # exitsyscallfast
                self._acquirep(m, oldp)
                if m.syscalltick != oldp.syscalltick:
                    oldp.syscalltick += 1
                pp = oldp
                how = "exitsyscallfast: its P was still _Psyscall"
            elif self.pidle:
                pp = self._pidleget()
                assert pp is not None
                if self.sysmonwait:
                    self._wake_sysmon(t)
                self._acquirep(m, pp)
                how = "exitsyscallfast_pidle: took an idle P"
        if pp is not None:
            pp.syscalltick += 1
            g.status = _Grunning
            if self.record:
                self._ev(t, EV_SYSCALL_EXIT, pp, m, g, how)
                g.span_start = t
                g.span_p = pp.id
            return (A_RUNG, t)
        # exitsyscallNoP (1.27) / exitsyscall0 (1.24)
        g.status = _Grunnable
        self._dropg(m, g, t)
        pp = self._pidleget()
        if pp is None:
            self._globrunqput(g)
            if self.record:
                self._ev(t, EV_SYSCALL_EXIT, None, m, g, "no P: to the global queue, stopm")
            self._stopm(m, t)
            return None
        if self.sysmonwait:
            self._wake_sysmon(t)
        self._acquirep(m, pp)
        if self.record:
            self._ev(t, EV_SYSCALL_EXIT, pp, m, g, "slow path: an idle P")
        return self._execute(m, g, False, t, SRC_SYSCALL)

    def _exitsyscall_tryget_p(self, m: M, oldp: P | None, t: int) -> tuple[P | None, str]:
        if oldp is not None and oldp.status == _Prunning:       # setBlockOnExitSyscall(oldp)
            om = oldp.m
            if om is not None and om is not m and om.curg is not None \
                    and om.curg.status == _Gsyscall and om.p is oldp:
                oldp.m = None                                   # thread.takeP()
                om.p = None
                oldp.status = _Pidle
                oldp.syscalltick += 1
                return oldp, f"exitsyscallTryGetP: took its old P from M{om.id} (in a syscall)"
        if self.pidle:
            pp = self._pidleget()
            if self.sysmonwait:
                self._wake_sysmon(t)
            return pp, "exitsyscallTryGetP: took an idle P"
        return None, ""

    # ------------------------------------------------------------------ sysmon
    def _wake_sysmon(self, t: int) -> int:
        if not self.sysmonwait:
            return 0
        self.sysmonwait = False
        self._sm_syscallwake = True
        self._push(self.sysmon_m, t + self.wake_ns, A_SYSMON)
        return self.futex_ns

    def _h_sysmon(self, m: M, t: int) -> None:
        self.n_sysmon_ticks += 1
        if self.record and len(self.sysmon_ticks) < 100_000:
            self.sysmon_ticks.append(t)
        if self._sm_deep:                   # back from notetsleep(&sched.sysmonnote)
            self._sm_deep = False
            self.sysmonwait = False
            if self._sm_syscallwake:
                self._sm_syscallwake = False
                self._sm_idle = 0
                self._sm_delay = 20
        elif self.schedtrace_ms <= 0 and self.npidle == self.gomaxprocs:
            nxt = min((pp.timers[0][0] for pp in self.allp if pp.timers), default=_INF)
            if nxt > t:
                self.sysmonwait = True
                self._sm_deep = True
                self._push(m, t + min(FORCEGC_PERIOD // 2, nxt - t), A_SYSMON)
                return None
        now = t
        cost = 0
        lp = self.lastpoll
        if self.netpoll_inited and lp is not None and lp + 10_000_000 < now:
            self.lastpoll = now
            lst = self._netpoll(now)
            if lst:
                if self.record:
                    self._ev(now, EV_NETPOLL, None, m, None, f"sysmon netpoll: {len(lst)} Gs")
                cost += self._injectglist(lst, None, now)
        n, c = self._retake(now)
        cost += c
        if n:
            self._sm_idle = 0
        else:
            self._sm_idle += 1
        if self.schedtrace_ms > 0 and (self.lasttrace is None
                                       or self.lasttrace + self.schedtrace_ms * 1_000_000 <= now):
            self.lasttrace = now
            if self.starttime is None:
                self.starttime = now
            out = self.schedtrace_line(self.scheddetail)
            new = out if isinstance(out, list) else [out]
            self.lines.extend(new)
            if self._run_lines is not None:
                self._run_lines.extend(new)
        idle = self._sm_idle
        delay = self._sm_delay
        if idle == 0:
            delay = 20
        elif idle > 50:
            delay *= 2
        if delay > 10_000:
            delay = 10_000
        self._sm_delay = delay
        if self.record and len(self.sysmon_delays) < 100_000:
            self.sysmon_delays.append(delay)
        self._push(m, now + cost + delay * 1000 + self.usleep_slack_ns, A_SYSMON)
        return None

    def _retake(self, now: int) -> tuple[int, int]:
        n = cost = 0
        v127 = self.v127
        for pp in self.allp:
            s = pp.status
            if v127:
                if s != _Prunning:
                    continue
            elif s != _Prunning and s != _Psyscall:
                continue
            sysretake = False
            if pp.pd_schedtick != pp.schedtick:
                pp.pd_schedtick = pp.schedtick
                pp.pd_schedwhen = now
            elif pp.pd_schedwhen + FORCE_PREEMPT_NS <= now:
                self._preemptone(pp, now)
                sysretake = True
            if v127:                        # setBlockOnExitSyscall(pp)
                mp = pp.m
                if mp is None or mp.curg is None or mp.curg.status != _Gsyscall:
                    continue
            elif s != _Psyscall:
                continue
            if not sysretake and pp.pd_syscalltick != pp.syscalltick:
                pp.pd_syscalltick = pp.syscalltick
                pp.pd_syscallwhen = now
                continue
            if not pp.runq and pp.runnext is None and self.nmspinning + self.npidle > 0 \
                    and pp.pd_syscallwhen + 10_000_000 > now:
                continue
            mp = pp.m if v127 else None
            if mp is not None:              # thread.takeP()
                mp.p = None
            pp.m = None
            pp.status = _Pidle
            pp.syscalltick += 1
            n += 1
            self.n_handoffs += 1
            if self.record:
                self._ev(now, EV_HANDOFF, pp, self.sysmon_m, None, "retake: P taken from a syscall")
            cost += self._handoffp(pp, now)
        return n, cost

    def _preemptone(self, pp: P, now: int) -> bool:
        mp = pp.m
        if mp is None:
            return False
        gp = mp.curg
        if gp is None or gp.status == _Gsyscall:
            return False
        gp.preempt = True
        self.n_preempt_req += 1
        if self.record:
            self._ev(now, EV_PREEMPT_REQUEST, pp, self.sysmon_m, gp,
                     "async (SIGURG)" if self.asyncpreempt else "at the next function call")
        if gp.run_until > now:              # in a Run segment: when does it notice?
            lat: int | None = None
            if self.asyncpreempt:
                pp.preempt = True
                lat = self.async_preempt_ns
            elif gp.calls:
                lat = self.call_preempt_ns
            if lat is not None and gp.run_until > now + lat:
                self._push(mp, now + lat, A_PREEMPT)
        return True


def _gid(g: G | None) -> int | None:
    return g.goid if g is not None else None


def _jsonable(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str, list, dict))


# --- scenarios ---------------------------------------------------------------------------------
def _burn(wg: WaitGroup, work_ns: int) -> Iterator[Op]:
    yield Run(work_ns)
    yield wg.Done()


def _spawn_main(n: int, work_ns: int) -> Iterator[Op]:
    t0 = yield Now()
    wg = WaitGroup()
    yield wg.Add(n)
    for _ in range(n):
        yield Go(_burn, wg, work_ns)
    yield wg.Wait()
    t1 = yield Now()
    return {"n": n, "elapsed_ns": t1 - t0}


def _ponger(ping: Chan, pong: Chan) -> Iterator[Op]:
    while True:
        v = yield Recv(ping)
        if v is None and ping.closed:
            break
        yield Send(pong, v + 1)
    yield Close(pong)


def _pinger(ping: Chan, pong: Chan, done: Chan, rounds: int) -> Iterator[Op]:
    v = 0
    for _ in range(rounds):
        yield Send(ping, v)
        v = yield Recv(pong)
    yield Close(ping)
    yield Send(done, v)


def _pingpong_main(rounds: int) -> Iterator[Op]:
    ping, pong, done = Chan(), Chan(), Chan()
    yield Go(_ponger, ping, pong)               # G2
    yield Go(_pinger, ping, pong, done, rounds)  # G3
    t0 = yield Now()
    v = yield Recv(done)
    t1 = yield Now()
    return {"rounds": rounds, "value": v, "ns_per_round_trip": (t1 - t0) / max(1, rounds)}


def _blocker(wg: WaitGroup, ns: int, raw: bool) -> Iterator[Op]:
    yield Syscall(ns) if raw else Sleep(ns)
    yield wg.Done()


def _blocked_main(n: int, ns: int, raw: bool) -> Iterator[Op]:
    wg = WaitGroup()
    yield wg.Add(n)
    for _ in range(n):
        yield Go(_blocker, wg, ns, raw)
    yield wg.Wait()
    return {"n": n, "raw": raw}


def _spinner() -> Iterator[Op]:
    yield Run(10**18, calls=False)              # for {}


def _tight_main(sleep_ns: int) -> Iterator[Op]:
    yield Go(_spinner)
    t0 = yield Now()
    yield Sleep(sleep_ns)
    t1 = yield Now()
    return {"slept_ns": sleep_ns, "resumed_after_ns": t1 - t0}


def _fair_ponger(a: Chan, b: Chan, work_ns: int) -> Iterator[Op]:
    while True:
        v = yield Recv(a)
        if work_ns:
            yield Run(work_ns)
        yield Send(b, v + 1)


def _fair_pinger(a: Chan, b: Chan, waited: Chan, state: dict[str, int], work_ns: int,
                 start_third_after: int) -> Iterator[Op]:
    v = 0
    while True:
        yield Send(a, v)
        if state["handoffs"] == start_third_after:
            created = yield Now()
            yield Go(_third, waited, False, created)
        v = yield Recv(b)
        state["handoffs"] += 1
        if work_ns:
            yield Run(work_ns)


def _third(waited: Chan, via_global: bool, since: int | None) -> Iterator[Op]:
    if via_global:
        since = yield Now()
        yield Gosched()                          # onto the global queue
    t = yield Now()
    yield Send(waited, (t, since))


def _short(work_ns: int, state: dict[str, int]) -> Iterator[Op]:
    yield Run(work_ns)
    state["ran"] += 1


def _fair_main(where: str, work_ns: int, ring: int, start_third_after: int) -> Iterator[Op]:
    waited = Chan()
    state = {"handoffs": 0, "ran": 0}
    if where == "local":
        a, b = Chan(), Chan()
        yield Go(_fair_ponger, a, b, work_ns)
        yield Go(_fair_pinger, a, b, waited, state, work_ns, start_third_after)
    elif where == "global":
        a, b = Chan(), Chan()
        yield Go(_third, waited, True, None)    # runs first and Goscheds onto the global queue
        yield Go(_fair_ponger, a, b, work_ns)
        yield Go(_fair_pinger, a, b, waited, state, work_ns, -1)
    elif where == "ring":
        yield Go(_third, waited, True, None)
        for _ in range(ring):
            yield Go(_short, work_ns, state)
    else:
        raise ValueError('where must be "local", "global" or "ring"')
    t_ran, since = yield Recv(waited)
    return {"where": where, "third_queued_ns": since, "third_ran_ns": t_ran,
            "waited_ns": t_ran - since, "handoffs_meanwhile": state["handoffs"],
            "short_gs_ran_before": state["ran"]}


class _Scenarios:
    """Ready programs: each returns ``(main_program, args)`` for ``sim.go(main, *args)``.
    ``DEFAULTS[name]`` gives the ``Sim`` settings each was written for, and
    ``sim(name, **kw)`` builds that Sim with main created."""

    DEFAULTS: dict[str, dict[str, Any]] = {
        "spawn": {"gomaxprocs": 2}, "pingpong": {"gomaxprocs": 2},
        "blocked_syscall": {"gomaxprocs": 2}, "tight_loop": {"gomaxprocs": 1},
        "fairness": {"gomaxprocs": 1},
    }

    @staticmethod
    def spawn(n: int = 600, work_ns: int = 2_000_000) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """G1 starts n CPU-bound Gs (``work_ns`` each, with calls) and waits on a WaitGroup;
        the real-Go twin is ``lessons/go/spawn.go``.  Main returns {"n", "elapsed_ns"}."""
        return _spawn_main, (n, work_ns)

    @staticmethod
    def pingpong(rounds: int = 1000) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """G2 (ponger) and G3 (pinger) pass a counter over two unbuffered channels, ``rounds``
        round trips; G1 waits.  Main returns {"rounds", "value", "ns_per_round_trip"}."""
        return _pingpong_main, (rounds,)

    @staticmethod
    def blocked_syscall(n: int = 50, ns: int = 200_000_000,
                        raw: bool = True) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """n Gs block for ``ns`` in a raw syscall (each M blocks, sysmon hands its P to another
        M: about n new threads) or, with ``raw=False``, in time.Sleep (Gs park, no thread)."""
        return _blocked_main, (n, ns, raw)

    @staticmethod
    def tight_loop(asyncpreempt: bool | None = None,
                   sleep_ns: int = 10_000_000) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """For ``GOMAXPROCS=1``: main starts a G in ``for {}`` (``Run(huge, calls=False)``),
        sleeps 10 ms and returns.  Only async preemption ends it: run it with ``until_ns``.
        ``asyncpreempt`` belongs to the Sim; it is accepted here only to say what you mean."""
        return _tight_main, (sleep_ns,)

    @staticmethod
    def fairness(where: str = "global", work_ns: int = 1_000, ring: int = 200,
                 start_third_after: int = 3) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """For ``GOMAXPROCS=1``, a third G waits while others hold the P.

        * ``where="global"``: it Goscheds onto the global queue while a pair readies each other
          through runnext: the pair shares one time slice, schedtick stops, the 1/61 check never
          comes, and it runs when sysmon preempts the pair (~10 ms; the preempted G queues
          behind it).
        * ``where="local"``: ``lessons/go/fairness.go``: the pinger starts it after
          ``start_third_after`` hand-offs; it is kicked from runnext to the ring, and also waits
          for the 10 ms preemption.
        * ``where="ring"``: no pair; ``ring`` short Gs (``work_ns`` each) on the local ring,
          each a new schedtick: the 1/61 check takes it from the global queue at the next
          multiple of 61.

        Main returns {"where", "third_queued_ns", "third_ran_ns", "waited_ns",
        "handoffs_meanwhile", "short_gs_ran_before"}."""
        return _fair_main, (where, work_ns, ring, start_third_after)

    def names(self) -> list[str]:
        return list(self.DEFAULTS)

    def sim(self, name: str, *, seed: int = 1, version: str = "1.27", asyncpreempt: bool = True,
            **kw: Any) -> Sim:
        """A Sim configured for scenario ``name`` (``DEFAULTS``; ``gomaxprocs=`` overrides),
        with its main created; other keywords go to the scenario."""
        gomaxprocs = kw.pop("gomaxprocs", self.DEFAULTS[name]["gomaxprocs"])
        s = Sim(gomaxprocs=gomaxprocs, seed=seed, version=version, asyncpreempt=asyncpreempt)
        main, args = getattr(self, name)(**kw)
        s.go(main, *args)
        return s


scenarios = _Scenarios()


# --- pictures and the stepper (matplotlib and ipywidgets only imported here) -------------------
def plot_timeline(sim: Sim, ax: Any = None, title: str | None = None, unit: str = "ms") -> Any:
    """Draw ``sim.spans()`` (P lanes, then M lanes for syscalls) with lessons.plotting.timeline."""
    import matplotlib.pyplot as plt

    from lessons.plotting import timeline

    scale = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}[unit]
    spans = sim.spans()
    lanes = [f"P{pp.id}" for pp in sim.allp]
    lanes += sorted({lane for lane, *_ in spans if lane.startswith("M")}, key=lambda s: int(s[1:]))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.5 + 0.45 * len(lanes)))
    timeline(ax, [(lane, s / scale, e / scale, label) for lane, s, e, label in spans],
             lane_order=lanes, unit=unit, title=title)
    return ax


#: the CSS class of the stepper's state view
STEPPER_CSS_CLASS = "gmp-stepper-state"


def stepper(scenario: str = "pingpong", **kw: Any) -> Any:
    """An ipywidgets stepper: pick a scenario, step the simulator one event at a time (or 10,
    100, a millisecond) and read the state: each P's runnext and ring, the global queue, the Ms,
    the last events.  Without ipywidgets, prints the first 10 steps instead."""
    def build(name: str, gomaxprocs: int | None, asyncpreempt: bool) -> Sim:
        args = dict(kw)
        if gomaxprocs:
            args["gomaxprocs"] = gomaxprocs
        return scenarios.sim(name, asyncpreempt=asyncpreempt, **args)

    def render(s: Sim, last: list[Event]) -> str:
        evs = "\n".join(f"  {e.t_ns:>12,} ns  {e.kind:14} P={_s(e.p)} M={_s(e.m)} G={_s(e.g)}  {e.detail}"
                        for e in last[-8:])
        return s.describe() + "\nlast events:\n" + (evs or "  (none yet)")

    try:
        import ipywidgets as widgets
    except ImportError:
        s = build(scenario, None, True)
        evs = [e for e in (s.step() for _ in range(10)) if e is not None]
        print(render(s, evs))
        return None

    state: dict[str, Any] = {"sim": build(scenario, None, True), "last": []}
    pick = widgets.Dropdown(options=scenarios.names(), value=scenario, description="scenario")
    procs = widgets.BoundedIntText(value=scenarios.DEFAULTS[scenario]["gomaxprocs"], min=1, max=16,
                                   description="GOMAXPROCS")
    asyncp = widgets.Checkbox(value=True, description="async preemption")
    buttons = [widgets.Button(description=d) for d in ("step", "10 steps", "100 steps", "+1 ms", "reset")]
    out = widgets.HTML()
    out.add_class(STEPPER_CSS_CLASS)        # how the browser test finds the state

    def show_state() -> None:
        import html
        out.value = "<pre style='font-size:11px;line-height:1.25'>" + html.escape(
            render(state["sim"], state["last"])) + "</pre>"

    def steps(n: int) -> None:
        s: Sim = state["sim"]
        for _ in range(n):
            e = s.step()
            if e is None:
                break
            state["last"].append(e)
        state["last"] = state["last"][-8:]
        show_state()

    def plus_ms(_: Any) -> None:
        s: Sim = state["sim"]
        s.run(until_ns=s.now + 1_000_000)
        s._step_cursor = len(s.events)
        state["last"] = s.events[-8:]
        show_state()

    def reset(_: Any = None) -> None:
        state["sim"] = build(pick.value, procs.value, asyncp.value)
        state["last"] = []
        show_state()

    def on_pick(change: Any) -> None:
        procs.value = scenarios.DEFAULTS[change["new"]]["gomaxprocs"]
        reset()

    buttons[0].on_click(lambda _: steps(1))
    buttons[1].on_click(lambda _: steps(10))
    buttons[2].on_click(lambda _: steps(100))
    buttons[3].on_click(plus_ms)
    buttons[4].on_click(reset)
    pick.observe(on_pick, names="value")
    show_state()
    box = widgets.VBox([widgets.HBox([pick, procs, asyncp]), widgets.HBox(buttons), out])
    try:
        from lessons.widgets import show
        show(box, "the G-M-P stepper")
    except ImportError:
        from IPython.display import display
        display(box)
    return None


def _s(v: int | None) -> str:
    return "-" if v is None else str(v)
