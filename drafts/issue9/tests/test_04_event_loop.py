"""Graded tests of 04_event_loop. Scenarios are module-level functions sent to the child as
source; each defines its own fake clock and fake selector, so every select timeout is exact
and nothing sleeps or measures time.

PYTEST_DONT_REWRITE: a failing assert reads as its message alone.
"""


import pytest

from coursekit.testing import explained_hang

task = pytest.mark.task



def scripted(module, script):
    """Run `script` (a list of steps) on a MiniLoop with a fake clock and selector; return the
    log of callbacks run, the select timeouts, and pending_timers() after each run_once."""
    import selectors

    class Clock:
        now = 0.0
        def __call__(self):
            return self.now

    class Key:
        def __init__(self, fd, data):
            self.fd, self.fileobj, self.data, self.events = fd, fd, data, selectors.EVENT_READ

    class Selector:
        """select(timeout) records the timeout and 'waits': the clock jumps by the timeout,
        or to the next scripted readiness, whichever is first."""
        def __init__(self, clock):
            self.clock, self.keys, self.timeouts, self.readiness = clock, {}, [], []
        def register(self, fd, events, data=None):
            self.keys[fd] = Key(fd, data)
        def unregister(self, fd):
            del self.keys[fd]
        def select(self, timeout=None):
            self.timeouts.append(timeout)
            due = [r for r in self.readiness if timeout is None or r[0] <= self.clock.now + timeout]
            if due:
                at = min(r[0] for r in due)
                self.clock.now = max(self.clock.now, at)
                hits = [r for r in self.readiness if r[0] <= self.clock.now]
                self.readiness = [r for r in self.readiness if r[0] > self.clock.now]
                return [(self.keys[fd], selectors.EVENT_READ) for _, fd in hits if fd in self.keys]
            if timeout is None:
                raise RuntimeError("select(None) with nothing that can ever become ready")
            self.clock.now += timeout
            return []

    clock = Clock()
    sel = Selector(clock)
    loop = module.MiniLoop(clock, sel)
    log, pending, handles = [], [], {}

    def record(name):
        log.append((name, clock.now))

    def spawner(name, child):
        record(name)
        loop.call_soon(record, child)

    for step in script:
        op = step[0]
        if op == "soon":
            handles[step[1]] = loop.call_soon(record, step[1])
        elif op == "at":
            handles[step[2]] = loop.call_at(step[1], record, step[2])
        elif op == "later":
            handles[step[2]] = loop.call_later(step[1], record, step[2])
        elif op == "spawn":
            loop.call_soon(spawner, step[1], step[2])
        elif op == "cancel":
            handles[step[1]].cancel()
        elif op == "many":            # ("many", n, first_when): n timers named t0..t{n-1}
            for i in range(step[1]):
                handles[f"t{i}"] = loop.call_at(step[2] + i, record, f"t{i}")
        elif op == "cancel_range":    # ("cancel_range", a, b): cancel t_a .. t_{b-1}
            for i in range(step[1], step[2]):
                handles[f"t{i}"].cancel()
        elif op == "reader":
            loop.add_reader(step[1], record, f"fd{step[1]}")
        elif op == "unreader":
            loop.remove_reader(step[1])
        elif op == "ready_at":
            sel.readiness.append((step[1], step[2]))
        elif op == "stop_soon":
            loop.call_soon(loop.stop)
        elif op == "stop_at":
            loop.call_at(step[1], loop.stop)
        elif op == "stop":
            loop.stop()
        elif op == "once":
            for _ in range(step[1] if len(step) > 1 else 1):
                loop.run_once()
                pending.append(loop.pending_timers())
        elif op == "forever":
            loop.run_forever()
    return {"log": [list(x) for x in log], "timeouts": sel.timeouts, "pending": pending}


def run(exercise, script):
    with explained_hang("MiniLoop never returned: a run_forever that ignores stop(), or a run_once that "
                        "keeps running callbacks added during the pass, loops forever."):
        return exercise("mini_loop").run(scripted, script)


@task("04.1")
def test_select_timeouts_follow_the_rule(exercise):
    """0 when something is ready, the first timer's distance, clamped at 0 and at 86400, None when idle"""
    got = run(exercise, [("later", 2.5, "a"), ("at", 1e9, "far"), ("once",),
                         ("soon", "s"), ("once",),
                         ("at", -5.0, "past"), ("once",),
                         ("once",)])
    assert got["timeouts"] == [2.5, 0, 0, 86400], (
        f"the select timeouts were {got['timeouts']}; expected [2.5, 0, 0, 86400]: a timer 2.5 s away, then a "
        "ready callback (poll with 0), then a timer in the past (clamp at 0, never negative), then a timer "
        "a billion seconds away (clamp at 86400)")
    assert [n for n, _ in got["log"]] == ["a", "s", "past"], f"callbacks ran in the order {got['log']}"
    idle = run(exercise, [("reader", 7), ("ready_at", 3.0, 7), ("once",)])
    assert idle["timeouts"] == [None] and idle["log"] == [["fd7", 3.0]], (
        f"with only a reader registered, the loop must wait with select(None) and run the reader when its "
        f"descriptor is ready; got timeouts {idle['timeouts']} and log {idle['log']}")


@task("04.1")
def test_equal_timers_run_in_the_order_scheduled(exercise):
    """Timers with the same `when` run first in, first out, after earlier ones"""
    names = [f"n{i}" for i in range(30)]
    script = [("at", 2.0, "late")] + [("at", 1.0, n) for n in names] + [("at", 0.5, "early"), ("once", 3)]
    got = run(exercise, script)
    order = [n for n, _ in got["log"]]
    assert order == ["early"] + names + ["late"], (
        f"expected 'early', then n0..n29 in the order scheduled (equal times: first in, first out; break ties "
        f"by a sequence number, not by id() or by the callback), then 'late'; got {order}")


@task("04.1")
def test_callbacks_added_during_a_pass_wait_for_the_next(exercise):
    """Only the callbacks ready when the pass starts running are run in it"""
    got = run(exercise, [("spawn", "parent", "child"), ("soon", "sibling"), ("once",), ("once",)])
    order = [n for n, _ in got["log"]]
    assert order == ["parent", "sibling", "child"] and got["timeouts"] == [0, 0], (
        f"a callback that calls call_soon during a pass must run in the next pass, after another select(0); "
        f"got callbacks {order} and timeouts {got['timeouts']} after two run_once()")
    first_pass = run(exercise, [("spawn", "parent", "child"), ("once",)])
    assert [n for n, _ in first_pass["log"]] == ["parent"], (
        f"after ONE run_once the child scheduled by the parent must still be waiting; ran {first_pass['log']}")


@task("04.1")
def test_cancelled_timers_never_run_and_do_not_set_the_timeout(exercise):
    """A cancelled timer is skipped; a cancelled first timer does not decide the select timeout"""
    got = run(exercise, [("at", 1.0, "x"), ("at", 4.0, "y"), ("soon", "s"), ("cancel", "x"), ("cancel", "s"),
                         ("once",), ("once",)])
    assert [n for n, _ in got["log"]] == ["y"] and got["timeouts"][0] in (4.0, 0), (
        f"cancelled callbacks ran or were waited for: log {got['log']}, timeouts {got['timeouts']}")
    got = run(exercise, [("at", 1.0, "x"), ("at", 4.0, "y"), ("cancel", "x"), ("once",)])
    assert got["timeouts"] == [4.0] and got["log"] == [["y", 4.0]], (
        f"with the 1.0 timer cancelled, the first pass must wait 4.0 for 'y'; got timeouts {got['timeouts']}, "
        f"log {got['log']}")


@task("04.1")
def test_purge_rule(exercise):
    """More than 100 timers with more than half cancelled: the heap is rebuilt; else only its top is cleaned"""
    got = run(exercise, [("many", 150, 100.0), ("cancel_range", 1, 90), ("soon", "s"), ("once",)])
    assert got["pending"] == [61], (
        f"150 timers, 89 cancelled (more than half, more than 100 timers): after the pass pending_timers() "
        f"should be 61, got {got['pending']}")
    got = run(exercise, [("many", 150, 100.0), ("cancel_range", 1, 75), ("soon", "s"), ("once",)])
    assert got["pending"] == [150], (
        f"150 timers, 74 cancelled (not more than half), the first one live: nothing is removed, "
        f"pending_timers() should stay 150, got {got['pending']}")
    got = run(exercise, [("many", 10, 5.0), ("cancel_range", 0, 2), ("cancel", "t5"), ("once",)])
    assert got["pending"] == [7] and got["timeouts"] == [7.0], (
        f"10 timers (fewer than 100), t0, t1, t5 cancelled: only t0 and t1 at the top are popped, t2 runs at "
        f"7.0, pending_timers() 7; got pending {got['pending']}, timeouts {got['timeouts']}")


@task("04.1")
def test_stop_semantics(exercise):
    """stop() ends run_forever after the current pass, makes that pass poll with 0, and the loop runs again"""
    got = run(exercise, [("stop_soon",), ("soon", "after_stop"), ("later", 5.0, "timer"), ("forever",),
                         ("stop_at", 6.0), ("forever",), ("stop",), ("forever",)])
    assert got["log"] == [["after_stop", 0.0], ["timer", 5.0]], (
        f"expected 'after_stop' to run in the pass where stop() was called (at 0.0), then, in a second "
        f"run_forever, 'timer' at 5.0; got {got['log']}")
    assert got["timeouts"] == [0, 5.0, 1.0, 0], (
        f"expected select timeouts [0, 5.0, 1.0, 0]: run_forever returns after the pass that called stop(); "
        f"the next run_forever starts fresh (waits 5.0 for the timer, 1.0 for the stopper); stop() called "
        f"before run_forever gives one pass that polls with 0 and returns; got {got['timeouts']}")
