"""Task 10.3: findRunnable's order: the 1/61 fairness check, local, global batch, netpoll, stealing.

Each time a P's M enters the scheduler (schedule() in src/runtime/proc.go, Go 1.27.3), it asks
findRunnable() for the next G and runs it with execute(). This file models findRunnable's
search for user goroutines, in one thread: no trace reader, GC workers, finalizers, timers or
spinning-M accounting, and the part after stealing (dropping the P, blocking in netpoll) ends
in "idle". Functions read: findRunnable, globrunqget, globrunqgetbatch, runqget, runqputbatch,
injectglist, stealWork, execute, schedule (all proc.go, Go 1.27.3).

Given: class G (an id); class P: `id`, `runq` (a collections.deque standing for the 256-slot
ring, head - the next to run - on the left), `runnext` (a G or None), `schedtick` and `idle`;
class Sched: `ps` (allp: every P, this one included, so gomaxprocs is len(sched.ps)) and
`global_runq` (a deque, head on the left).

Write find_runnable(p, sched, netpoll_ready, steal=None) -> (source, g)

`netpoll_ready` is a list of the Gs the network poller (网络轮询器) has ready, what netpoll(0)
would return; `steal` is None or a function steal(p) -> G or None standing for stealWork (10.2).
The first step that finds a G wins; `source` names it:

  1. "global-fair" - the fairness check (公平性检查). If p.schedtick % 61 == 0 and the global
     queue is not empty: take ONE G from the global queue's head (globrunqget), even when p has
     work of its own. (schedtick 0 counts: a fresh P looks at the global queue first.)
  2. "local" - runqget: p.runnext if it holds a G (runnext becomes None), else the head of
     p.runq.
  3. "global-batch" - if the global queue is not empty, take
         n = min(len(global), len(global) // gomaxprocs + 1, RUNQ_SIZE // 2)
     Gs from its head (globrunqgetbatch(int32(len(pp.runq)) / 2): len of Go's 256-slot array,
     so at most 128, however few Gs p holds); the first one runs and the other n - 1 go onto
     p.runq's tail, in order (runqputbatch).
  4. "netpoll" - if netpoll_ready is not empty, take every G in it (the list is left empty:
     the poller has handed them over). The first one runs; the others are injected as
     injectglist does for an M that has a P: first, for each idle P in sched.ps (idle true),
     one G, in list order, goes to the global queue's tail (Go starts an M for each: not
     modelled, the idle flags stay as they are); the rest go onto p.runq's tail until it holds
     RUNQ_SIZE Gs; any left over go to the global queue's tail. A step before this one leaves
     netpoll_ready alone.
  5. "steal" - if steal is not None, call steal(p) once; a G it returns runs.
  6. ("idle", None) - nothing anywhere; nothing has changed.

find_runnable never changes p.schedtick: execute() does, and only for a G that does not inherit
a time slice (`if !inheritTime { schedtick++ }`, whatever runtime2.go's comment "incremented on
every scheduler call" says). The tests drive it as schedule() and execute() do:

    before = p.runnext
    source, g = find_runnable(p, sched, [], None)
    if not (source == "local" and before is not None and g is before):
        p.schedtick += 1                       # a new time slice
    ...then "run" g: put it back at p.runq's tail, or hand over to a partner in p.runnext

Fairness, each one checked with that loop (G A and G B keep p busy, G C waits on the global queue):
  * A and B take turns on the ring: each one, after it runs, goes back to p.runq's tail (as a
    G that yields does: goyield_m calls runqput(pp, gp, false)). Every run starts a new time
    slice and the local queue never empties, so only the check of step 1 lets C in: with
    schedtick starting at 1, C runs at the 61st call.
  * A and B hand over through runnext (each one readies the other, runqput(g, next=True), and
    blocks): they share one time slice, schedtick stays where it is (7 in the test), and C
    waits even after 200 handovers. Go's answer is sysmon (proc.go, runqput's comment; retake: "a sequence of
    goroutines run via runnext, which share a single schedtick time slice"), which preempts
    the G after 10 ms: the test then puts the running G on the global queue's tail, as
    gopreempt_m -> goschedImpl -> globrunqput does, and C runs next, from a global batch.

>>> a, b, c = G(1), G(2), G(3)
>>> p = P(0, runq=[a], schedtick=1)
>>> sched = Sched([p], global_runq=[b, c])
>>> find_runnable(p, sched, [])
('local', G1)
>>> find_runnable(p, sched, []), list(p.runq)      # min(2, 2 // 1 + 1, 128) = 2
(('global-batch', G2), [G3])
"""

from collections import deque

RUNQ_SIZE = 256   # len(p.runq) in runtime2.go


class G:
    """A goroutine: an id."""

    def __init__(self, id):
        self.id = id

    def __repr__(self):
        return f"G{self.id}"


class P:
    """A P: its ring (a deque, head on the left), runnext, schedtick and whether it is idle."""

    def __init__(self, id, runq=(), runnext=None, schedtick=0, idle=False):
        self.id = id
        self.runq = deque(runq)
        self.runnext = runnext
        self.schedtick = schedtick
        self.idle = idle

    def __repr__(self):
        return (f"P{self.id}(runq={list(self.runq)}, runnext={self.runnext}, schedtick={self.schedtick}, "
                f"idle={self.idle})")


class Sched:
    """allp (`ps`, gomaxprocs == len(ps)) and the global run queue (a deque, head on the left)."""

    def __init__(self, ps, global_runq=()):
        self.ps = list(ps)
        self.global_runq = deque(global_runq)


def find_runnable(p, sched, netpoll_ready, steal=None):
    """The next G for p and where it came from: ("global-fair" | "local" | "global-batch" |
    "netpoll" | "steal", g), or ("idle", None)."""
    ### BEGIN SOLUTION 10.3
    glob = sched.global_runq
    # 1. fairness: two Gs respawning each other could otherwise keep the global queue waiting
    if p.schedtick % 61 == 0 and glob:
        return "global-fair", glob.popleft()
    # 2. local: runnext, then the ring
    if p.runnext is not None:
        g, p.runnext = p.runnext, None
        return "local", g
    if p.runq:
        return "local", p.runq.popleft()
    # 3. a batch from the global queue
    if glob:
        n = min(len(glob), len(glob) // len(sched.ps) + 1, RUNQ_SIZE // 2)
        g = glob.popleft()
        p.runq.extend(glob.popleft() for _ in range(n - 1))
        return "global-batch", g
    # 4. the network poller
    if netpoll_ready:
        ready = list(netpoll_ready)
        del netpoll_ready[:]
        g, rest = ready[0], deque(ready[1:])
        npidle = sum(1 for other in sched.ps if other.idle)
        for _ in range(min(npidle, len(rest))):
            glob.append(rest.popleft())
        while rest and len(p.runq) < RUNQ_SIZE:
            p.runq.append(rest.popleft())
        glob.extend(rest)
        return "netpoll", g
    # 5. other Ps
    if steal is not None:
        g = steal(p)
        if g is not None:
            return "steal", g
    return "idle", None
    ### END SOLUTION
