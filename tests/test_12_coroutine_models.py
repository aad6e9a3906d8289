"""Graded tests of 12_coroutine_models (tasks 12.1-12.7). The code under test runs in a child
process (see coursekit.runner); scenarios are module-level functions sent to it as source code,
and the helpers they share travel as strings of source that they exec (plain data).

12.1 (the reduction scheduler) is pure: generators yield their costs, and every expected list
of slices is worked out here, in the grader, by expected_slices() (the oracle), from the rules
of the statement. Nothing runs in threads and nothing is timed.

12.2 (the poll/waker executor) runs futures the tests bring (FUTURES below): a Manual future
whose waker the scenario captures and calls, a future that wakes itself n times, one that
completes and wakes another, one whose poll raises. Poll counts are exact. The one cross-thread
test (block_on woken from another thread) is steered, not timed: the helper thread completes
the future only once the main thread is seen blocked in a threading wait (sys._current_frames)
or has polled the future again without a wake - so an executor that busy-polls polls a third
time, every run, and one that sleeps on its Condition polls exactly twice. The watcher looks at
the main thread's state every 0.5 ms (a sampling period: what it finds, not when, decides); after
2 s of not seeing a threading wait (a doorbell that blocks in C shows no Python frame) it
completes the future anyway, which a busy poller has long since given away by polling again. A
spy on threading.Condition.wait catches a block_on that wakes on a timeout. The runner's time
limit is the safety net for an executor that never wakes up (explained_hang says why).

12.3 is an answer key: each test checks one axis over the thirteen runtimes.

12.4-12.7 (the capstone, below its own heading) run each way's service in the child and drive
it with loopback clients: a gate holds the long compute until every short answer has arrived,
so nothing is timed.

PYTEST_DONT_REWRITE: a failing assert reads as its message alone.
"""

import random

import pytest

from coursekit.testing import check_raises, explained_hang, fail_if_any

task = pytest.mark.task


# ---------------------------------------------------------------- 12.1 the reduction scheduler

def oracle(budget, procs):
    """The slices the statement's rules give for processes [name, costs, value] spawned in this
    order (costs: what each step yields; None costs 1), worked out in the grader."""
    queue = [[name, list(costs), False] for name, costs, _ in procs]
    out = []
    while queue:
        name, costs, _ = queue.pop(0)
        charge = 0
        while True:
            if charge >= budget:
                out.append([name, charge])
                queue.append([name, costs, False])
                break
            if not costs:                        # this resume raises StopIteration
                out.append([name, charge])
                break
            cost = costs.pop(0)
            charge += 1 if cost is None else cost
    return out


def run_processes(module, budget, procs):
    """Spawn a generator per [name, costs, value] (it yields each cost, then returns value)
    and run them: {"slices": ..., "results": ...}."""
    def process(costs, value):
        for cost in costs:
            yield cost
        return value

    s = module.ReductionScheduler(budget)
    for name, costs, value in procs:
        s.spawn(name, process(costs, value))
    slices = s.run()
    return {"slices": [list(x) for x in slices], "results": dict(s.results)}


def describe(procs):
    parts = []
    for name, costs, _ in procs:
        if costs and all(c is None for c in costs):
            parts.append(f"{name} yields None {len(costs)} times")
        elif costs and all(c == costs[0] for c in costs):
            parts.append(f"{name} yields {costs[0]!r} {len(costs)} times")
        else:
            parts.append(f"{name} yields {costs}")
    return "; ".join(parts)


def check_slices(impl, cases, what):
    """cases: (budget, procs). Compare the slices with the oracle's; report the first that differs."""
    __tracebackhide__ = True
    problems = []
    for budget, procs in cases:
        got = impl.run(run_processes, budget, procs)["slices"]
        expected = oracle(budget, procs)
        if got == expected:
            continue
        i = next((k for k, (g, e) in enumerate(zip(got, expected)) if g != e), min(len(got), len(expected)))
        problems.append(f"budget {budget}, spawned in this order: {describe(procs)}. run() should return "
                        f"{len(expected)} slices; slice {i} should be {expected[i] if i < len(expected) else 'none'}, "
                        f"got {got[i] if i < len(got) else 'none'} (slices before it: {expected[max(0, i - 3):i]}; "
                        f"whole result {got!r:.300})")
    fail_if_any(problems, f"{what}:")


def units(name, n, value=None):
    return [name, [None] * n, value]


@pytest.fixture
def sched(exercise):
    return exercise("reduction_scheduler")


@task("12.1")
def test_the_statements_example(sched):
    """Budget 4, A and B yielding 10 times: A4 B4 A4 B4 A2 B2"""
    got = sched.run(run_processes, 4, [units("A", 10, "a"), units("B", 10, "b")])
    expected = [["A", 4], ["B", 4], ["A", 4], ["B", 4], ["A", 2], ["B", 2]]
    assert got["slices"] == expected, (f"ReductionScheduler(4) with A and B each yielding None 10 times: run() should "
                                       f"return {expected} (as (name, reductions) pairs), got {got['slices']!r:.300}")


@task("12.1")
def test_round_robin_at_several_budgets(sched):
    """FIFO run queue, a fresh budget per slice, the preempted process behind all those waiting"""
    procs = [units("A", 7), units("B", 3), units("C", 12), units("D", 1)]
    check_slices(sched, [(b, procs) for b in (1, 2, 3, 5, 100)],
                 "the head of the run queue runs until its slice's charge reaches the budget, then goes to "
                 "the tail, behind every process waiting")


@task("12.1")
def test_uneven_costs_are_charged(sched):
    """Each yielded int is what the step cost; None costs 1"""
    check_slices(sched, [
        (5, [["A", [2, 2, 2, 2, 2], None], ["B", [1, None, 3, None, 1, 1], None]]),
        (6, [["A", [3, None, 2, 5, 1], None], ["B", [4, 4, 4], None], ["C", [None] * 9, None]]),
        (10, [["A", [7, 2, None, 9, 1], None], ["B", [2] * 8, None]]),
    ], "a step that yields n charges n reductions, None charges 1, and the slice ends once its charge "
       "reaches the budget")


@task("12.1")
def test_an_overshooting_step_ends_the_slice_with_its_whole_cost(sched):
    """Budget 4, a step that yields 10: a slice of 10, not 4"""
    check_slices(sched, [
        (4, [["A", [10, 1, 1], None], ["B", [None] * 5, None]]),
        (4, [["A", [3, 3, 3], None], ["B", [5], None]]),
        (1, [["A", [2, 3], None], ["B", [1, 1], None]]),
    ], "the budget is checked before each resume; a step that passes it ends the slice with the whole charge "
       "(a reduction count is not cut short)")


@task("12.1")
def test_a_slice_that_only_returns_is_recorded(sched):
    """A process that spent its budget on its last yield gets one more slice, of 0, when it returns"""
    check_slices(sched, [
        (4, [units("A", 4), units("B", 2)]),
        (3, [units("A", 6), units("B", 3)]),
        (2, [["A", [], None], units("B", 2)]),
    ], "the slice in which the generator returns (StopIteration) is recorded even when it charged 0")


@task("12.1")
def test_return_values_go_to_results(sched):
    """results[name] is each finished process's return value"""
    got = sched.run(run_processes, 3, [units("A", 5, "five"), units("B", 0, 0), units("C", 2, [1, 2]),
                                       units("D", 4, None)])
    expected = {"A": "five", "B": 0, "C": [1, 2], "D": None}
    assert got["results"] == expected, (f"after run(), results should map each process to its generator's return "
                                        f"value (StopIteration.value): {expected}, got {got['results']!r:.300}")


@task("12.1")
def test_unit_costs_are_fair(sched):
    """At every preemption the totals of two live processes differ by at most the budget"""
    rng = random.Random(12)
    problems = []
    for budget in (1, 3, 7):
        lengths = {f"P{i}": rng.randint(1, 60) for i in range(6)}
        procs = [units(name, n) for name, n in lengths.items()]
        slices = sched.run(run_processes, budget, procs)["slices"]
        totals = dict.fromkeys(lengths, 0)
        for k, (name, charge) in enumerate(slices):
            totals[name] = totals.get(name, 0) + charge
            if charge < budget:
                continue                        # a final slice, not a preemption
            live = [n for n in lengths if totals[n] < lengths[n] or n == name]
            spread = max(totals[n] for n in live) - min(totals[n] for n in live)
            if spread > budget:
                problems.append(f"budget {budget}, processes of {lengths} unit steps: after slice {k} ({name} "
                                f"preempted) the live processes have used {({n: totals[n] for n in live})}, a spread of "
                                f"{spread} > {budget}")
                break
        if sum(totals.values()) != sum(lengths.values()):
            problems.append(f"budget {budget}: the slices charge {sum(totals.values())} reductions in all, but the "
                            f"processes yield {sum(lengths.values())} times")
    fail_if_any(problems, "round robin over a FIFO queue keeps live processes within one budget of each other:")


def bad_budgets(module):
    """Which budgets the constructor refuses with ValueError (others propagate)."""
    out = {}
    for label, budget in [("0", 0), ("-3", -3), ("True", True), ("4.0", 4.0), ("'4'", "4"), ("None", None)]:
        try:
            module.ReductionScheduler(budget)
        except ValueError:
            out[label] = True
        except TypeError:
            out[label] = "TypeError"
        else:
            out[label] = False
    for label, budget in [("1", 1), ("4000", 4000)]:
        module.ReductionScheduler(budget)
    return out


@task("12.1")
def test_a_bad_budget_raises_value_error(sched):
    """budget: an int >= 1, not a bool; anything else raises ValueError"""
    got = sched.run(bad_budgets)
    wrong = [f"ReductionScheduler({k})" + (" raised TypeError" if v == "TypeError" else " did not raise")
             for k, v in got.items() if v is not True]
    fail_if_any(wrong, "these should raise ValueError (the budget must be an int >= 1, and True is not a budget):")


def spawn_checks(module):
    """What spawn does with things that are not generators, and with names used before."""
    def gen(n):
        for _ in range(n):
            yield
        return n

    out = {}
    s = module.ReductionScheduler(2)
    for label, thing in [("a list [1, 2]", [1, 2]), ("a generator function, not called", gen),
                         ("an iterator iter([1])", iter([1])), ("None", None), ("a range", range(3))]:
        try:
            s.spawn("x", thing)
            out[label] = "no error"
        except TypeError:
            out[label] = "TypeError"
        except Exception as exc:
            out[label] = type(exc).__name__
    s = module.ReductionScheduler(2)
    s.spawn("A", gen(3))
    try:
        s.spawn("A", gen(1))
        out["the live name A again"] = "no error"
    except ValueError:
        out["the live name A again"] = "ValueError"
    s.run()
    try:
        s.spawn("A", gen(1))
        out["the name A of a finished process"] = "no error"
    except ValueError:
        out["the name A of a finished process"] = "ValueError"
    return out


@task("12.1")
def test_spawn_checks_its_arguments(sched):
    """spawn: TypeError unless gen is a generator; ValueError for a name used before, live or finished"""
    got = sched.run(spawn_checks)
    problems = []
    for label, outcome in got.items():
        want = "ValueError" if "name" in label else "TypeError"
        if outcome != want:
            problems.append(f"spawn(..., {label}) should raise {want}, got {outcome}")
    fail_if_any(problems, "spawn takes a unique name and a generator object:")


def spawning_process(module):
    """P spawns Q during its first step; budget 3."""
    s = module.ReductionScheduler(3)

    def q():
        yield
        yield
        return "q"

    def p():
        s.spawn("Q", q())
        for _ in range(5):
            yield
        return "p"

    def r():
        for _ in range(4):
            yield
        return "r"

    s.spawn("P", p())
    s.spawn("R", r())
    return {"slices": [list(x) for x in s.run()], "results": dict(s.results)}


@task("12.1")
def test_a_process_can_spawn_during_run(sched):
    """A process spawned during run() joins the tail at once, ahead of its preempted parent"""
    got = sched.run(spawning_process)
    expected = [["P", 3], ["R", 3], ["Q", 2], ["P", 2], ["R", 1]]
    assert got["slices"] == expected, (
        "budget 3; P (5 unit steps) spawns Q (2 steps) in its first step, R has 4 steps: Q joins the tail when it is "
        "spawned, behind R and ahead of P, which is preempted later in that slice. run() should return "
        f"{expected}, got {got['slices']!r:.300}")
    assert got["results"] == {"P": "p", "R": "r", "Q": "q"}, (
        f"a process spawned during run() runs to its end in the same run(): results should be "
        f"{{'P': 'p', 'R': 'r', 'Q': 'q'}}, got {got['results']!r:.300}")


def failing_runs(module, bad):
    """B (started, then suspended) and A, which yields `bad` or raises, under budget 2."""
    closed = []

    def b():
        try:
            for _ in range(5):
                yield
        finally:
            closed.append("B")

    def a():
        try:
            yield 1
            if bad == "raise":
                raise RuntimeError("boom in A")
            yield bad
            yield 1
        finally:
            closed.append("A")

    s = module.ReductionScheduler(2)
    kept = [b(), a()]             # referenced here, so only the scheduler can close them
    s.spawn("B", kept[0])
    s.spawn("A", kept[1])
    try:
        s.run()
        outcome, at_raise = "returned", sorted(closed)
    except Exception as exc:
        outcome, at_raise = f"{type(exc).__name__}: {exc}", sorted(closed)   # what run() had closed by then
    return {"outcome": outcome, "closed": at_raise}


@task("12.1")
def test_a_bad_cost_raises_value_error_and_closes(sched):
    """Yielding a bool, 0, a negative int, a float or a str raises ValueError from run(), the generators closed"""
    problems = []
    for bad in (True, False, 0, -2, 1.5, "3"):
        got = sched.run(failing_runs, bad)
        if not got["outcome"].startswith("ValueError"):
            problems.append(f"A yields {bad!r}: run() should raise ValueError, got {got['outcome']}")
        elif "A" not in got["closed"]:
            problems.append(f"A yields {bad!r}: run() raised ValueError but did not close A's generator first "
                            "(its finally clause never ran)")
        elif "B" not in got["closed"]:
            problems.append(f"A yields {bad!r}: run() raised ValueError but left B, which was suspended in the run "
                            "queue, unclosed (its finally clause never ran)")
    fail_if_any(problems, "a step costs None or an int >= 1; anything else is the process's bug:")


@task("12.1")
def test_a_raising_process_stops_the_run(sched):
    """The exception of a process propagates out of run(), and the other generators are closed"""
    got = sched.run(failing_runs, "raise")
    assert got["outcome"] == "RuntimeError: boom in A", (
        f"process A raises RuntimeError('boom in A') in its second step: run() should let that same exception out, "
        f"got {got['outcome']}")
    assert got["closed"] == ["A", "B"], (
        "after a process raised, the other generators (B, suspended in the run queue) should be closed, so their "
        f"finally clauses run: closed {got['closed']}")


# ---------------------------------------------------------------- 12.2 the poll/waker executor

FUTURES = '''
import sys, threading

class Manual:
    """PENDING until complete(value); keeps the waker of its last poll for the test to call."""
    def __init__(self, m):
        self.m, self.polls, self.waker, self.finished, self.value = m, 0, None, False, None
    def poll(self, waker):
        self.polls += 1
        self.waker = waker
        return self.m.Ready(self.value) if self.finished else self.m.PENDING
    def complete(self, value):
        self.finished, self.value = True, value

class Now:
    def __init__(self, m, value):
        self.m, self.value, self.polls = m, value, 0
    def poll(self, waker):
        self.polls += 1
        return self.m.Ready(self.value)

class SelfWaking:
    """Wakes its own waker (inside poll) n times, then is Ready(value)."""
    def __init__(self, m, n, value):
        self.m, self.n, self.value, self.polls = m, n, value, 0
    def poll(self, waker):
        self.polls += 1
        if self.polls <= self.n:
            waker.wake()
            return self.m.PENDING
        return self.m.Ready(self.value)

class Completer:
    """Completes `other` (a Manual) and wakes it, then is Ready."""
    def __init__(self, m, other, value):
        self.m, self.other, self.value, self.polls = m, other, value, 0
    def poll(self, waker):
        self.polls += 1
        self.other.complete(self.value)
        self.other.waker.wake()
        return self.m.Ready("completer")

class Helper:
    """Completes `other` (a Manual) and wakes it if it was polled already, then is Ready."""
    def __init__(self, m, other, value):
        self.m, self.other, self.value, self.polls = m, other, value, 0
    def poll(self, waker):
        self.polls += 1
        self.other.complete(self.value)
        if self.other.waker is not None:
            self.other.waker.wake()
        return self.m.Ready("helper")

def rescue_after(future, seconds):
    """A safety net for an executor that never polls the task that would complete `future`:
    after `seconds`, complete and wake it from this thread, and say so."""
    if not future.gone.wait(seconds) and future.waker is not None:
        future.rescued = True
        future.complete("rescued")
        future.waker.wake()

class Boom:
    def __init__(self, m):
        self.m, self.polls = m, 0
    def poll(self, waker):
        self.polls += 1
        raise ValueError("bad poll")

def attempt(fn, *args):
    try:
        return ["value", fn(*args)]
    except Exception as exc:
        return ["raise", f"{type(exc).__name__}: {exc}"]

def blocked_in_wait(ident):
    """Is thread `ident` inside a threading wait (Condition.wait, Event.wait, ...)?"""
    frame = sys._current_frames().get(ident)
    while frame is not None:
        if frame.f_code.co_name == "wait" and frame.f_code.co_filename.endswith("threading.py"):
            return True
        frame = frame.f_back
    return False

def complete_from_thread(future, value, main):
    """After the first poll (future.first_poll), once the main thread is blocked in a wait or
    has polled again without a wake, complete `future` and wake it, from this thread. The
    scenario sets future.gone when block_on has returned or raised: then there is nobody to wake."""
    import time
    future.first_poll.wait()
    give_up = time.monotonic() + 2.0    # a wait outside threading.py (a C-level doorbell) shows no frame
    while not (blocked_in_wait(main) or future.polls >= 2 or future.gone.is_set()
               or time.monotonic() > give_up):
        time.sleep(0.0005)          # looking at the main thread's state, not waiting out a race
    if future.gone.is_set() or future.waker is None:
        return
    future.complete(value)
    future.waker.wake()

class Signalling(Manual):
    """A Manual that sets an Event at its first poll."""
    def __init__(self, m):
        super().__init__(m)
        self.first_poll = threading.Event()
        self.gone = threading.Event()
    def poll(self, waker):
        out = super().poll(waker)
        self.first_poll.set()
        return out
'''


def ready_now(module, kit):
    exec(kit, globals())
    ex = module.PollExecutor()
    f = Now(module, 5)
    h = ex.spawn(f)
    before = [h.polls, f.polls]
    ex.run_until_stalled()
    out = {"spawn_polled": before, "after": [h.done(), attempt(h.result), h.polls, f.polls]}
    g = Now(module, 7)
    out["block_on"] = [attempt(module.PollExecutor().block_on, g), g.polls]
    return out


@pytest.fixture
def executor(exercise):
    return exercise("poll_executor")


@task("12.2")
def test_ready_at_the_first_poll_is_polled_once(executor):
    """spawn polls nothing; a future Ready at its first poll is polled once; block_on returns its value"""
    got = executor.run(ready_now, FUTURES)
    assert got["spawn_polled"] == [0, 0], (f"spawn() should only add the task (it is polled by run_until_stalled or "
                                           f"block_on): right after spawn, handle.polls and the future's own count "
                                           f"should be 0 and 0, got {got['spawn_polled']}")
    done, result, polls, own = got["after"]
    assert done is True and result == ["value", 5], (f"a future whose first poll returns Ready(5): after "
                                                     f"run_until_stalled(), handle.done() should be True and "
                                                     f"handle.result() 5, got {done} and {result}")
    assert polls == 1 and own == 1, (f"a future Ready at its first poll should be polled exactly once; handle.polls "
                                     f"is {polls}, and the future counted {own} polls")
    assert got["block_on"] == [["value", 7], 1], (f"block_on(a future Ready(7) at once) should return 7 after one "
                                                  f"poll; got {got['block_on'][0]} after {got['block_on'][1]} polls")


def never_woken(module, kit):
    exec(kit, globals())
    ex = module.PollExecutor()
    f = Manual(module)
    h = ex.spawn(f)
    ex.run_until_stalled()
    ex.run_until_stalled()
    return {"done": h.done(), "polls": [h.polls, f.polls], "result": attempt(h.result)}


@task("12.2")
def test_a_task_never_woken_is_polled_once(executor):
    """A pending task nobody wakes is polled once, however often run_until_stalled runs, and stays pending"""
    got = executor.run(never_woken, FUTURES)
    assert got["polls"] == [1, 1], (f"a future that returns PENDING and is never woken should be polled once, by the "
                                    f"first run_until_stalled(), and not again by the second: handle.polls is "
                                    f"{got['polls'][0]}, the future counted {got['polls'][1]}")
    assert got["done"] is False, "a task whose only poll returned PENDING is not done: handle.done() returned True"
    assert got["result"][0] == "raise" and got["result"][1].startswith("RuntimeError"), (
        f"handle.result() of a pending task should raise RuntimeError, got {got['result']}")


def woken(module, kit):
    exec(kit, globals())
    ex = module.PollExecutor()
    out = {}
    f = Manual(module)
    h = ex.spawn(f)
    ex.run_until_stalled()
    f.complete("v")
    f.waker.wake()
    ex.run_until_stalled()
    out["once"] = [h.done(), attempt(h.result), h.polls, f.polls]
    g = Manual(module)
    k = ex.spawn(g)
    ex.run_until_stalled()
    g.waker.wake()          # woken, but still not finished
    ex.run_until_stalled()
    ex.run_until_stalled()
    out["still_pending"] = [k.done(), k.polls, g.polls]
    d = Manual(module)
    j = ex.spawn(d)
    ex.run_until_stalled()
    d.waker.wake()
    d.waker.wake()
    ex.run_until_stalled()
    out["double"] = [j.polls, d.polls]
    d.waker.wake()
    d.waker.wake()
    d.waker.wake()
    ex.run_until_stalled()
    out["triple"] = [j.polls, d.polls]
    return out


@task("12.2")
def test_a_task_woken_once_is_polled_exactly_twice(executor):
    """Woken once: polled exactly once more (Ready or still pending), then never again until the next wake"""
    got = executor.run(woken, FUTURES)
    done, result, polls, own = got["once"]
    assert (done, result) == (True, ["value", "v"]), (
        f"a Manual future polled, then completed with 'v' and woken: after the next run_until_stalled() the task "
        f"should be done with result 'v', got done() {done}, result() {result}")
    assert [polls, own] == [2, 2], (f"that future should be polled exactly twice (once pending, once after its wake), "
                                    f"got handle.polls {polls} and the future's count {own}")
    k_done, k_polls, g_polls = got["still_pending"]
    assert (k_done, k_polls, g_polls) == (False, 2, 2), (
        f"a future woken once that is still PENDING at its second poll should have been polled twice and be "
        f"pending, however many run_until_stalled() follow: done() {k_done}, handle.polls {k_polls}, "
        f"the future counted {g_polls}")


@task("12.2")
def test_two_wakes_before_a_poll_give_one_poll(executor):
    """wake() twice (or three times) before the next poll: one poll"""
    got = executor.run(woken, FUTURES)
    assert got["double"] == [2, 2], (f"a pending future, woken twice before the next run_until_stalled(), should be "
                                     f"polled once more (twice in all): handle.polls and its own count are "
                                     f"{got['double']}; a ready queue that holds a task at most once gives that")
    assert got["triple"] == [3, 3], (f"then woken three times before the next run_until_stalled(): one more poll, "
                                     f"three in all, got {got['triple']}")


def finished_then_woken(module, kit):
    exec(kit, globals())
    ex = module.PollExecutor()
    f = Manual(module)
    h = ex.spawn(f)
    ex.run_until_stalled()
    f.complete(1)
    f.waker.wake()
    ex.run_until_stalled()
    f.waker.wake()
    ex.run_until_stalled()
    n = Now(module, 2)
    k = ex.spawn(n)
    ex.run_until_stalled()
    return {"manual": [h.done(), h.polls, f.polls], "now": [k.done(), k.polls, n.polls]}


@task("12.2")
def test_waking_a_finished_task_does_nothing(executor):
    """A wake after the task finished: no more polls"""
    got = executor.run(finished_then_woken, FUTURES)
    assert got["manual"] == [True, 2, 2], (f"a task that finished at its second poll and is then woken again should "
                                           f"not be polled a third time: done(), handle.polls, the future's count are "
                                           f"{got['manual']}, expected [True, 2, 2]")
    assert got["now"] == [True, 1, 1], f"a future Ready at once, spawned after that: expected [True, 1, 1], got {got['now']}"


def wakers_in_poll(module, kit):
    exec(kit, globals())
    ex = module.PollExecutor()
    s = SelfWaking(module, 3, "s")
    hs = ex.spawn(s)
    ex.run_until_stalled()
    out = {"self": [hs.done(), attempt(hs.result), hs.polls, s.polls]}
    ex = module.PollExecutor()
    waiting = Manual(module)
    hw = ex.spawn(waiting)
    hc = ex.spawn(Completer(module, waiting, "from the completer"))
    ex.run_until_stalled()
    out["other"] = [hw.done(), attempt(hw.result), hw.polls, waiting.polls, hc.done(), hc.polls]
    return out


@task("12.2")
def test_wakes_during_a_poll_count(executor):
    """A future that wakes itself n times is polled n + 1 times; a task woken by another's poll is polled again"""
    got = executor.run(wakers_in_poll, FUTURES)
    done, result, polls, own = got["self"]
    assert (done, result, polls, own) == (True, ["value", "s"], 4, 4), (
        f"a future that calls waker.wake() inside its poll three times, then returns Ready('s'), should be polled "
        f"4 times by one run_until_stalled() (a wake during a poll asks for one more poll): done() {done}, result() "
        f"{result}, handle.polls {polls}, its own count {own}")
    w_done, w_result, w_polls, w_own, c_done, c_polls = got["other"]
    assert (w_done, w_result, w_polls, w_own) == (True, ["value", "from the completer"], 2, 2), (
        f"task W (pending) and then task C, whose poll completes W and wakes W's waker: one run_until_stalled() "
        f"should poll W again and finish it; got done() {w_done}, result() {w_result}, handle.polls {w_polls}, "
        f"W's own count {w_own}")
    assert (c_done, c_polls) == (True, 1), f"C is Ready at its first poll: done() {c_done}, polls {c_polls}"


def woken_from_a_thread(module, kit):
    import threading
    exec(kit, globals())
    main, timeouts, original = threading.get_ident(), [], threading.Condition.wait

    def spied(self, timeout=None):
        if threading.get_ident() == main:
            timeouts.append(timeout)
        return original(self, timeout)

    threading.Condition.wait = spied
    ex = module.PollExecutor()
    f = Signalling(module)
    t = threading.Thread(target=complete_from_thread, args=(f, "across", threading.get_ident()))
    t.start()
    try:
        value = attempt(ex.block_on, f)
    finally:
        f.gone.set()
        f.first_poll.set()
        t.join()
    threading.Condition.wait = original
    return {"value": value, "polls": f.polls, "timeouts": [t for t in timeouts if t is not None]}


@task("12.2")
def test_block_on_sleeps_until_a_wake_from_another_thread(executor):
    """block_on(a future completed by another thread) polls it exactly twice: no busy polling"""
    with explained_hang("block_on() never returned: a wake() from another thread must wake the executor (notify "
                        "the Condition it waits on, after putting the task in the ready queue)"):
        got = executor.run(woken_from_a_thread, FUTURES)
    assert got["value"] == ["value", "across"], (f"block_on(f), where another thread completes f with 'across' and "
                                                 f"calls its waker, should return 'across', got {got['value']}")
    assert got["polls"] == 2, (
        f"that future was polled {got['polls']} times; it should be polled exactly twice - once (PENDING), then "
        f"once after the other thread's wake(). With nothing ready, block_on must wait on a threading.Condition "
        f"until wake() notifies it, not poll the pending target again")
    assert not got["timeouts"], (
        f"block_on waited on a threading.Condition with a timeout ({got['timeouts'][:3]} s): waking on a timer is "
        f"polling on a timer; wait() without a timeout, and let wake() notify it")


def block_on_runs_the_others(module, kit):
    import threading
    exec(kit, globals())
    ex = module.PollExecutor()
    target = Signalling(module)
    target.rescued = False
    h = ex.spawn(Helper(module, target, "from a task"))
    t = threading.Thread(target=rescue_after, args=(target, 5.0))
    t.start()
    try:
        value = attempt(ex.block_on, target)
    finally:
        target.gone.set()
        t.join()
    return {"value": value, "rescued": target.rescued, "helper": [h.done(), h.polls]}


@task("12.2")
def test_block_on_runs_the_other_tasks(executor):
    """block_on polls every ready task, not only its target: a target completed by another task finishes"""
    got = executor.run(block_on_runs_the_others, FUTURES)
    assert not got["rescued"] and got["value"] == ["value", "from a task"], (
        "task H was spawned, then block_on(T) was called; H's poll completes T and wakes it. block_on should "
        "poll H too (it runs every ready task while it waits for T) and return 'from a task', got "
        + ("nothing for 5 s: H was never polled, and the test completed T itself" if got["rescued"] else str(got["value"])))
    assert got["helper"] == [True, 1], f"H should be done after one poll, got done() and polls {got['helper']}"


def joined(module, kit):
    exec(kit, globals())
    ex = module.PollExecutor()
    a, b, c = Manual(module), Now(module, "b"), Manual(module)
    h = ex.spawn(module.join_all([a, b, c]))
    ex.run_until_stalled()
    out = {"first": [h.done(), h.polls, a.polls, b.polls, c.polls]}
    c.complete("c")
    c.waker.wake()
    ex.run_until_stalled()
    out["c_done"] = [h.done(), h.polls, a.polls, b.polls, c.polls]
    c.waker.wake()          # a stale wake of a child that is already Ready
    a.complete("a")
    a.waker.wake()
    ex.run_until_stalled()
    out["all"] = [h.done(), attempt(h.result), h.polls, a.polls, b.polls, c.polls]
    out["empty"] = attempt(module.PollExecutor().block_on, module.join_all([]))
    s1, s2 = SelfWaking(module, 2, 1), SelfWaking(module, 0, 2)
    out["self"] = [attempt(module.PollExecutor().block_on, module.join_all([s1, s2])), s1.polls, s2.polls]
    return out


@task("12.2")
def test_join_all_gives_the_values_in_order(executor):
    """join_all's value lists its futures' values in the order given, whatever order they finish in"""
    got = executor.run(joined, FUTURES)
    done, result = got["all"][:2]
    assert (done, result) == (True, ["value", ["a", "b", "c"]]), (
        f"join_all([a, b, c]) where b is Ready at once, c finishes next and a last: the task should end with "
        f"['a', 'b', 'c'], got done() {done}, result() {result}")
    assert got["empty"] == ["value", []], f"block_on(join_all([])) should return [], got {got['empty']}"
    value, p1, p2 = got["self"]
    assert value == ["value", [1, 2]], f"block_on(join_all of two self-waking futures) should return [1, 2], got {value}"


@task("12.2")
def test_join_all_repolls_only_the_children_woken(executor):
    """Each child has a waker of its own: after the first poll, only a woken child is polled again"""
    got = executor.run(joined, FUTURES)
    names = "join task, a, b, c"
    first, c_done, last = got["first"], got["c_done"], got["all"]
    problems = []
    if first != [False, 1, 1, 1, 1]:
        problems.append(f"after the first run_until_stalled(): done and polls ({names}) should be [False, 1, 1, 1, 1] "
                        f"- every child polled once - got {first}")
    if c_done != [False, 2, 1, 1, 2]:
        problems.append(f"after c was completed and woken: expected [False, 2, 1, 1, 2] (the join task polled again, "
                        f"and of its children only c), got {c_done}")
    if [last[0]] + last[2:] != [True, 3, 2, 1, 2]:
        problems.append(f"after c's waker was called again and a was completed and woken: expected done True and polls [3, 2, 1, 2] (only a polled "
                        f"again: a Ready child is never polled again, even when its waker is called once more), got done {last[0]}, polls {last[2:]}")
    _, p1, p2 = got["self"]
    if (p1, p2) != (3, 1):
        problems.append(f"join_all of a future waking itself twice and one Ready at once: they should be polled 3 "
                        f"and 1 times, got {p1} and {p2}")
    fail_if_any(problems, "join_all gives each child a waker that marks that child and wakes the join_all's task:")


def joined_across_threads(module, kit):
    import threading
    exec(kit, globals())
    f = Signalling(module)
    other = SelfWaking(module, 1, "self")
    t = threading.Thread(target=complete_from_thread, args=(f, "thread", threading.get_ident()))
    t.start()
    try:
        value = attempt(module.PollExecutor().block_on, module.join_all([f, other]))
    finally:
        f.gone.set()
        f.first_poll.set()
        t.join()
    return {"value": value, "polls": [f.polls, other.polls]}


@task("12.2")
def test_join_all_under_block_on_with_a_thread(executor):
    """block_on(join_all([completed by a thread, self-waking once])): [value, value], polled 2 and 2 times"""
    with explained_hang("block_on(join_all(...)) never returned: a child's waker must wake the join_all's task, "
                        "and a wake from another thread must wake block_on"):
        got = executor.run(joined_across_threads, FUTURES)
    assert got["value"] == ["value", ["thread", "self"]], (
        f"block_on(join_all([f, g])), f completed with 'thread' by another thread, g Ready('self') after waking "
        f"itself once: should return ['thread', 'self'], got {got['value']}")
    assert got["polls"] == [2, 2], (
        f"f should be polled twice (pending, then after the thread's wake) and g twice; got {got['polls']}. More "
        f"means a child was polled without being woken, or block_on polled while nothing was ready")


def raising(module, kit):
    exec(kit, globals())
    out = {}
    b = Boom(module)
    out["block_on"] = attempt(module.PollExecutor().block_on, b)
    ex = module.PollExecutor()
    boom, fine = Boom(module), Now(module, 1)
    hb, hf = ex.spawn(boom), ex.spawn(fine)
    out["stalled"] = attempt(ex.run_until_stalled)
    out["handles"] = [hb.done(), attempt(hb.result), hf.done(), attempt(hf.result), boom.polls]
    out["join"] = attempt(module.PollExecutor().block_on, module.join_all([Now(module, 1), Boom(module)]))
    return out


@task("12.2")
def test_a_raising_poll(executor):
    """A poll that raises: block_on raises it; handle.result() raises it; the other tasks run on"""
    got = executor.run(raising, FUTURES)
    problems = []
    if got["block_on"] != ["raise", "ValueError: bad poll"]:
        problems.append(f"block_on(a future whose poll raises ValueError('bad poll')) should raise it, got "
                        f"{got['block_on']}")
    if got["stalled"][0] != "value":
        problems.append(f"run_until_stalled() with a spawned task whose poll raises should not raise (the task "
                        f"finishes with the exception), got {got['stalled']}")
    elif got["handles"] != [True, ["raise", "ValueError: bad poll"], True, ["value", 1], 1]:
        hb_done, hb_result, hf_done, hf_result, polls = got["handles"]
        problems.append(f"after that: the raising task should be done and its result() raise ValueError: bad poll "
                        f"(got {hb_done}, {hb_result}), polled once (got {polls}), and the other task spawned with "
                        f"it done with 1 (got {hf_done}, {hf_result})")
    if got["join"] != ["raise", "ValueError: bad poll"]:
        problems.append(f"block_on(join_all([Ready 1, a raising future])) should raise ValueError: bad poll, got "
                        f"{got['join']}")
    fail_if_any(problems, "an exception from poll() finishes its task and reaches whoever waits for it:")


# ---------------------------------------------------------------- 12.3 the runtimes on the axes

RUNTIMES = ("python_threads", "python_generators", "asyncio", "greenlet", "gevent", "lua", "go", "erlang",
            "rust_async", "java_platform", "java_virtual", "kotlin", "scala_actors")
AXES = ("stackful", "transfer", "scheduler", "preemption", "coloured", "hog_starves")
KEY = {
    "python_threads": (True, "scheduled", "os", "gil_interval", False, False),
    "python_generators": (False, "asymmetric", "none", "none", True, True),
    "asyncio": (False, "asymmetric", "loop", "none", True, True),
    "greenlet": (True, "symmetric", "none", "none", False, True),
    "gevent": (True, "symmetric", "loop", "none", False, True),
    "lua": (True, "asymmetric", "none", "none", False, True),
    "go": (True, "scheduled", "m_n", "signal", False, False),
    "erlang": (True, "scheduled", "m_n", "reductions", False, False),
    "rust_async": (False, "asymmetric", "loop", "none", True, True),
    "java_platform": (True, "scheduled", "os", "os_timeslice", False, False),
    "java_virtual": (True, "scheduled", "m_n", "none", False, True),
    "kotlin": (False, "asymmetric", "loop", "none", True, True),
    "scala_actors": (False, "scheduled", "m_n", "none", False, True),
}
WHY = {
    "stackful": "does each unit keep a whole call stack of its own, so it can suspend from a nested ordinary call?",
    "transfer": "can a unit switch to any unit it names (symmetric), only back to its resumer (asymmetric), or does "
                "a scheduler decide (scheduled)?",
    "scheduler": "who picks the next unit: nobody (none), an event loop (loop), the kernel (os), a runtime "
                 "multiplexing M units over N threads (m_n)?",
    "preemption": "what can stop a unit that does not yield: nothing (none), the kernel's time slice, the GIL "
                  "switch interval, a signal from the runtime, a reduction count?",
    "coloured": "must a function that suspends be marked, and every caller up the chain with it?",
    "hog_starves": "on one core, does a unit that computes without yielding silence a 1 ms heartbeat?",
}


def all_classified(module, runtimes):
    out = {}
    for rt in runtimes:
        try:
            out[rt] = module.classify(rt)
        except Exception as exc:
            out[rt] = f"raised {type(exc).__name__}: {exc}"
    return out


def check_axis(impl, axis):
    __tracebackhide__ = True
    got = impl.run(all_classified, list(RUNTIMES))
    i = AXES.index(axis)
    problems = []
    for rt in RUNTIMES:
        answer = got[rt]
        if not isinstance(answer, dict):
            problems.append(f"classify({rt!r}) should return a dict, got {answer!r:.200}")
        elif axis not in answer:
            problems.append(f"classify({rt!r}) has no key {axis!r} (keys: {sorted(answer)})")
        elif type(answer[axis]) is not type(KEY[rt][i]) or answer[axis] != KEY[rt][i]:
            problems.append(f"classify({rt!r})[{axis!r}] is {answer[axis]!r}; look again at the lesson's evidence")
    fail_if_any(problems, f"{axis}: {WHY[axis]}")


@pytest.fixture
def axes(exercise):
    return exercise("runtime_axes")


@task("12.3")
def test_stackful(axes):
    """stackful: a call stack per unit (greenlet, Lua, goroutines, BEAM, threads) or one frame / state machine"""
    check_axis(axes, "stackful")


@task("12.3")
def test_transfer(axes):
    """transfer: symmetric (switch to anyone), asymmetric (back to the resumer) or scheduled"""
    check_axis(axes, "transfer")


@task("12.3")
def test_scheduler(axes):
    """scheduler: none, loop, os or m_n"""
    check_axis(axes, "scheduler")


@task("12.3")
def test_preemption(axes):
    """preemption: none, os_timeslice, gil_interval, signal or reductions"""
    check_axis(axes, "preemption")


@task("12.3")
def test_coloured(axes):
    """coloured: a suspending function marks every caller up the chain"""
    check_axis(axes, "coloured")


@task("12.3")
def test_hog_starves(axes):
    """hog_starves: does a unit that never yields silence the heartbeat on one core?"""
    check_axis(axes, "hog_starves")


def unknown_runtime(module):
    out = {}
    for name in ("java", "Go", "python", "", "rust"):
        try:
            module.classify(name)
            out[name] = None
        except ValueError as exc:
            out[name] = str(exc)
    return out


@task("12.3")
def test_an_unknown_runtime_raises_value_error(axes):
    """An unknown runtime raises ValueError, and the message names every valid one"""
    check_raises(axes, "classify", [("java",), ("Go",), ("python",), ("",), ("rust",)], "ValueError")
    got = axes.run(unknown_runtime)
    problems = []
    for name, message in got.items():
        missing = [rt for rt in RUNTIMES if rt not in (message or "")]
        if missing:
            problems.append(f"classify({name!r}) raised ValueError({message!r}); the message should name the valid "
                            f"runtimes, and misses {', '.join(missing)}")
    fail_if_any(problems[:1], "a learner who misspells a runtime should see which names exist:")


def fresh_dicts(module):
    first = module.classify("go")
    keys = sorted(first)
    first["preemption"] = "changed"
    first.clear()
    second = module.classify("go")
    return {"keys": keys, "second": second, "same": first is second}


@task("12.3")
def test_each_call_returns_a_fresh_dict(axes):
    """classify returns a new dict with the six axes; changing it changes nothing for the next call"""
    got = axes.run(fresh_dicts)
    assert got["keys"] == sorted(AXES), f"classify('go') should have exactly the keys {sorted(AXES)}, got {got['keys']}"
    assert not got["same"] and got["second"].get("preemption") == "signal" and len(got["second"]) == 6, (
        f"after a caller changed and cleared the dict classify('go') returned, a second classify('go') should return "
        f"the answer again (a new dict each call), got {got['second']!r:.200}")


# ---------------------------------------------------------------- 12.4-12.7 the capstone
# The capstone, 12.4-12.7: one fib service, four ways (fib_threads, fib_pool, fib_loop,
# fib_asyncio), the same tests for the protocol and the API, and each way's own.
#
# Every scenario runs in the child, where the service runs in threads of the scenario's own
# process: the scenario is the service's client, and it sees the service's threads, children
# and CPU time. The tests' compute functions live in a small module (JOBS) that the scenario
# writes to a temporary folder on sys.path, so a pool's worker process started by spawn or
# forkserver imports them by name, as it would the learner's fib (lesson 09's CPU_KIT).
#
# How each rule is forced rather than timed:
#
# * A long request is a compute(n) that waits at the test's gate: with n >= LONG it connects to
#   a loopback socket the scenario listens on, reports "started <n> <pid> <thread>", and waits
#   for one byte. The scenario knows when the compute is in progress (the report), lets it go
#   only after everything it wants to see has happened (every short answer, six computes in
#   progress at once...), and learns when it returns (the compute writes "done" and closes
#   first). Answers are read with a 10 s socket time-out and gates awaited for 10 s: safety
#   nets that turn a service that never answers into a verdict, never a bound on speed (only a
#   wrong service waits them out).
# * Order on one connection: "30\n5\n" in one send, 30 held at the gate; five round trips on
#   another connection later the gate opens. A service that computes the lines of a connection
#   at once and writes each answer when it is ready has by then written 5's answer first.
#   The pipelined and many-clients tests run with workers=1, whose one process computes in the
#   order of submission: there such a service's answers come in order every run, so that its
#   verdict there never depends on which of two workers finished first.
# * start() ready: every thread the service starts begins its run() 0.5 s late (Thread.start
#   is wrapped), so a start() that returns before its thread listens is refused at once.
# * close(): every thread the service starts lingers 1 s after its run() returns (the pool's own
#   two 0.3 s, so that shutting the pool down stays shorter than the others' linger), so a
#   close() that does not join a thread returns while that thread is still there. Children are
#   read from /proc (a zombie counts), leaving out multiprocessing's own per-process helpers:
#   the resource tracker (Lib/multiprocessing/resource_tracker.py, ResourceTracker.
#   ensure_running, started by spawn and forkserver for the pool's semaphores) and the fork
#   server (Lib/multiprocessing/forkserver.py, ForkServer.ensure_running); both live as long
#   as the interpreter does, whatever the service does.
# * A leaving client: one resets its connection (SO_LINGER 0) and one closes it while their
#   computes wait at the gate; the computes then end, the service's write to them fails, and a
#   new client must still be answered.
# * Who computes (12.5-12.7): compute=whoami answers os.getpid(); with workers=3, three gated
#   computes must be at the gate at once, from three processes.
# * One serving thread (12.6, 12.7): socket.socket's accept/recv/send methods and the selectors'
#   register/modify/unregister/select are wrapped to record the calling thread; the service's
#   sockets (local port = its port) must be used by one thread, and the selector it sleeps in
#   changed by no other after its first select(). The long answer must come back with nothing
#   else happening: only the bridge can wake the loop then.
# * No busy waiting (12.6): while the long compute waits and every client is quiet, the
#   scenario reads the serving process's CPU time and the serving thread's voluntary context
#   switches over a 0.5 s window (a measurement window, not a synchronisation: a loop asleep in
#   select() uses none of it, a spinning one most of it, whatever else the machine runs), and
#   where the serving thread's stack is then (in fib_loop.py, not in asyncio).
# * uvloop (12.7): the event loops running while the service serves are found with gc.
#
# The pool's own threads are allowed wherever threads are counted: a ProcessPoolExecutor starts
# two, its _ExecutorManagerThread (Lib/concurrent/futures/process.py) and the call queue's
# feeder thread, named "QueueFeederThread" (Lib/multiprocessing/queues.py, Queue._start_thread).
# Measured with a probe on CPython 3.11.7, 3.13.5t and 3.15.2, for spawn, forkserver and fork:
# those two and no other, and none left after shutdown(wait=True); the three installed sources
# have the class and pass name='QueueFeederThread'.

CAPSTONE_WAYS = {"12.4": "fib_threads", "12.5": "fib_pool", "12.6": "fib_loop", "12.7": "fib_asyncio"}
CAPSTONE_NAMES = {"12.4": "threads", "12.5": "threads + process pool", "12.6": "generator loop + pool",
                  "12.7": "asyncio + pool"}
CAPSTONE_LONG = 30      # compute(n) for n >= 30 waits at the test's gate (MAX_N is 35)

CAPSTONE_JOBS = '''
import os
import socket
import threading

GATE = ("127.0.0.1", GATE_PORT)
LONG = 30


def value(n):
    """The tests' answer for n: not fib, so an answer that fib computed is caught."""
    return n * n + 7


def gated(n):
    """value(n); for n >= LONG, only once the test opens the gate."""
    if n >= LONG:
        try:
            with socket.create_connection(GATE, timeout=30) as s:      # 30 s: a safety net
                s.sendall(b"started %d %d %d\\n" % (n, os.getpid(), threading.get_ident()))
                s.recv(1)
                s.sendall(b"done\\n")
        except OSError:
            pass
    return value(n)


def whoami(n):
    return os.getpid()
'''

CAPSTONE_KIT = f"JOBS = {CAPSTONE_JOBS!r}\n" + '''
import concurrent.futures.process
import os
import socket
import struct
import sys
import tempfile
import threading
import time

NET = 10.0          # safety net: seconds for an answer to come
NET_GATE = 10.0     # safety net: seconds for computes to reach the gate


class Gate:
    """The loopback socket where gated computes wait until the scenario lets them go."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        self.held = {}
        self.reports = []

    def _take(self, timeout):
        self.listener.settimeout(timeout)
        conn, _ = self.listener.accept()
        conn.settimeout(NET_GATE)
        data = b""
        while not data.endswith(b"\\n"):
            chunk = conn.recv(64)
            if not chunk:
                raise ConnectionError("a compute left the gate before it reported")
            data += chunk
        _, n, pid, tid = data.split()
        self.held.setdefault(int(n), []).append(conn)
        self.reports.append([int(n), int(pid), int(tid)])

    def wait(self, count, timeout=NET_GATE):
        """True once `count` computes have reached the gate in all; False after `timeout`."""
        deadline = time.monotonic() + timeout
        while len(self.reports) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self._take(left)
            except OSError:
                return False
        return True

    def release(self, n):
        """Open the gate of every compute(n) waiting; return once each is about to return."""
        for conn in self.held.pop(n, []):
            try:
                conn.sendall(b"x")
                conn.settimeout(NET)
                while conn.recv(64):
                    pass
            except OSError:
                pass
            conn.close()

    def release_all(self):
        while True:
            try:
                self._take(0.001)
            except OSError:
                break
        for n in list(self.held):
            self.release(n)


GATE = Gate()
folder = tempfile.mkdtemp(prefix="fib-jobs-")
with open(os.path.join(folder, "course_fib_jobs.py"), "w") as f:
    f.write(JOBS.replace("GATE_PORT", str(GATE.port)))
sys.path.insert(0, folder)
import course_fib_jobs as jobs


class Client:
    """A blocking loopback client that reads answer lines with the NET safety net."""

    def __init__(self, address):
        self.sock = socket.create_connection(tuple(address), timeout=NET)
        self.buffer = b""
        self.ended = None            # why no more lines come: eof, timeout, an error's name

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\\n" not in self.buffer:
            if self.ended:
                return None
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                self.ended = "timeout"
                return None
            except OSError as exc:
                self.ended = type(exc).__name__
                return None
            if not chunk:
                self.ended = "eof"
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\\n", 1)
        return (line + b"\\n").decode("ascii", "backslashreplace")

    def answer(self):
        """The next line, or <eof>, <timeout>... saying why there is none."""
        line = self.line()
        return line if line is not None else f"<{self.ended}>"

    def lines(self, count):
        return [self.answer() for _ in range(count)]

    def until_eof(self):
        out = []
        while (line := self.line()) is not None:
            out.append(line)
        return out, self.ended

    def close(self):
        self.sock.close()


def ask(address, lines):
    """One connection; each line sent and its answer read before the next."""
    try:
        client = Client(address)
    except OSError as exc:
        return [f"<{type(exc).__name__} on connect>"] * len(lines)
    out = []
    for line in lines:
        client.send(line)
        out.append(client.answer())
    client.close()
    return out


def pool_thread(t):
    return isinstance(t, concurrent.futures.process._ExecutorManagerThread) or t.name == "QueueFeederThread"


def describe(t):
    return f"{t.name} ({type(t).__name__})"


def mp_helpers():
    """multiprocessing's per-interpreter helper processes: not the service's to stop."""
    pids = set()
    try:
        from multiprocessing import resource_tracker
        pids.add(resource_tracker._resource_tracker._pid)
    except Exception:
        pass
    try:
        from multiprocessing import forkserver
        pids.add(forkserver._forkserver._forkserver_pid)
    except Exception:
        pass
    return pids - {None}


def children():
    """[pid, state] of each child of this process (state Z: a zombie, ended, never waited for)."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[1]) == me:
            found.append([int(entry), fields[0]])
    return found


def leftovers(before_threads, before_children):
    """What the service left: threads that were not there before it, and child processes."""
    helpers = mp_helpers()
    return {"threads": [describe(t) for t in threading.enumerate() if t not in before_threads],
            "children": [c for c in children() if c[0] not in helpers and c[0] not in before_children]}


def wrap_thread_start(wrap_run):
    """Make every Thread started from now on run wrap_run(thread, its run); returns the undo."""
    real_start = threading.Thread.start

    def start(self):
        self.run = wrap_run(self, self.run)     # an instance attribute: subclasses too
        return real_start(self)

    threading.Thread.start = start

    def undo():
        threading.Thread.start = real_start
    return undo


RECORD = []
TOKENS = iter(range(1, 1 << 30))


def token(selector):
    # id() could be reused by a selector made after this one is freed (the pool's manager makes
    # one per wait): a number of its own never is.
    return selector.__dict__.setdefault("_course_token", next(TOKENS))


def record_calls():
    """Record (kind, method, thread, target) for socket I/O and selector calls; returns the undo.
    target: the local port of an AF_INET socket; a selector's token."""
    import selectors
    undo = []

    def wrap(cls, name, kind, target):
        missing = object()
        own = cls.__dict__.get(name, missing)
        real = getattr(cls, name)

        def recorded(self, *args, **kwargs):
            RECORD.append((kind, name, threading.get_ident(), target(self)))
            return real(self, *args, **kwargs)
        setattr(cls, name, recorded)
        undo.append(lambda: delattr(cls, name) if own is missing else setattr(cls, name, own))

    def port(sock):
        try:
            return sock.getsockname()[1] if sock.family == socket.AF_INET else None
        except OSError:
            return None

    for name in ("accept", "recv", "recv_into", "recvfrom", "recvmsg", "send", "sendall", "sendto", "sendmsg"):
        wrap(socket.socket, name, "sock", port)
    for cls_name in ("SelectSelector", "PollSelector", "EpollSelector", "DevpollSelector", "KqueueSelector"):
        cls = getattr(selectors, cls_name, None)
        if cls is not None:
            for name in ("register", "unregister", "modify", "select"):
                wrap(cls, name, "sel", token)

    def undo_all():
        for u in reversed(undo):
            u()
    return undo_all


def quiet_window(threads, seconds, file):
    """CPU time of this process and voluntary switches of `threads` over `seconds` in which
    nothing happens; and where each of the threads is at the end."""
    def switches(t):
        try:
            with open(f"/proc/self/task/{t.native_id}/status") as f:
                for row in f:
                    if row.startswith("voluntary_ctxt_switches:"):
                        return int(row.split()[1])
        except OSError:
            pass
        return 0

    s0 = {t.ident: switches(t) for t in threads}
    c0, w0 = time.process_time(), time.monotonic()
    time.sleep(seconds)              # the window measured: nothing is waited for here
    c1, w1 = time.process_time(), time.monotonic()
    s1 = {t.ident: switches(t) for t in threads}
    frames = sys._current_frames()
    stacks = {}
    for t in threads:
        stack, frame = [], frames.get(t.ident)
        while frame is not None:
            stack.append([frame.f_code.co_filename, frame.f_code.co_name])
            frame = frame.f_back
        stacks[describe(t)] = stack
    return {"wall": w1 - w0, "cpu": c1 - c0, "file": file,
            "switches": {describe(t): s1[t.ident] - s0[t.ident] for t in threads}, "stacks": stacks}
'''


def capstone_answers(module, kit, kwargs):
    """The default compute (fib) on a port the test chose, then the test's compute."""
    exec(kit, globals())
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    out = {"port": port}
    service = module.start(port=port, **kwargs)
    try:
        address = service.address
        out["address"] = [type(address).__name__, list(address) if isinstance(address, (tuple, list)) else repr(address)]
        out["fib"] = ask(address, [b"%d\n" % n for n in (0, 1, 2, 10, 20)])
    finally:
        service.close()
    service = module.start(compute=jobs.value, **kwargs)
    try:
        out["value"] = ask(service.address, [b"0\n", b"3\n", b"17\n", b"35\n", b"12\r\n"])
    finally:
        service.close()
    return out


def capstone_pipelined(module, kit, kwargs, ns):
    """All of ns in one send (every third line ending in \\r\\n), then EOF; read to the end.
    One worker (see capstone_many_clients)."""
    exec(kit, globals())
    service = module.start(compute=jobs.value, **{**kwargs, "workers": 1})
    try:
        client = Client(service.address)
        client.send(b"".join((b"%d\r\n" if i % 3 == 0 else b"%d\n") % n for i, n in enumerate(ns)))
        client.sock.shutdown(socket.SHUT_WR)
        got, ended = client.until_eof()
        client.close()
    finally:
        service.close()
    return {"got": got, "ended": ended}


def capstone_bad_lines(module, kit, kwargs, bad):
    """Each bad line followed by a good one k: one by one, then all in one send and EOF."""
    exec(kit, globals())
    service = module.start(compute=jobs.value, **kwargs)
    out = {"one_by_one": [], "together": None}
    try:
        client = Client(service.address)
        for k, text in enumerate(bad):
            for line in (text.encode("latin-1") + b"\n", b"%d\n" % k):
                client.send(line)
                out["one_by_one"].append(client.answer())
            if client.ended:
                break
        client.close()
        client = Client(service.address)
        client.send(b"".join(t.encode("latin-1") + b"\n" + b"%d\n" % k for k, t in enumerate(bad)))
        client.sock.shutdown(socket.SHUT_WR)
        out["together"] = client.until_eof()
        client.close()
    finally:
        service.close()
    return out


def capstone_in_order(module, kit, kwargs):
    """30 (held at the gate) and 5 in one send; the gate opens after 5 round trips elsewhere."""
    exec(kit, globals())
    service = module.start(compute=jobs.gated, **kwargs)
    out = {}
    try:
        first = Client(service.address)
        first.send(b"30\n5\n")
        out["at_gate"] = GATE.wait(1)
        out["other"] = ask(service.address, [b"%d\n" % k for k in range(1, 6)])
        GATE.release(30)
        out["first"] = first.lines(2)
        first.close()
    finally:
        GATE.release_all()
        service.close()
    return out


def capstone_short_while_long(module, kit, kwargs, k):
    """One connection's compute(30) held at the gate while k short clients ask at once."""
    exec(kit, globals())
    service = module.start(compute=jobs.gated, **kwargs)
    out = {"me": os.getpid()}
    try:
        long = Client(service.address)
        long.send(b"30\n")
        out["at_gate"] = GATE.wait(1)
        results = [None] * k

        def short(i):
            try:
                results[i] = ask(service.address, [b"%d\n" % i, b"%d\n" % (i + 10)])
            except OSError as exc:
                results[i] = [f"<{type(exc).__name__}: {exc}>"]

        threads = [threading.Thread(target=short, args=(i,)) for i in range(k)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out["short"] = results
        GATE.release(30)
        out["long"] = long.answer()
        out["reports"] = GATE.reports
        long.close()
    finally:
        GATE.release_all()
        service.close()
    return out


def capstone_many_clients(module, kit, kwargs, clients, lines):
    """`clients` connections at once, each sending its `lines` lines in one go. One worker:
    it computes in the order the lines were submitted, so the answers of a service that writes
    each when it is ready come in order here, every run; capstone_in_order judges that rule."""
    exec(kit, globals())
    service = module.start(compute=jobs.value, **{**kwargs, "workers": 1})
    results = [None] * clients
    together = threading.Barrier(clients)
    try:
        def one(c):
            try:
                client = Client(service.address)
                together.wait(NET)
                client.send(b"".join(b"%d\n" % ((c * 7 + i) % 30) for i in range(lines)))
                results[c] = client.lines(lines)
                client.close()
            except (OSError, threading.BrokenBarrierError) as exc:
                results[c] = [f"<{type(exc).__name__}: {exc}>"]

        threads = [threading.Thread(target=one, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        service.close()
    return results


def capstone_ready(module, kit, kwargs):
    """start() with every thread it starts beginning its run() 0.5 s late; connect at once."""
    exec(kit, globals())

    def late(thread, run):
        if pool_thread(thread):
            return run

        def late_run():
            time.sleep(0.5)          # a thread slow to get going (see the module docstring)
            run()
        return late_run

    undo = wrap_thread_start(late)
    try:
        service = module.start(compute=jobs.value, **kwargs)
    finally:
        undo()
    try:
        try:
            client = Client(service.address)          # no retry: refused is refused
        except OSError as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
        client.send(b"6\n")
        answer = client.answer()
        client.close()
        return {"answer": answer}
    finally:
        service.close()


def capstone_closing(module, kit, kwargs):
    """Serve an idle connection and one with half a line; close(); what is left; close() again."""
    exec(kit, globals())
    before, kids = set(threading.enumerate()), {c[0] for c in children()}

    def linger(thread, run):
        tail = 0.3 if pool_thread(thread) else 1.0

        def run_then_linger():
            try:
                run()
            finally:
                time.sleep(tail)     # a thread slow to end (see the module docstring)
        return run_then_linger

    undo = wrap_thread_start(linger)
    out = {}
    try:
        service = module.start(compute=jobs.value, **kwargs)
        address = tuple(service.address)
        idle = Client(address)
        idle.send(b"5\n")
        half = Client(address)
        half.send(b"6\n")
        out["before"] = [idle.answer(), half.answer()]
        half.send(b"12")
        service.close()
        out.update(leftovers(before, kids))
        idle.sock.settimeout(5)
        half.sock.settimeout(5)
        out["idle"] = idle.until_eof()           # the half line may be answered or not
        out["half"] = half.until_eof()
        try:
            socket.create_connection(address, timeout=5).close()
            out["connect"] = "accepted"
        except ConnectionRefusedError:
            out["connect"] = "refused"
        except OSError as exc:
            out["connect"] = f"{type(exc).__name__}: {exc}"
        try:
            service.close()
            out["again"] = "returned"
        except Exception as exc:
            out["again"] = f"raised {type(exc).__name__}: {exc}"
    finally:
        undo()
    return out


def capstone_leaving(module, kit, kwargs):
    """Two clients leave while their computes wait (a reset, a close); a new client then asks."""
    exec(kit, globals())
    before, kids = set(threading.enumerate()), {c[0] for c in children()}
    service = module.start(compute=jobs.gated, **kwargs)
    out = {}
    try:
        reset = Client(service.address)
        reset.send(b"30\n")
        out["at_gate"] = [GATE.wait(1)]
        reset.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        reset.close()                # RST: the service's write of 30's answer fails
        closed = Client(service.address)
        closed.send(b"31\n")
        out["at_gate"].append(GATE.wait(2))
        closed.close()
        GATE.release(30)
        GATE.release(31)
        out["later"] = ask(service.address, [b"5\n", b"8\n"])
    finally:
        GATE.release_all()
        service.close()
    out.update(leftovers(before, kids))
    return out


def capstone_thread_per_connection(module, kit, kwargs, k):
    """k connections whose computes all wait at the gate: are all k in progress at once?"""
    exec(kit, globals())
    service = module.start(compute=jobs.gated, **kwargs)
    out = {"me": os.getpid(), "scenario": threading.get_ident()}
    try:
        clients = []
        for i in range(k):
            client = Client(service.address)
            client.send(b"%d\n" % (30 + i))
            clients.append(client)
        out["at_gate"] = GATE.wait(k)
        out["reports"] = list(GATE.reports)
        GATE.release_all()
        out["answers"] = [c.answer() for c in clients]
        for c in clients:
            c.close()
    finally:
        GATE.release_all()
        service.close()
    return out


def capstone_elsewhere(module, kit, kwargs):
    """Who computes: 20 requests of whoami; then 3 gated computes with workers=3."""
    exec(kit, globals())
    out = {"me": os.getpid()}
    service = module.start(compute=jobs.whoami, **{**kwargs, "workers": 2})
    try:
        out["whoami"] = []
        for _ in range(4):
            client = Client(service.address)
            client.send(b"0\n1\n5\n20\n33\n")
            out["whoami"] += client.lines(5)
            client.close()
    finally:
        service.close()
    service = module.start(compute=jobs.gated, **{**kwargs, "workers": 3})
    try:
        clients = []
        for i in range(3):
            client = Client(service.address)
            client.send(b"%d\n" % (30 + i))
            clients.append(client)
        out["at_gate"] = GATE.wait(3)
        out["reports"] = list(GATE.reports)
        GATE.release_all()
        out["answers"] = [c.answer() for c in clients]
        for c in clients:
            c.close()
    finally:
        GATE.release_all()
        service.close()
    return out


def capstone_one_thread(module, kit, kwargs, window):
    """Serve a held long request and four short clients; which threads exist and who does the
    I/O; with `window`, the quiet window's CPU, wake-ups and stacks; then the long answer."""
    exec(kit, globals())
    before = set(threading.enumerate())
    undo = record_calls()
    out = {}
    try:
        service = module.start(compute=jobs.gated, **kwargs)
        try:
            port = service.address[1]
            long = Client(service.address)
            long.send(b"30\n")
            out["at_gate"] = GATE.wait(1)
            shorts = []
            out["short"] = []
            for i in range(4):
                client = Client(service.address)
                client.send(b"%d\n" % i)
                out["short"].append(client.answer())
                shorts.append(client)
                if client.ended:             # no answer within 10 s: the others would wait too
                    break
            new = [t for t in threading.enumerate() if t not in before]
            names = {t.ident: describe(t) for t in new}
            names[threading.get_ident()] = "the test's own thread"
            serving = [t for t in new if not pool_thread(t)]
            out["serving"] = [describe(t) for t in serving]
            out["pool"] = [describe(t) for t in new if pool_thread(t)]
            if window and serving:
                out["quiet"] = quiet_window(serving, window, module.__file__)
            GATE.release(30)
            out["long"] = long.answer()
            for c in [long, *shorts]:
                c.close()
        finally:
            GATE.release_all()
            service.close()
    finally:
        undo()
    serving_ids = {t.ident for t in serving}
    out["io"] = sorted({names.get(tid, f"thread {tid}") for kind, _, tid, target in RECORD
                        if kind == "sock" and target == port})
    slept = {}                           # selector -> index of its first select() by a serving thread
    for i, (kind, name, tid, target) in enumerate(RECORD):
        if kind == "sel" and name == "select" and tid in serving_ids:
            slept.setdefault(target, i)
    out["foreign"] = sorted({f"{name}() from {names.get(tid, f'thread {tid}')}"
                             for i, (kind, name, tid, target) in enumerate(RECORD)
                             if kind == "sel" and target in slept and i > slept[target]
                             and name != "select" and tid not in serving_ids})
    return out


def capstone_uvloop(module, kit, kwargs):
    """start(use_uvloop=True): answers, and which event loops are running meanwhile."""
    exec(kit, globals())
    import asyncio
    import gc
    try:
        import uvloop
    except ImportError as exc:
        return {"no_uvloop": str(exc)}
    before, kids = set(threading.enumerate()), {c[0] for c in children()}
    service = module.start(compute=jobs.value, use_uvloop=True, **kwargs)
    out = {}
    try:
        out["answers"] = ask(service.address, [b"4\n", b"9\n"])
        running = [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and o.is_running()]
        out["loops"] = [f"{type(o).__module__}.{type(o).__qualname__}" for o in running]
        out["uvloop"] = any(isinstance(o, uvloop.Loop) for o in running)
    finally:
        service.close()
    out.update(leftovers(before, kids))
    return out


def capstone_run(exercise, tid, scenario, *args, what):
    with explained_hang(f"{CAPSTONE_WAYS[tid]}.py: {what}"):
        return exercise(CAPSTONE_WAYS[tid]).run(scenario, CAPSTONE_KIT, {"workers": 2}, *args, timeout=60)


def capstone_value(n):
    return f"{n * n + 7}\n"


CAPSTONE_PARAMS = {"12.4": pytest.param("12.4", marks=task("12.4"), id="12.4"),
                   "12.5": pytest.param("12.5", marks=task("12.5"), id="12.5"),
                   "12.6": pytest.param("12.6", marks=task("12.6"), id="12.6"),
                   "12.7": pytest.param("12.7", marks=task("12.7"), id="12.7")}


def capstone_ways(*tids):
    """Parametrize a test over ways: tid is the task, and each case carries its task's mark."""
    return pytest.mark.parametrize("tid", [CAPSTONE_PARAMS[t] for t in tids])


CAPSTONE_ALL = capstone_ways("12.4", "12.5", "12.6", "12.7")
CAPSTONE_POOL = capstone_ways("12.5", "12.6", "12.7")


@CAPSTONE_ALL
def test_service_answers_each_line(exercise, tid):
    """Each line gets b"%d\\n" % compute(n): fib by default, the test's compute when given"""
    got = capstone_run(exercise, tid, capstone_answers, what="start(), a client's line or close() never returned")
    f = CAPSTONE_WAYS[tid]
    assert got["address"] == ["tuple", ["127.0.0.1", got["port"]]], (
        f"{f}.start(port={got['port']}).address should be the tuple ('127.0.0.1', {got['port']}), "
        f"got a {got['address'][0]}: {got['address'][1]}")
    want = ["0\n", "1\n", "1\n", "55\n", "6765\n"]
    assert got["fib"] == want, (
        f"{f}.start() (compute=fib): the lines 0, 1, 2, 10, 20 sent one at a time should be answered "
        f"{want}, got {got['fib']}")
    want = [capstone_value(n) for n in (0, 3, 17, 35, 12)]
    assert got["value"] == want, (
        f"{f}.start(compute=c), with the test's c(n) = n*n + 7: the lines 0, 3, 17, 35 and 12\\r\\n sent one at "
        f"a time should be answered {want}, got {got['value']}. Answer b'%d\\n' % compute(n) with the compute "
        "start() was given.")


@CAPSTONE_ALL
def test_service_answers_pipelined_lines_then_closes_at_eof(exercise, tid):
    """100 lines sent at once, then EOF: 100 answers in order, then the server closes"""
    ns = [(7 * i) % 36 for i in range(100)]
    got = capstone_run(exercise, tid, capstone_pipelined, ns, what="a pipelined client or close() never returned")
    want = [capstone_value(n) for n in ns]
    answers, ended = got["got"], got["ended"]
    ok = sum(1 for a, b in zip(answers, want) if a == b)
    first_wrong = next((i for i, (a, b) in enumerate(zip(answers, want)) if a != b), None)
    assert answers == want, (
        f"a client sent 100 lines in one go (n = 0, 7, 14, ..., every third ending in \\r\\n), then closed its "
        f"side: {len(answers)} answers came, {ok} of them right"
        + (f"; line {first_wrong} (n={ns[first_wrong]}) was answered {answers[first_wrong]!r}, not "
           f"{want[first_wrong]!r}" if first_wrong is not None else "")
        + (f"; then the connection ended ({ended})" if len(answers) < 100 else "")
        + ". Answer every whole line of the connection, in order, before you close it.")
    assert ended == "eof", (
        f"after the client's EOF and the 100 answers, the server should close the connection; the client "
        + ("waited 10 s and it was still open" if ended == "timeout" else f"saw {ended}"))


CAPSTONE_BAD = ["", "abc", "-1", "+5", " 5", "5 ", "1_0", "4.5", "36", "99999999999999999999", "\xff\xfe",
                "0x1f", "\r", "3\r\r"]


@CAPSTONE_ALL
def test_service_answers_bad_lines_with_an_error_and_keeps_the_connection(exercise, tid):
    """A bad line gets one line b"error: ...\\n"; the connection stays open for the next line"""
    got = capstone_run(exercise, tid, capstone_bad_lines, CAPSTONE_BAD,
                       what="a client sending bad lines, or close(), never returned")
    one = got["one_by_one"]
    problems = []
    for k, text in enumerate(CAPSTONE_BAD):
        pair = one[2 * k: 2 * k + 2]
        if len(pair) < 2 or not pair[0].startswith("error: ") or pair[1] != capstone_value(k):
            problems.append(f"{text.encode('latin-1')!r} then {k}: answered {pair}")
            break
    assert not problems, (
        "on one connection the test sent each bad line followed by a good line k, one at a time; a bad line "
        "must get one line starting b'error: ' (parse() gives the reason) and the connection must stay open, "
        "so k gets its answer k*k + 7: " + problems[0])
    lines, ended = got["together"]
    want_ok = [capstone_value(k) for k in range(len(CAPSTONE_BAD))]
    errors, values = lines[0::2], lines[1::2]
    assert len(lines) == 2 * len(CAPSTONE_BAD) and all(e.startswith("error: ") for e in errors) \
        and values == want_ok and ended == "eof", (
        f"the same {2 * len(CAPSTONE_BAD)} lines in one send, then EOF: expected an error line and an answer "
        f"for each pair and then the end of the connection; got {len(lines)} lines ({lines[:6]}...), then {ended}")


@CAPSTONE_ALL
def test_service_keeps_each_connections_answers_in_order(exercise, tid):
    """Answers come in the order of their lines, even when a later line is cheaper"""
    got = capstone_run(exercise, tid, capstone_in_order, what="a client or close() never returned")
    assert got["at_gate"], (
        "a client sent '30\\n5\\n'; compute(30) never started within 10 s (the test's compute reports when it "
        "starts): the service did not compute the first line")
    want = [capstone_value(30), capstone_value(5)]
    assert got["first"] == want, (
        f"a client sent '30\\n5\\n' in one send; the test held compute(30) until another client had made 5 round "
        f"trips ({got['other']}), then let it end. The answers must come in the order of the lines, {want}; "
        f"they came as {got['first']}. Compute a connection's lines one after the other, or write each answer "
        "only when the answers before it are written.")


@CAPSTONE_ALL
def test_service_serves_many_clients_at_once(exercise, tid):
    """Eight clients connected at once each get their own 20 answers, in order"""
    got = capstone_run(exercise, tid, capstone_many_clients, 8, 20,
                       what="eight clients at once, or close(), never returned")
    wrong = []
    for c, answers in enumerate(got):
        want = [capstone_value((c * 7 + i) % 30) for i in range(20)]
        if answers != want:
            wrong.append(f"client {c} sent n = {[(c * 7 + i) % 30 for i in range(3)]}... and got "
                         f"{answers[:3]}... ({sum(a == b for a, b in zip(answers, want))} of 20 right)")
    assert not wrong, ("8 clients connected at once, each sent 20 lines in one send; each must get its own 20 "
                       f"answers, in order: {len(wrong)} did not, e.g. {wrong[0]}")


@CAPSTONE_ALL
def test_service_answers_short_requests_while_a_long_one_computes(exercise, tid):
    """Four short clients are all answered while another connection's compute is in progress"""
    got = capstone_run(exercise, tid, capstone_short_while_long, 4,
                       what="short clients while a long request computed, or close(), never returned")
    assert got["at_gate"], ("a client sent '30\\n' and compute(30) did not start within 10 s: the service "
                            "did not compute the line")
    wrong = [f"client {i} got {answers}" for i, answers in enumerate(got["short"])
             if answers != [capstone_value(i), capstone_value(i + 10)]]
    assert not wrong, (
        f"while compute(30) for one connection was in progress (the test held it), 4 other clients each sent two "
        f"short lines: each should be answered at once, but {len(wrong)} of them were not ({'; '.join(wrong)}; "
        "<timeout>: no answer within 10 s). A long request must not hold up the other connections: "
        + ("serve each connection in its own thread." if tid == "12.4" else
           "compute in the pool's worker processes and keep serving meanwhile."))
    assert got["long"] == capstone_value(30), (
        f"once the test let compute(30) end, its client should get {capstone_value(30)!r}, got {got['long']!r}")


@CAPSTONE_ALL
def test_service_accepts_as_soon_as_start_returns(exercise, tid):
    """A client connecting as soon as start() returns is served, even if the service's threads start late"""
    got = capstone_run(exercise, tid, capstone_ready, what="start() or a client's line never returned")
    assert "error" not in got, (
        f"start() returned, the test connected at once, and the connection failed: {got.get('error')}. The test "
        "made every thread the service starts begin 0.5 s late; start() must return only once the service "
        "accepts: listen before returning"
        + (", or wait (a threading.Event or a concurrent future set by the loop) until the server listens."
           if tid == "12.7" else "."))
    assert got["answer"] == capstone_value(6), f"the first client's line 6 was answered {got['answer']!r}"


@CAPSTONE_ALL
def test_service_close_leaves_nothing_behind(exercise, tid):
    """close(): connections closed, new ones refused, no thread or process left; a second close() is harmless"""
    got = capstone_run(exercise, tid, capstone_closing, what="start(), a client's line or close() never returned "
                       "(close() must wake every thread it waits for: shutdown() the sockets they block on)")
    assert got["before"] == [capstone_value(5), capstone_value(6)], f"before close() the answers were {got['before']}"
    problems = []
    if got["threads"]:
        problems.append(f"these threads were still there when close() returned: {', '.join(got['threads'])} "
                        "(the test made each thread take 1 s to end: join() every thread you started)")
    if got["children"]:
        problems.append(f"these child processes were left: {got['children']} ([pid, state]; Z is a zombie): "
                        "shut the pool down with wait=True")
    for name in ("idle", "half"):
        lines, ended = got[name]
        if ended == "timeout":
            what = "an idle connection" if name == "idle" else "a connection with half a line sent"
            problems.append(f"{what} was still open after close() (its client waited 5 s for EOF)")
    if got["connect"] != "refused":
        problems.append(f"a new connection after close() was {got['connect']}, not refused: close the listening socket")
    if got["again"] != "returned":
        problems.append(f"a second close() {got['again']}: it should do nothing")
    assert not problems, "after close(): " + "; ".join(problems)


@CAPSTONE_ALL
def test_service_survives_a_client_that_leaves_mid_request(exercise, tid):
    """Clients that reset or close while their request computes cost only their own connection"""
    got = capstone_run(exercise, tid, capstone_leaving, what="a client, or close() after clients left, never returned")
    assert all(got["at_gate"]), "the two leaving clients' computes (30, 31) never started within 10 s"
    want = [capstone_value(5), capstone_value(8)]
    assert got["later"] == want, (
        "one client reset its connection and another closed it while their computes were in progress; the "
        f"service's answers to them then failed to send. A new client asking 5 and 8 should get {want}, and got "
        f"{got['later']}: catch the failed send (OSError: ConnectionResetError, BrokenPipeError) in that "
        "connection's code, end that connection only, and keep serving.")
    assert not got["threads"] and not got["children"], (
        f"after close(), once two clients had left mid-request, threads {got['threads']} and child processes "
        f"{got['children']} were left")


@task("12.4")
def test_threads_serve_each_connection_in_its_own_thread(exercise):
    """Six connections whose computes all wait are in progress at once, each in its own thread"""
    got = capstone_run(exercise, "12.4", capstone_thread_per_connection, 6,
                       what="six clients whose computes waited, or close(), never returned")
    reports = got["reports"]
    assert got["at_gate"], (
        f"six clients each sent a line whose compute waits until the test lets it go; within 10 s only "
        f"{len(reports)} were in progress at once. Serve every connection in a thread of its own, started "
        "when it is accepted (a fixed pool of threads, or one thread, holds the others up).")
    pids = {pid for _, pid, _ in reports}
    threads = {t for _, _, t in reports}
    assert pids == {got["me"]} and len(threads) == 6 and got["scenario"] not in threads, (
        f"the six computes ran in processes {sorted(pids)} (the service's is {got['me']}) and in {len(threads)} "
        "different threads: compute(n) must run in the connection's own thread, in the service's process")
    assert got["answers"] == [capstone_value(30 + i) for i in range(6)], f"their answers: {got['answers']}"


@CAPSTONE_POOL
def test_pool_computes_in_worker_processes(exercise, tid):
    """Every compute runs in another process, and `workers` of them run at once"""
    got = capstone_run(exercise, tid, capstone_elsewhere, what="start(), a client or close() never returned")
    me = got["me"]
    pids = [int(a) for a in got["whoami"] if a.strip().isdigit()]
    assert len(pids) == 20, f"with compute=whoami (returns os.getpid()), 20 lines got {got['whoami']}"
    assert me not in pids, (
        f"with compute=whoami, {pids.count(me)} of 20 lines (n = 0, 1, 5, 20, 33) were computed in the serving "
        f"process itself (pid {me}): every compute(n), the cheap ones too, must run in the pool's worker "
        "processes (pool.submit(compute, n) or loop.run_in_executor(pool, compute, n)).")
    reports = got["reports"]
    at_once = {pid for _, pid, _ in reports}
    assert got["at_gate"] and len(at_once) == 3 and me not in at_once, (
        f"with workers=3, three clients each sent a line whose compute waits until the test lets it go; "
        f"within 10 s {len(reports)} were in progress, in processes {sorted(at_once)} (the service is {me}). "
        "Three should run at once, in three worker processes: make the pool ProcessPoolExecutor(workers), "
        "share it among connections, and do not wait for one compute before submitting another connection's.")
    assert got["answers"] == [capstone_value(30 + i) for i in range(3)], f"their answers: {got['answers']}"


def capstone_one_thread_checks(got, tid):
    assert got["at_gate"] and got["long"] == capstone_value(30), (
        f"a client sent '30\\n' (its compute held by the test); once released its answer should be "
        f"{capstone_value(30)!r}, got {got['long']!r}"
        + (". Nothing else happened meanwhile: the pool future's done callback must wake the loop (one byte on "
           "the socketpair the loop selects on)." if tid == "12.6" else ""))
    assert got["short"] == [capstone_value(i) for i in range(4)], f"the short clients got {got['short']}"
    assert len(got["serving"]) == 1, (
        f"while it served 5 connections, the service had these threads besides the pool's own "
        f"({', '.join(got['pool']) or 'none'}): {', '.join(got['serving']) or 'none'}. One thread must serve "
        "them all: the loop's.")
    assert got["io"] == got["serving"], (
        f"the service's sockets were accepted, read or written by: {', '.join(got['io'])}; only the loop's "
        f"thread ({got['serving'][0]}) may touch them. A pool future's done callback runs in a pool thread: "
        "let it only wake the loop, which resumes the task.")
    assert not got["foreign"], (
        f"the loop's selector was changed from another thread than the loop's: {', '.join(got['foreign'])}. "
        "A selector is not thread-safe: only the loop's thread may register or unregister.")


@capstone_ways("12.6", "12.7")
def test_one_thread_serves_every_connection(exercise, tid):
    """One thread besides the pool's serves every connection and does all their socket I/O"""
    got = capstone_run(exercise, tid, capstone_one_thread, 0,
                       what="the clients, the long answer, or close() never returned")
    capstone_one_thread_checks(got, tid)


@task("12.6")
def test_loop_sleeps_in_select_while_a_compute_runs(exercise):
    """With a compute in progress and quiet clients, the loop sleeps: almost no CPU, almost no wake-ups"""
    got = capstone_run(exercise, "12.6", capstone_one_thread, 0.5,
                       what="the clients, the long answer, or close() never returned")
    capstone_one_thread_checks(got, "12.6")
    quiet = got["quiet"]
    share = quiet["cpu"] / quiet["wall"]
    assert share < 0.25, (
        f"while compute(30) was held and every client was quiet, the serving process used {quiet['cpu']:.2f} s "
        f"of CPU in {quiet['wall']:.2f} s ({share:.0%}): the loop is busy waiting. With nothing ready, "
        "select() must block with no timeout (timeout=None) until a socket or the socketpair is readable.")
    woke = sum(quiet["switches"].values())
    assert woke <= 5, (
        f"while compute(30) was held and every client was quiet, the loop's thread woke up {woke} times in "
        f"{quiet['wall']:.2f} s: it polls with a timeout. With nothing ready, select() must block with no "
        "timeout; the bridge's byte wakes it when the compute ends.")
    stack = next(iter(quiet["stacks"].values()))
    files = [f for f, _ in stack]
    mine = [fn for f, fn in stack if f == quiet["file"]]
    assert mine and not any("/asyncio/" in f for f in files), (
        "while it waited, the serving thread's stack was: "
        + " <- ".join(f"{fn} ({f.rsplit('/', 1)[-1]})" for f, fn in stack[:8])
        + ". The loop must be yours, written in fib_loop.py (no asyncio): a select loop over generator tasks.")


@task("12.7")
def test_asyncio_runs_on_uvloop_when_asked(exercise):
    """start(use_uvloop=True) serves the same protocol from a uvloop event loop"""
    got = capstone_run(exercise, "12.7", capstone_uvloop, what="start(use_uvloop=True), a client or close() never returned")
    assert "no_uvloop" not in got, f"uvloop could not be imported in the test: {got.get('no_uvloop')} (pip install uvloop)"
    assert got["answers"] == [capstone_value(4), capstone_value(9)], (
        f"start(compute=c, use_uvloop=True): lines 4 and 9 were answered {got['answers']}")
    assert got["uvloop"], (
        f"start(use_uvloop=True) served from these event loops: {got['loops']}; it should run its loop from "
        "uvloop.new_event_loop() (asyncio.Runner(loop_factory=uvloop.new_event_loop) does it)")
    assert not got["threads"] and not got["children"], (
        f"after close(), threads {got['threads']} and child processes {got['children']} were left")
