"""Task 10.1: a P's local run queue (本地运行队列): the 256-slot ring, runnext and overflow.

In Go's scheduler (调度器) every P (a processor: the right to run Go code) owns a queue of
runnable Gs (goroutines). Go 1.27.3, src/runtime/runtime2.go, type p: `runqhead`,
`runqtail uint32` and `runq [256]guintptr` - a ring (环形缓冲区) whose count is
runqtail - runqhead - and `runnext`, one slot for "the G to run next". This file models
src/runtime/proc.go (Go 1.27.3) functions runqput, runqputslow, runqget and runqempty for one
P, in one thread (no atomics, no CAS loops), for the ordinary build: not the race detector's
(randomizeScheduler shuffles the order there) and not a port without sysmon (runqput then
ignores next=True).

Given: class G (a goroutine: just an id) and class Sched, whose `global_runq` (a
collections.deque, head on the left) is the global run queue (全局运行队列), sched.runq.

Write class P:

  P(sched)                  a P with an empty ring and no runnext; it overflows into sched.
  p.runnext                 the G in the runnext slot, or None (the tests read it).
  p.runqput(g, next=False)  make g runnable on this P.
  p.runqget()               -> (g, inherit_time): the G this P runs next, or (None, False).
  p.runqempty()             -> bool
  len(p)                    -> int: the number of Gs in the ring (runnext is not counted).
  p.ring()                  -> list of the ring's Gs, head (next to run) first, leaving them there.

Rules, each one checked:
  1. FIFO ring. runqput(g) puts g at the ring's tail; runqget() takes the G at its head and
     returns (g, False). With nothing in the ring and no runnext: (None, False).
  2. runnext first, inheriting time. runqput(g, next=True) puts g in runnext; runqget()
     returns the runnext G before anything in the ring, as (g, True) - it inherits the rest
     of the current time slice, so execute() does not start a new one (proc.go, execute:
     `if !inheritTime { schedtick++ }`) - and runnext is None afterwards. With runnext empty,
     runqput(g, next=True) leaves the ring alone.
  3. The kick. runqput(g, next=True) while runnext holds x: g takes the slot and x is put at
     the ring's tail, exactly as runqput(x) would do it (rule 5 included).
  4. 256 at a time. The ring holds at most 256 Gs at once, however many have gone through it:
     full means 256 Gs in it now (runqtail - runqhead == 256), not 256 puts so far.
  5. Overflow (runqputslow). runqput(g) on a full ring moves the ring's first half - the 128
     Gs nearest the head, head first - and then g, in that order and as one batch, to the tail
     of the global queue, behind whatever is already there. The ring keeps its other 128, in
     order; g is not in the ring. So the 257th runqput in a row is the first that overflows.
  6. runqempty() is True only when the ring is empty AND runnext is None; len(p) counts the
     ring only.

>>> sched = Sched(); p = P(sched)
>>> p.runqput(G(1)); p.runqput(G(2)); p.runqput(G(3), next=True)
>>> p.runqget(), p.runqget(), len(p), p.runqempty()
((G3, True), (G1, False), 1, False)
"""

from collections import deque

RUNQ_SIZE = 256   # len(p.runq) in runtime2.go


class G:
    """A goroutine, as far as the run queues care: an id."""

    def __init__(self, id):
        self.id = id

    def __repr__(self):
        return f"G{self.id}"


class Sched:
    """The scheduler's global state that a P needs here: the global run queue."""

    def __init__(self):
        self.global_runq = deque()   # sched.runq: FIFO, head (next out) on the left


class P:
    """A P's local run queue: a 256-slot ring plus the runnext slot (see the module docstring)."""

    def __init__(self, sched):
        ### BEGIN SOLUTION 10.1
        self.sched = sched
        self.runq = [None] * RUNQ_SIZE   # slot i % 256 holds the G at position i
        self.runqhead = 0                # next position to take; only grows, like Go's uint32
        self.runqtail = 0                # next position to fill
        self.runnext = None
        ### END SOLUTION

    def runqput(self, g, next=False):
        """Put g on this P: in runnext (kicking the old one to the ring) or at the ring's tail."""
        ### BEGIN SOLUTION 10.1
        if next:
            g, self.runnext = self.runnext, g
            if g is None:
                return
            # the kicked G goes to the ring like any other
        h, t = self.runqhead, self.runqtail
        if t - h < RUNQ_SIZE:
            self.runq[t % RUNQ_SIZE] = g
            self.runqtail = t + 1
            return
        # runqputslow: half the full ring, oldest first, then g, to the global queue's tail.
        n = (t - h) // 2
        batch = [self.runq[(h + i) % RUNQ_SIZE] for i in range(n)]
        self.runqhead = h + n
        batch.append(g)
        self.sched.global_runq.extend(batch)
        ### END SOLUTION

    def runqget(self):
        """(g, inherit_time): runnext first (True), else the ring's head (False), else (None, False)."""
        ### BEGIN SOLUTION 10.1
        if self.runnext is not None:
            g, self.runnext = self.runnext, None
            return g, True
        if self.runqtail == self.runqhead:
            return None, False
        g = self.runq[self.runqhead % RUNQ_SIZE]
        self.runq[self.runqhead % RUNQ_SIZE] = None
        self.runqhead += 1
        return g, False
        ### END SOLUTION

    def runqempty(self):
        """True when neither the ring nor runnext holds a G."""
        ### BEGIN SOLUTION 10.1
        return self.runqtail == self.runqhead and self.runnext is None
        ### END SOLUTION

    def __len__(self):
        """The number of Gs in the ring (runnext not counted)."""
        ### BEGIN SOLUTION 10.1
        return self.runqtail - self.runqhead
        ### END SOLUTION

    def ring(self):
        """The ring's Gs, head first, left in place."""
        ### BEGIN SOLUTION 10.1
        return [self.runq[i % RUNQ_SIZE] for i in range(self.runqhead, self.runqtail)]
        ### END SOLUTION
