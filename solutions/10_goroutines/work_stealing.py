"""Task 10.2: work stealing (工作窃取): runqgrab takes the larger half, runnext only in the last round.

A P whose own queues are empty does not sleep at once: it steals from the other Ps. This file
models src/runtime/proc.go (Go 1.27.3) functions runqgrab, runqsteal and stealWork, in one
thread: no atomics and no CAS retries, no timers (stealWork also runs other Ps' timers in its
last round), no GC checks, and without runqgrab's short sleep (usleep(3)) before it takes a
running P's runnext.

Given: class G (an id) and class P: `id`, `runq` (a collections.deque, head - the next G to
run - on the left; it stands for the 256-slot ring of 10.1), `runnext` (a G or None) and `idle`
(True for a P on the idle list: idlepMask in Go).

Write three functions:

  runqgrab(victim, steal_runnext) -> list of G
  runqsteal(thief, victim, steal_runnext) -> G or None
  steal_work(thief, ps, order) -> G or None

Rules, each one checked:
  1. runqgrab takes the larger half. With n Gs in the victim's ring it takes n - n // 2 of
     them (0 -> 0, 1 -> 1, 2 -> 1, 3 -> 2, 7 -> 4, 256 -> 128) from the ring's HEAD, and
     returns them as a list in ring order (head first). They leave the victim, whose ring keeps
     the others, in order. A victim whose ring is not empty keeps its runnext.
  2. runqgrab and runnext. Only when the victim's ring is empty and steal_runnext is true does
     runqgrab take the victim's runnext: it returns [that G] and victim.runnext becomes None.
     Otherwise an empty ring gives [] and nothing changes.
  3. runqsteal grabs from the victim with runqgrab(victim, steal_runnext). If nothing was
     grabbed it returns None and the thief is unchanged. Otherwise the thief runs the LAST G
     grabbed - runqsteal returns it - and the others go onto the thief's ring tail, in the
     order they were grabbed, behind whatever it holds already.
  4. steal_work makes rounds over the victims ps[i] for i in `order` (the same list in every
     round; Go draws a new random order per round: stealOrder.start(cheaprand())). It skips
     the thief itself (order may name it) and every P whose idle is true, whatever it holds
     (in Go an idle P's queue is empty: pidleput throws otherwise). For each other victim it
     calls runqsteal(thief, victim, steal_runnext) and returns the first G it gets: it stops
     at the first victim that gave anything.
  5. runnext is the last resort. There are stealTries = 4 rounds, and steal_runnext is true
     only in the last one (i == stealTries - 1): every victim's ring is tried before any
     runnext is taken, and then the runnexts are tried in `order`. (Nothing else runs between
     the rounds here, so the middle rounds find nothing new; in Go other Ps keep changing their
     queues meanwhile.) Nothing anywhere: None, and no P has changed.

>>> thief, victim = P(0), P(1, [G(1), G(2), G(3)])
>>> steal_work(thief, [thief, victim], [1])        # grabs G1 and G2, runs G2
G2
>>> list(thief.runq), list(victim.runq)
([G1], [G3])
"""

from collections import deque

STEAL_TRIES = 4   # stealTries in stealWork


class G:
    """A goroutine: an id."""

    def __init__(self, id):
        self.id = id

    def __repr__(self):
        return f"G{self.id}"


class P:
    """A P as a thief or victim sees it: its ring (a deque, head on the left), runnext, idle."""

    def __init__(self, id, runq=(), runnext=None, idle=False):
        self.id = id
        self.runq = deque(runq)
        self.runnext = runnext
        self.idle = idle

    def __repr__(self):
        return f"P{self.id}(runq={list(self.runq)}, runnext={self.runnext}, idle={self.idle})"


def runqgrab(victim, steal_runnext):
    """Take n - n // 2 Gs from the head of victim's ring; an empty ring gives its runnext only
    if steal_runnext. Returns the Gs taken, head first."""
    ### BEGIN SOLUTION 10.2
    n = len(victim.runq)
    n = n - n // 2
    if n == 0:
        if steal_runnext and victim.runnext is not None:
            g, victim.runnext = victim.runnext, None
            return [g]
        return []
    return [victim.runq.popleft() for _ in range(n)]
    ### END SOLUTION


def runqsteal(thief, victim, steal_runnext):
    """Grab from victim; queue all but the last G on thief's ring and return the last (or None)."""
    ### BEGIN SOLUTION 10.2
    batch = runqgrab(victim, steal_runnext)
    if not batch:
        return None
    thief.runq.extend(batch[:-1])
    return batch[-1]
    ### END SOLUTION


def steal_work(thief, ps, order):
    """Up to STEAL_TRIES rounds over ps[i] for i in order; runnext only in the last round."""
    ### BEGIN SOLUTION 10.2
    for i in range(STEAL_TRIES):
        steal_runnext = i == STEAL_TRIES - 1
        for index in order:
            victim = ps[index]
            if victim is thief or victim.idle:
                continue
            g = runqsteal(thief, victim, steal_runnext)
            if g is not None:
                return g
    return None
    ### END SOLUTION
