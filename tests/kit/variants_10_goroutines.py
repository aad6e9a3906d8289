"""Alternative correct and plausible wrong solutions of lesson 10's tasks (10.1-10.3).

tests/kit/test_variants_10_goroutines.py grades each against tests/test_10_goroutines.py:
every alternative must pass every test of its task, and every wrong one must fail, with the
tests named here (those of the rule it breaks) among the failures. Each wrong solution is an
alternative (or the reference's shape) with one rule broken.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
"""

from variant_grading import changed as _changed

# ---------------------------------------------------------------- 10.1 run_queue

RUNQ_GIVEN = '''
from collections import deque

RUNQ_SIZE = 256


class G:
    def __init__(self, id):
        self.id = id

    def __repr__(self):
        return f"G{self.id}"


class Sched:
    def __init__(self):
        self.global_runq = deque()
'''

# A deque for the ring: no head/tail counters, the deque's length is the count.
RUNQ_DEQUE = RUNQ_GIVEN + '''

class P:
    def __init__(self, sched):
        self.sched = sched
        self.q = deque()
        self.runnext = None

    def runqput(self, g, next=False):
        if next:
            old = self.runnext
            self.runnext = g
            if old is None:
                return
            g = old
        if len(self.q) >= RUNQ_SIZE:
            batch = [self.q.popleft() for _ in range(RUNQ_SIZE // 2)]
            batch.append(g)
            self.sched.global_runq.extend(batch)
            return
        self.q.append(g)

    def runqget(self):
        if self.runnext is not None:
            g = self.runnext
            self.runnext = None
            return g, True
        if self.q:
            return self.q.popleft(), False
        return None, False

    def runqempty(self):
        return not self.q and self.runnext is None

    def __len__(self):
        return len(self.q)

    def ring(self):
        return list(self.q)
'''

# A plain list, sliced in two when it overflows; runnext swapped in one assignment.
RUNQ_LIST = RUNQ_GIVEN + '''

class P:
    def __init__(self, sched):
        self._sched = sched
        self._gs = []
        self.runnext = None

    def runqput(self, g, next=False):
        if next:
            self.runnext, g = g, self.runnext
            if g is None:
                return
        if len(self._gs) == RUNQ_SIZE:
            half, self._gs = self._gs[:RUNQ_SIZE // 2], self._gs[RUNQ_SIZE // 2:]
            self._sched.global_runq.extend(half + [g])
        else:
            self._gs.append(g)

    def runqget(self):
        if self.runnext:
            g, self.runnext = self.runnext, None
            return (g, True)
        return (self._gs.pop(0), False) if self._gs else (None, False)

    def runqempty(self):
        return len(self._gs) == 0 and not self.runnext

    def __len__(self):
        return len(self._gs)

    def ring(self):
        return self._gs[:]
'''

# Go's ring, as the reference: the base of the bugs only a ring with counters can have.
RUNQ_RING = RUNQ_GIVEN + '''

class P:
    def __init__(self, sched):
        self.sched = sched
        self.runq = [None] * RUNQ_SIZE
        self.runqhead = 0
        self.runqtail = 0
        self.runnext = None

    def runqput(self, g, next=False):
        if next:
            g, self.runnext = self.runnext, g
            if g is None:
                return
        h, t = self.runqhead, self.runqtail
        if t - h < RUNQ_SIZE:
            self.runq[t % RUNQ_SIZE] = g
            self.runqtail = t + 1
            return
        n = (t - h) // 2
        batch = [self.runq[(h + i) % RUNQ_SIZE] for i in range(n)]
        self.runqhead = h + n
        batch.append(g)
        self.sched.global_runq.extend(batch)

    def runqget(self):
        if self.runnext is not None:
            g, self.runnext = self.runnext, None
            return g, True
        if self.runqtail == self.runqhead:
            return None, False
        g = self.runq[self.runqhead % RUNQ_SIZE]
        self.runqhead += 1
        return g, False

    def runqempty(self):
        return self.runqtail == self.runqhead and self.runnext is None

    def __len__(self):
        return self.runqtail - self.runqhead

    def ring(self):
        return [self.runq[i % RUNQ_SIZE] for i in range(self.runqhead, self.runqtail)]
'''

_OVERFLOW = ("            batch = [self.q.popleft() for _ in range(RUNQ_SIZE // 2)]\n"
             "            batch.append(g)\n")

RUNQ_WRONG = {
    "lifo_ring": (_changed(RUNQ_DEQUE, [("return self.q.popleft(), False", "return self.q.pop(), False")]),
                  {"test_ring_is_fifo"}),
    "runnext_without_inherit": (_changed(RUNQ_DEQUE, [("            return g, True\n", "            return g, False\n")]),
                                {"test_runnext_runs_first_and_inherits_time"}),
    "ring_before_runnext": (_changed(RUNQ_DEQUE, [(
        "    def runqget(self):\n",
        "    def runqget(self):\n        if self.q:\n            return self.q.popleft(), False\n")]),
        {"test_runnext_runs_first_and_inherits_time"}),
    "runnext_not_emptied": (_changed(RUNQ_DEQUE, [("            self.runnext = None\n            return g, True\n",
                                                    "            return g, True\n")]),
                            {"test_runnext_runs_first_and_inherits_time"}),
    "kicked_g_dropped": (_changed(RUNQ_DEQUE, [("            if old is None:\n                return\n            g = old\n",
                                                 "            return\n")]),
                         {"test_runnext_kicks_the_old_one_to_the_tail"}),
    "kick_to_head": (_changed(RUNQ_DEQUE, [("            g = old\n",
                                            "            self.q.appendleft(old)\n            return\n")]),
                     {"test_runnext_kicks_the_old_one_to_the_tail"}),
    "kick_never_overflows": (_changed(RUNQ_DEQUE, [("            g = old\n",
                                                    "            self.q.append(old)\n            return\n")]),
                             {"test_kick_can_overflow"}),
    "full_by_total_puts": (_changed(RUNQ_RING, [("        if t - h < RUNQ_SIZE:\n", "        if t < RUNQ_SIZE:\n")]),
                           {"test_ring_holds_256_at_a_time"}),
    "ring_index_not_wrapped": (_changed(RUNQ_RING, [("            self.runq[t % RUNQ_SIZE] = g\n",
                                                     "            self.runq[t] = g\n")]),
                               {"test_ring_holds_256_at_a_time"}),
    "overflow_at_255": (_changed(RUNQ_DEQUE, [("        if len(self.q) >= RUNQ_SIZE:\n",
                                               "        if len(self.q) >= RUNQ_SIZE - 1:\n")]),
                        {"test_ring_holds_256_at_a_time", "test_overflow_moves_half_and_the_new_g"}),
    "overflow_newest_half": (_changed(RUNQ_DEQUE, [(_OVERFLOW,
        "            batch = [self.q.pop() for _ in range(RUNQ_SIZE // 2)][::-1]\n            batch.append(g)\n")]),
        {"test_overflow_moves_half_and_the_new_g"}),
    "overflow_new_g_first": (_changed(RUNQ_DEQUE, [(_OVERFLOW,
        "            batch = [g] + [self.q.popleft() for _ in range(RUNQ_SIZE // 2)]\n")]),
        {"test_overflow_moves_half_and_the_new_g"}),
    "overflow_new_g_stays_local": (_changed(RUNQ_DEQUE, [(_OVERFLOW,
        "            batch = [self.q.popleft() for _ in range(RUNQ_SIZE // 2)]\n            self.q.append(g)\n")]),
        {"test_overflow_moves_half_and_the_new_g"}),
    "overflow_whole_ring": (_changed(RUNQ_DEQUE, [(_OVERFLOW,
        "            batch = [self.q.popleft() for _ in range(RUNQ_SIZE)]\n            batch.append(g)\n")]),
        {"test_overflow_moves_half_and_the_new_g"}),
    "overflow_to_global_head": (_changed(RUNQ_DEQUE, [("            self.sched.global_runq.extend(batch)\n",
                                                       "            self.sched.global_runq.extendleft(reversed(batch))\n")]),
                                {"test_overflow_moves_half_and_the_new_g"}),
    "len_counts_runnext": (_changed(RUNQ_DEQUE, [("        return len(self.q)\n",
                                                  "        return len(self.q) + (self.runnext is not None)\n")]),
                           {"test_runqempty_and_len"}),
    "empty_ignores_runnext": (_changed(RUNQ_DEQUE, [("        return not self.q and self.runnext is None\n",
                                                     "        return not self.q\n")]),
                              {"test_runqempty_and_len"}),
}

# ---------------------------------------------------------------- 10.2 work_stealing

STEAL_GIVEN = '''
from collections import deque

STEAL_TRIES = 4


class G:
    def __init__(self, id):
        self.id = id

    def __repr__(self):
        return f"G{self.id}"


class P:
    def __init__(self, id, runq=(), runnext=None, idle=False):
        self.id = id
        self.runq = deque(runq)
        self.runnext = runnext
        self.idle = idle
'''

# Slices of a list copy, a new deque for the victim, the victims listed once up front.
STEAL_ALT = STEAL_GIVEN + '''

def runqgrab(victim, steal_runnext):
    ring = list(victim.runq)
    take = (len(ring) + 1) // 2
    if take:
        victim.runq = deque(ring[take:])
        return ring[:take]
    if steal_runnext and victim.runnext is not None:
        stolen = victim.runnext
        victim.runnext = None
        return [stolen]
    return []


def runqsteal(thief, victim, steal_runnext):
    got = runqgrab(victim, steal_runnext)
    if not got:
        return None
    *queued, run = got
    for g in queued:
        thief.runq.append(g)
    return run


def steal_work(thief, ps, order):
    victims = [ps[i] for i in order if ps[i] is not thief and not ps[i].idle]
    for attempt in range(STEAL_TRIES):
        last = attempt == STEAL_TRIES - 1
        for v in victims:
            g = runqsteal(thief, v, last)
            if g is not None:
                return g
    return None
'''

# Go's shape: a batch filled by index, a counter of Gs, the thief's tail written one by one.
STEAL_GO = STEAL_GIVEN + '''

def runqgrab(victim, steal_runnext):
    n = len(victim.runq)
    n -= n // 2
    if n == 0:
        next_g = victim.runnext
        if not steal_runnext or next_g is None:
            return []
        victim.runnext = None
        return [next_g]
    batch = [None] * n
    for i in range(n):
        batch[i] = victim.runq[0]
        victim.runq.rotate(-1)
        victim.runq.pop()
    return batch


def runqsteal(thief, victim, steal_runnext):
    batch = runqgrab(victim, steal_runnext)
    n = len(batch)
    if n == 0:
        return None
    n -= 1
    for i in range(n):
        thief.runq.append(batch[i])
    return batch[n]


def steal_work(thief, ps, order):
    i = 0
    while i < STEAL_TRIES:
        steal_runnext = i == STEAL_TRIES - 1
        for k in order:
            p2 = ps[k]
            if p2 is thief:
                continue
            if not p2.idle:
                gp = runqsteal(thief, p2, steal_runnext)
                if gp is not None:
                    return gp
        i += 1
    return None
'''

_GRAB_RUNNEXT = ("    if steal_runnext and victim.runnext is not None:\n        stolen = victim.runnext\n"
                 "        victim.runnext = None\n        return [stolen]\n")

STEAL_WRONG = {
    "grab_smaller_half": (_changed(STEAL_ALT, [("    take = (len(ring) + 1) // 2\n", "    take = len(ring) // 2\n")]),
                          {"test_runqgrab_takes_the_larger_half"}),
    "grab_from_tail": (_changed(STEAL_ALT, [("        victim.runq = deque(ring[take:])\n        return ring[:take]\n",
                                             "        victim.runq = deque(ring[:len(ring) - take])\n"
                                             "        return ring[len(ring) - take:]\n")]),
                       {"test_runqgrab_takes_the_larger_half"}),
    "grab_all": (_changed(STEAL_ALT, [("    take = (len(ring) + 1) // 2\n", "    take = len(ring)\n")]),
                 {"test_runqgrab_takes_the_larger_half"}),
    "grab_runnext_before_ring": (_changed(STEAL_ALT, [
        ("    ring = list(victim.runq)\n", _GRAB_RUNNEXT + "    ring = list(victim.runq)\n")]),
        {"test_runqgrab_takes_runnext_only_from_an_empty_ring"}),
    "grab_runnext_unasked": (_changed(STEAL_ALT, [("    if steal_runnext and victim.runnext is not None:\n",
                                                   "    if victim.runnext is not None:\n")]),
                             {"test_runqgrab_takes_runnext_only_from_an_empty_ring"}),
    "grab_runnext_left_in_place": (_changed(STEAL_ALT, [("        victim.runnext = None\n", "")]),
                                   {"test_runqgrab_takes_runnext_only_from_an_empty_ring"}),
    "steal_runs_the_first": (_changed(STEAL_ALT, [("    *queued, run = got\n", "    run, *queued = got\n")]),
                             {"test_runqsteal_runs_the_last_grabbed"}),
    "steal_queues_reversed": (_changed(STEAL_ALT, [("    for g in queued:\n", "    for g in reversed(queued):\n")]),
                              {"test_runqsteal_runs_the_last_grabbed"}),
    "steal_queues_at_the_head": (_changed(STEAL_ALT, [("    for g in queued:\n        thief.runq.append(g)\n",
                                                       "    thief.runq.extendleft(reversed(queued))\n")]),
                                 {"test_runqsteal_runs_the_last_grabbed"}),
    "work_robs_the_thief": (_changed(STEAL_ALT, [("if ps[i] is not thief and not ps[i].idle]", "if not ps[i].idle]")]),
                            {"test_steal_work_skips_the_thief_and_idle_ps"}),
    "work_robs_idle_ps": (_changed(STEAL_ALT, [("if ps[i] is not thief and not ps[i].idle]", "if ps[i] is not thief]")]),
                          {"test_steal_work_skips_the_thief_and_idle_ps"}),
    "work_ignores_order": (_changed(STEAL_ALT, [("victims = [ps[i] for i in order if ps[i] is not thief and not ps[i].idle]",
                                                 "victims = [q for q in ps if q is not thief and not q.idle]")]),
                           {"test_steal_work_tries_victims_in_order_and_stops_at_the_first"}),
    "work_robs_every_victim": (_changed(STEAL_ALT, [(
        "        for v in victims:\n            g = runqsteal(thief, v, last)\n            if g is not None:\n"
        "                return g\n",
        "        found = None\n        for v in victims:\n            g = runqsteal(thief, v, last)\n"
        "            if g is not None:\n                if found is None:\n                    found = g\n"
        "                else:\n                    thief.runq.append(g)\n        if found is not None:\n"
        "            return found\n")]),
        {"test_steal_work_tries_victims_in_order_and_stops_at_the_first"}),
    "work_runnext_every_round": (_changed(STEAL_ALT, [("        last = attempt == STEAL_TRIES - 1\n", "        last = True\n")]),
                                 {"test_steal_work_takes_runnext_only_as_a_last_resort"}),
    "work_runnext_first_round": (_changed(STEAL_ALT, [("        last = attempt == STEAL_TRIES - 1\n", "        last = attempt == 0\n")]),
                                 {"test_steal_work_takes_runnext_only_as_a_last_resort"}),
    "work_never_runnext": (_changed(STEAL_GO, [("        steal_runnext = i == STEAL_TRIES - 1\n",
                                                "        steal_runnext = i == STEAL_TRIES\n")]),
                           {"test_steal_work_takes_runnext_only_as_a_last_resort"}),
}

# ---------------------------------------------------------------- 10.3 find_runnable

FIND_GIVEN = '''
from collections import deque

RUNQ_SIZE = 256


class G:
    def __init__(self, id):
        self.id = id

    def __repr__(self):
        return f"G{self.id}"


class P:
    def __init__(self, id, runq=(), runnext=None, schedtick=0, idle=False):
        self.id = id
        self.runq = deque(runq)
        self.runnext = runnext
        self.schedtick = schedtick
        self.idle = idle


class Sched:
    def __init__(self, ps, global_runq=()):
        self.ps = list(ps)
        self.global_runq = deque(global_runq)
'''

# One function per step, tried in a table; list slices for the netpoll injection.
FIND_ALT = FIND_GIVEN + '''

def _fair(p, sched, ready, steal):
    if sched.global_runq and p.schedtick % 61 == 0:
        return "global-fair", sched.global_runq.popleft()


def _local(p, sched, ready, steal):
    if p.runnext is not None:
        g = p.runnext
        p.runnext = None
        return "local", g
    if len(p.runq):
        return "local", p.runq.popleft()


def _batch(p, sched, ready, steal):
    q = sched.global_runq
    if not q:
        return None
    gomaxprocs = len(sched.ps)
    n = len(q) // gomaxprocs + 1
    n = min(n, len(q))
    if n > RUNQ_SIZE // 2:
        n = RUNQ_SIZE // 2
    taken = [q.popleft() for _ in range(n)]
    for g in taken[1:]:
        p.runq.append(g)
    return "global-batch", taken[0]


def _netpoll(p, sched, ready, steal):
    if not ready:
        return None
    gs = ready[:]
    ready.clear()
    first, rest = gs[0], gs[1:]
    idle = len([q for q in sched.ps if q.idle])
    to_global, rest = rest[:idle], rest[idle:]
    room = RUNQ_SIZE - len(p.runq)
    p.runq.extend(rest[:room])
    sched.global_runq.extend(to_global + rest[room:])
    return "netpoll", first


def _steal(p, sched, ready, steal):
    if steal is None:
        return None
    g = steal(p)
    if g is not None:
        return "steal", g


STEPS = [_fair, _local, _batch, _netpoll, _steal]


def find_runnable(p, sched, netpoll_ready, steal=None):
    for step in STEPS:
        found = step(p, sched, netpoll_ready, steal)
        if found is not None:
            return found
    return ("idle", None)
'''

FIND_WRONG = {
    "no_fair_check": (_changed(FIND_ALT, [("STEPS = [_fair, _local,", "STEPS = [_local,")]),
                      {"test_fair_check_every_61st_tick", "test_pingpong_fairness"}),
    "fair_check_after_local": (_changed(FIND_ALT, [("STEPS = [_fair, _local,", "STEPS = [_local, _fair,")]),
                               {"test_fair_check_every_61st_tick"}),
    "fair_takes_a_batch": (_changed(FIND_ALT, [(
        '    if sched.global_runq and p.schedtick % 61 == 0:\n        return "global-fair", sched.global_runq.popleft()\n',
        '    if sched.global_runq and p.schedtick % 61 == 0:\n        return "global-fair", _batch(p, sched, ready, steal)[1]\n')]),
        {"test_fair_check_every_61st_tick"}),
    "fair_counts_calls": (_changed(FIND_ALT, [(
        "def _fair(p, sched, ready, steal):\n    if sched.global_runq and p.schedtick % 61 == 0:\n",
        "CALLS = [0]\n\n\ndef _fair(p, sched, ready, steal):\n    CALLS[0] += 1\n"
        "    if sched.global_runq and CALLS[0] % 61 == 0:\n")]),
        {"test_pingpong_fairness"}),
    # runtime2.go calls schedtick "incremented on every scheduler call"; execute() does it, and not for runnext
    "schedtick_per_call": (_changed(FIND_ALT, [("    for step in STEPS:\n", "    p.schedtick += 1\n    for step in STEPS:\n")]),
                           {"test_pingpong_fairness"}),
    "ring_before_runnext": (_changed(FIND_ALT, [(
        "def _local(p, sched, ready, steal):\n",
        "def _local(p, sched, ready, steal):\n    if p.runq:\n        return \"local\", p.runq.popleft()\n")]),
        {"test_local_queue_runnext_first"}),
    "runnext_not_emptied": (_changed(FIND_ALT, [("        p.runnext = None\n        return \"local\", g\n",
                                                 "        return \"local\", g\n")]),
                            {"test_local_queue_runnext_first"}),
    "batch_before_local": (_changed(FIND_ALT, [("STEPS = [_fair, _local, _batch,", "STEPS = [_fair, _batch, _local,")]),
                           {"test_local_queue_runnext_first"}),
    "batch_without_plus_one": (_changed(FIND_ALT, [("    n = len(q) // gomaxprocs + 1\n", "    n = max(1, len(q) // gomaxprocs)\n")]),
                               {"test_global_batch_size"}),
    "batch_without_cap": (_changed(FIND_ALT, [("    if n > RUNQ_SIZE // 2:\n        n = RUNQ_SIZE // 2\n", "")]),
                          {"test_global_batch_size"}),
    "batch_ignores_gomaxprocs": (_changed(FIND_ALT, [("    n = len(q) // gomaxprocs + 1\n", "    n = len(q)\n")]),
                                 {"test_global_batch_size"}),
    "batch_cap_from_queue_length": (_changed(FIND_ALT, [(
        "    if n > RUNQ_SIZE // 2:\n        n = RUNQ_SIZE // 2\n",
        "    if n > max(1, len(p.runq) // 2):\n        n = max(1, len(p.runq) // 2)\n")]),
        {"test_global_batch_size"}),
    "batch_other_gs_reversed": (_changed(FIND_ALT, [("    for g in taken[1:]:\n", "    for g in reversed(taken[1:]):\n")]),
                                {"test_global_batch_size"}),
    "batch_runs_the_last": (_changed(FIND_ALT, [("    for g in taken[1:]:\n        p.runq.append(g)\n"
                                                 "    return \"global-batch\", taken[0]\n",
                                                 "    for g in taken[:-1]:\n        p.runq.append(g)\n"
                                                 "    return \"global-batch\", taken[-1]\n")]),
                            {"test_global_batch_size"}),
    "netpoll_before_batch": (_changed(FIND_ALT, [("_batch, _netpoll, _steal]", "_netpoll, _batch, _steal]")]),
                             {"test_netpoll_after_the_queues"}),
    "netpoll_list_kept": (_changed(FIND_ALT, [("    ready.clear()\n", "")]),
                          {"test_netpoll_after_the_queues"}),
    "netpoll_polled_first": (_changed(FIND_ALT, [(
        "    for step in STEPS:\n",
        "    polled = list(netpoll_ready)\n    netpoll_ready.clear()\n    for step in STEPS:\n"),
        ("        found = step(p, sched, netpoll_ready, steal)\n", "        found = step(p, sched, polled, steal)\n")]),
        {"test_netpoll_after_the_queues"}),
    "netpoll_runs_the_last": (_changed(FIND_ALT, [("    first, rest = gs[0], gs[1:]\n", "    first, rest = gs[-1], gs[:-1]\n")]),
                              {"test_netpoll_after_the_queues", "test_netpoll_injects_the_rest_like_injectglist"}),
    "netpoll_ignores_idle_ps": (_changed(FIND_ALT, [("    idle = len([q for q in sched.ps if q.idle])\n", "    idle = 0\n")]),
                                {"test_netpoll_injects_the_rest_like_injectglist"}),
    "netpoll_rest_all_global": (_changed(FIND_ALT, [("    room = RUNQ_SIZE - len(p.runq)\n", "    room = 0\n")]),
                                {"test_netpoll_injects_the_rest_like_injectglist", "test_netpoll_after_the_queues"}),
    "netpoll_ring_unbounded": (_changed(FIND_ALT, [("    room = RUNQ_SIZE - len(p.runq)\n", "    room = len(rest)\n")]),
                               {"test_netpoll_injects_the_rest_like_injectglist"}),
    "steal_before_netpoll": (_changed(FIND_ALT, [("_batch, _netpoll, _steal]", "_batch, _steal, _netpoll]")]),
                             {"test_netpoll_after_the_queues"}),
    "steal_none_called": (_changed(FIND_ALT, [("    if steal is None:\n        return None\n", "")]),
                          {"test_steal_is_the_last_resort"}),
    "steal_nothing_not_idle": (_changed(FIND_ALT, [("    g = steal(p)\n    if g is not None:\n        return \"steal\", g\n",
                                                    "    return \"steal\", steal(p)\n")]),
                               {"test_steal_is_the_last_resort"}),
}

VARIANTS = (
    [("deque", "run_queue.py", RUNQ_DEQUE, None), ("list", "run_queue.py", RUNQ_LIST, None),
     ("ring", "run_queue.py", RUNQ_RING, None)]
    + [(n, "run_queue.py", src, must) for n, (src, must) in RUNQ_WRONG.items()]
    + [("slices", "work_stealing.py", STEAL_ALT, None), ("go_shape", "work_stealing.py", STEAL_GO, None)]
    + [(n, "work_stealing.py", src, must) for n, (src, must) in STEAL_WRONG.items()]
    + [("step_table", "find_runnable.py", FIND_ALT, None)]
    + [(n, "find_runnable.py", src, must) for n, (src, must) in FIND_WRONG.items()]
)
