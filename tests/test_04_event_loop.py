"""Graded tests of 04_event_loop. Scenarios are module-level functions sent to the child as
source, so each is self-contained; shared helpers travel as a string of source (plain data)
that the scenario execs.

04.1 runs on a fake clock and a fake selector: every select timeout is exact, and nothing
sleeps or measures time.

04.2 runs a real selector (a DefaultSelector subclass that records each timeout and lets the
test wait until the loop has entered select for the n-th time), so "the loop is blocked in
select(None)" is a fact the test waits for, not a guess. Interleavings are forced with Events
and a Barrier; a wake-up that never comes is detected by Event.wait(5), a generous safety net
that turns a hang into a failure with a reason. The self-pipe's write is intercepted
(socket.send, socket.sendall, os.write) to hold the caller between the write and its return.

04.3 runs the learner's fetch() on a small loop defined in the scenario (src/lessons is not
importable in the sandboxed child, nor shipped in the Gradescope bundle) against an HTTP
server in threads on 127.0.0.1, port 0. Its /wait page answers only after another fetch has
finished, which catches a fetcher that blocks the loop; a socket.socket subclass keeps every
socket the fetcher makes (to check each is closed) and gives it a small send buffer, so that
a 2 MB request needs many send() calls.

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
        elif op == "reader_removes":  # ("reader_removes", fd, other): its callback removes other's reader
            def remove_other(name, other):
                record(name)
                loop.remove_reader(other)
            loop.add_reader(step[1], remove_other, f"fd{step[1]}", step[2])
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
def test_remove_reader_stops_its_callback(exercise):
    """After remove_reader(fd), fd's callback never runs again, even if select already reported it"""
    got = run(exercise, [("reader", 7), ("ready_at", 1.0, 7), ("once",), ("unreader", 7),
                         ("later", 5.0, "t"), ("ready_at", 3.0, 7), ("once", 2)])
    assert [n for n, _ in got["log"]] == ["fd7", "t"], (
        f"fd 7's reader ran at 1.0, then remove_reader(7), then fd 7 became ready again at 3.0: its callback "
        f"must not run again (unregister the fd from the selector); got {got['log']}")
    got = run(exercise, [("reader_removes", 7, 8), ("reader", 8), ("ready_at", 1.0, 7), ("ready_at", 1.0, 8),
                         ("once",)])
    assert [n for n, _ in got["log"]] == ["fd7"], (
        f"fds 7 and 8 were reported ready in the same select, and fd 7's callback removed fd 8's reader: fd 8's "
        f"callback, already queued, must not run (cancel its handle in remove_reader); got {got['log']}")


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


# ---------------------------------------------------------------- 04.2 the self-pipe

# Exec'd at the start of each 04.2 scenario (a scenario is sent to the child as source, so it
# cannot share a module-level helper; a string of source travels as plain data).
WATCHED_SELECTOR = '''
import selectors
import threading

class WatchedSelector(selectors.DefaultSelector):
    """The platform's real selector, which records each select timeout and lets another
    thread wait until the loop has entered select for the n-th time."""
    def __init__(self):
        super().__init__()
        self.timeouts = []
        self.entered = 0
        self.cond = threading.Condition()
        self.registered_at_close = None     # fds still registered when the loop closed us
    def select(self, timeout=None):
        with self.cond:
            self.timeouts.append(timeout)
            self.entered += 1
            self.cond.notify_all()
        return super().select(timeout)
    def poll_now(self):
        """What is ready right now, without recording (select with timeout 0)."""
        return [key.fd for key, _ in super().select(0)]
    def wait_entered(self, n, limit=5.0):
        with self.cond:
            return self.cond.wait_for(lambda: self.entered >= n, limit)
    def close(self):
        mapping = self.get_map()
        if self.registered_at_close is None:
            self.registered_at_close = sorted(k.fd for k in mapping.values()) if mapping is not None else []
        super().close()

def start_loop_thread(loop):
    """run_forever in a daemon thread (so a loop that never wakes cannot keep the child alive)."""
    errors = []
    def run():
        try:
            loop.run_forever()
        except BaseException as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors
'''


def wake_from_another_thread(module, helpers, wake=True):
    """The loop thread blocks in select; the main thread queues a callback (if `wake`)."""
    import threading
    exec(helpers, globals())
    sel = WatchedSelector()
    loop = module.WakeupLoop(sel)
    ran, done = [], threading.Event()

    def callback(word):
        ran.append([word, threading.get_ident()])
        done.set()

    thread, errors = start_loop_thread(loop)
    entered = sel.wait_entered(1)
    idle_timeouts = list(sel.timeouts)       # what the loop chose with nothing to do
    if not wake:
        return {"entered": entered, "idle": idle_timeouts[:5], "errors": errors}
    loop.call_soon_threadsafe(callback, "hello")
    woken = done.wait(5)
    if woken:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    return {"entered": entered, "idle": idle_timeouts[:5], "woken": woken, "errors": errors,
            "in_loop_thread": bool(ran) and ran[0][1] == thread.ident, "ran": [r[0] for r in ran],
            "stopped": not thread.is_alive()}


@task("04.2")
def test_idle_loop_blocks_in_select(exercise):
    """With nothing ready, the loop waits in select(None): it never polls"""
    with explained_hang("WakeupLoop stayed blocked: run_forever or call_soon_threadsafe never returned."):
        got = exercise("wakeup_loop").run(wake_from_another_thread, WATCHED_SELECTOR, False)
    assert got["entered"], f"run_forever() on an idle loop never called select() (errors: {got['errors']})"
    assert got["idle"] and all(t is None for t in got["idle"]), (
        f"with nothing ready, the loop must block in select(None); its first select timeouts were "
        f"{got['idle']}: a timeout of 0 or a small number makes an idle loop poll, burning a CPU core")


@task("04.2")
def test_call_soon_threadsafe_wakes_a_blocked_loop(exercise):
    """A callback queued from another thread while the loop sleeps in select(None) runs, in the loop's thread"""
    with explained_hang("WakeupLoop stayed blocked: run_forever or call_soon_threadsafe never returned."):
        got = exercise("wakeup_loop").run(wake_from_another_thread, WATCHED_SELECTOR)
    assert not got["errors"], f"run_forever() raised: {got['errors']}"
    assert got["woken"], (
        "the loop was blocked in select(None) when another thread called call_soon_threadsafe(callback, "
        "'hello'), and the callback had not run 5 s later: appending to the ready queue wakes nobody. "
        "Write one byte to the self-pipe's write end, so that select sees its read end readable")
    assert got["in_loop_thread"], "the callback ran, but not in the thread that runs run_forever()"
    assert got["stopped"], "call_soon_threadsafe(loop.stop) from another thread did not end run_forever()"


def queue_then_write(module, helpers):
    """Hold the caller of call_soon_threadsafe just after its byte is written, until the loop
    has woken and gone back to select: a callback queued only after the write is then stranded."""
    import os
    import socket
    import threading
    exec(helpers, globals())
    sel = WatchedSelector()
    loop = module.WakeupLoop(sel)
    done = threading.Event()
    caller = threading.current_thread()     # the thread that calls call_soon_threadsafe below
    armed = {"on": False, "writes": 0}
    real = {"send": socket.socket.send, "sendall": socket.socket.sendall, "write": os.write}

    def after_write():
        if armed["on"] and threading.current_thread() is caller:
            armed["writes"] += 1
            sel.wait_entered(2)          # the loop woke, ran its pass, and waits again

    def send(self, *a, **k):
        n = real["send"](self, *a, **k)
        after_write()
        return n

    def sendall(self, *a, **k):
        real["sendall"](self, *a, **k)
        after_write()

    def write(fd, data):
        n = real["write"](fd, data)
        after_write()
        return n

    socket.socket.send, socket.socket.sendall, os.write = send, sendall, write
    thread, errors = start_loop_thread(loop)
    try:
        sel.wait_entered(1)
        armed["on"] = True
        loop.call_soon_threadsafe(done.set)
        armed["on"] = False
    finally:
        socket.socket.send, socket.socket.sendall, os.write = real["send"], real["sendall"], real["write"]
    woken = done.wait(5)
    if woken:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
    return {"writes": armed["writes"], "woken": woken, "errors": errors}


@task("04.2")
def test_callback_is_queued_before_the_byte_is_written(exercise):
    """call_soon_threadsafe queues the callback first, then writes the wake-up byte"""
    with explained_hang("WakeupLoop stayed blocked: run_forever or call_soon_threadsafe never returned."):
        got = exercise("wakeup_loop").run(queue_then_write, WATCHED_SELECTOR)
    assert not got["errors"], f"run_forever() raised: {got['errors']}"
    assert got["writes"] >= 1, ("call_soon_threadsafe wrote nothing to the self-pipe (the test watches "
                                "socket.send, socket.sendall and os.write)")
    assert got["woken"], (
        "the test held call_soon_threadsafe right after its byte was written, until the loop had woken and "
        "gone back to select(None); then the callback never ran. Queue the callback BEFORE writing the byte: "
        "otherwise the loop can wake, find nothing ready, and sleep again with the callback still waiting")


def drained_in_one_pass(module, helpers):
    exec(helpers, globals())
    sel = WatchedSelector()
    loop = module.WakeupLoop(sel)
    ran = []
    for i in range(200):
        loop.call_soon_threadsafe(ran.append, i)    # 200 wake-up bytes, the loop not running
    loop.run_once()
    left = sel.poll_now()
    loop.close()
    return {"ran": ran, "readable_after": left, "timeouts": sel.timeouts}


@task("04.2")
def test_self_pipe_is_drained(exercise):
    """One pass reads every wake-up byte, so the next idle select can block again"""
    with explained_hang("run_once() never returned: with 200 callbacks ready, its select must not block."):
        got = exercise("wakeup_loop").run(drained_in_one_pass, WATCHED_SELECTOR)
    assert got["ran"] == list(range(200)), (
        f"200 callbacks queued with call_soon_threadsafe before one run_once(): all must run in that pass, in "
        f"order; ran {len(got['ran'])} of them ({got['ran'][:5]}...)")
    assert got["readable_after"] == [], (
        "after that pass the self-pipe was still readable: its reader must read until nothing is left "
        "(until BlockingIOError), or every later select returns at once and the idle loop spins")


def readers(module, helpers):
    import socket
    exec(helpers, globals())
    loop = module.WakeupLoop(WatchedSelector())
    a, b = socket.socketpair()
    log = []
    loop.add_reader(a, lambda: log.append(a.recv(100).decode()))
    b.send(b"x")
    loop.run_once()                         # blocks until a is readable
    removed = loop.remove_reader(a)
    removed_again = loop.remove_reader(a)
    b.send(b"y")
    loop.call_soon(log.append, "soon")
    loop.run_once()
    loop.close()
    a.close()
    b.close()
    return {"log": log, "removed": removed, "removed_again": removed_again}


@task("04.2")
def test_add_reader_and_remove_reader(exercise):
    """A reader runs when its socket is readable; after remove_reader it does not (True, then False)"""
    with explained_hang("run_once() stayed blocked although a registered socket had data: add_reader must "
                        "register the socket with the selector, and run_once must queue its callback."):
        got = exercise("wakeup_loop").run(readers, WATCHED_SELECTOR)
    assert got["log"] == ["x", "soon"], (
        f"add_reader(a, on_read), one byte sent to a, run_once(); then remove_reader(a), another byte, "
        f"call_soon(log.append, 'soon'), run_once(): expected the log ['x', 'soon'], got {got['log']}")
    assert got["removed"] is True and got["removed_again"] is False, (
        f"remove_reader should return True for a registered reader and False the second time; it returned "
        f"{got['removed']} and {got['removed_again']}")


def many_threads(module, helpers):
    """4 threads x 20000 calls while the loop thread is held in a callback: more wake-up bytes than
    a socket pair (a few hundred 1-byte writes) or a pipe (64 KiB) holds, so the pipe fills up."""
    import threading
    import time
    exec(helpers, globals())
    CALLS = 20000
    sel = WatchedSelector()
    loop = module.WakeupLoop(sel)
    holding, release = threading.Event(), threading.Event()
    seen, errors = [], []

    def hold():
        holding.set()
        release.wait(30)

    def worker(i, start):
        start.wait()
        try:
            for k in range(CALLS):
                loop.call_soon_threadsafe(seen.append, [i, k])
        except BaseException as exc:
            errors.append(f"thread {i}: {type(exc).__name__}: {exc}")

    thread, loop_errors = start_loop_thread(loop)
    sel.wait_entered(1)
    loop.call_soon_threadsafe(hold)
    held = holding.wait(5)
    if not held:
        return {"held": False, "errors": loop_errors}
    start = threading.Barrier(4)
    workers = [threading.Thread(target=worker, args=(i, start), daemon=True) for i in range(4)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 5         # a safety net: a thread stuck on a full blocking pipe
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
    blocked = sum(w.is_alive() for w in workers)
    release.set()
    for w in workers:
        w.join(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    seen = [tuple(x) for x in seen]
    order = {}
    for i in range(4):
        mine = [k for j, k in seen if j == i]
        if mine != sorted(mine):
            order[i] = mine[:10]
    return {"held": held, "blocked": blocked, "errors": errors[:3] + loop_errors, "ran": len(seen),
            "distinct": len(set(seen)), "out_of_order": order, "stopped": not thread.is_alive()}


@task("04.2")
def test_many_threads_and_a_full_pipe(exercise):
    """80000 calls from 4 threads, the pipe full: each callback runs once, each thread's in its order"""
    with explained_hang("WakeupLoop stayed blocked: run_forever or call_soon_threadsafe never returned."):
        got = exercise("wakeup_loop").run(many_threads, WATCHED_SELECTOR)
    assert got["held"], "a callback queued with call_soon_threadsafe on an idle loop did not run"
    assert not got["blocked"], (
        f"{got['blocked']} of 4 threads were stuck in call_soon_threadsafe while the loop was busy: the "
        "self-pipe's write end must be non-blocking (a full pipe raises BlockingIOError, which you ignore)")
    assert not got["errors"], (
        "call_soon_threadsafe raised while the loop was busy and its pipe full (a socket pair holds a few "
        f"hundred 1-byte writes): {got['errors'][:3]}. A full pipe is already readable: ignore BlockingIOError")
    problems = []
    if got["ran"] != 80000 or got["distinct"] != 80000:
        problems.append(f"{got['ran']} callbacks ran, {got['distinct']} different ones; expected each of 80000 once")
    for i, first in got["out_of_order"].items():
        problems.append(f"thread {i}'s callbacks ran out of the order it queued them: {first}...")
    assert not problems, "\n".join(problems)
    assert got["stopped"], "call_soon_threadsafe(loop.stop) from another thread did not end run_forever()"


def close_releases(module, helpers):
    import os
    exec(helpers, globals())
    before = len(os.listdir("/proc/self/fd"))
    loop = module.WakeupLoop()              # its own selector: close() must close that too
    loop.call_soon_threadsafe(len, "")
    loop.run_once()
    loop.close()
    after = len(os.listdir("/proc/self/fd"))
    sel = WatchedSelector()
    loop = module.WakeupLoop(sel)
    loop.close()
    out = {"leaked": after - before, "registered_at_close": sel.registered_at_close}
    try:
        loop.close()
        out["second_close"] = None
    except BaseException as exc:
        out["second_close"] = f"{type(exc).__name__}: {exc}"
    for name in ("call_soon_threadsafe", "call_soon"):
        try:
            getattr(loop, name)(print)
            out[name] = None
        except BaseException as exc:
            out[name] = type(exc).__name__
    return out


@task("04.2")
def test_close_releases_everything(exercise):
    """close() unregisters the self-pipe, closes both sockets and the selector; then calls raise RuntimeError"""
    got = exercise("wakeup_loop").run(close_releases, WATCHED_SELECTOR)
    assert got["leaked"] == 0, (
        f"after WakeupLoop() and close(), {got['leaked']} more descriptors were open than before: close both "
        "ends of the socket pair and the selector (an epoll selector has a descriptor of its own)")
    assert got["registered_at_close"] is not None, "close() did not close the selector it was given"
    assert got["registered_at_close"] == [], (
        f"when close() closed the selector, descriptors {got['registered_at_close']} were still registered: "
        "unregister the self-pipe's read end before closing it")
    assert got["second_close"] is None, f"a second close() should do nothing; it raised {got['second_close']}"
    assert got["call_soon_threadsafe"] == "RuntimeError" and got["call_soon"] == "RuntimeError", (
        f"after close(), call_soon_threadsafe and call_soon should raise RuntimeError; they raised "
        f"{got['call_soon_threadsafe']} and {got['call_soon']} (None: nothing)")


# ---------------------------------------------------------------- 04.3 the callback fetcher

# Exec'd at the start of each 04.3 scenario: a small loop with the interface fetch() is given,
# an HTTP server in threads, and a socket.socket subclass that remembers every socket made
# outside the server, so that the test can see whether each was closed.
FETCH_KIT = '''
import collections
import selectors
import socket
import threading

class TestLoop:
    """A selector loop: call_soon, add/remove_reader, add/remove_writer; run_until(done)."""
    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.ready = collections.deque()
        self.errors = []
    def call_soon(self, callback, *args):
        self.ready.append((callback, args))
    def _set(self, fileobj, event, callback, args):
        try:
            key = self.selector.get_key(fileobj)
        except KeyError:
            self.selector.register(fileobj, event, {event: (callback, args)})
            return
        data = dict(key.data)
        data[event] = (callback, args)
        self.selector.modify(fileobj, key.events | event, data)
    def _unset(self, fileobj, event):
        try:
            key = self.selector.get_key(fileobj)
        except (KeyError, ValueError):
            return False
        if not key.events & event:
            return False
        data = dict(key.data)
        del data[event]
        if key.events & ~event:
            self.selector.modify(fileobj, key.events & ~event, data)
        else:
            self.selector.unregister(fileobj)
        return True
    def add_reader(self, fileobj, callback, *args):
        self._set(fileobj, selectors.EVENT_READ, callback, args)
    def add_writer(self, fileobj, callback, *args):
        self._set(fileobj, selectors.EVENT_WRITE, callback, args)
    def remove_reader(self, fileobj):
        return self._unset(fileobj, selectors.EVENT_READ)
    def remove_writer(self, fileobj):
        return self._unset(fileobj, selectors.EVENT_WRITE)
    def run_once(self, timeout):
        events = self.selector.select(0 if self.ready else timeout)
        for key, mask in events:
            for event in (selectors.EVENT_READ, selectors.EVENT_WRITE):
                if mask & event and event in key.data:
                    self.ready.append(key.data[event])
        for _ in range(len(self.ready)):
            callback, args = self.ready.popleft()
            try:
                callback(*args)
            except Exception as exc:
                name = getattr(callback, "__qualname__", repr(callback))
                self.errors.append(f"{name} raised {type(exc).__name__}: {exc}")
        return bool(events)
    def run_until(self, done, idle_limit=5.0):
        """Passes until done(); False if nothing happened for idle_limit seconds (stuck)."""
        while not done():
            had_ready = bool(self.ready)
            if not self.run_once(idle_limit) and not had_ready:
                return False
        return True
    def registered(self):
        return sorted(key.fd for key in self.selector.get_map().values())

made = []

class TrackedSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not threading.current_thread().name.startswith("server"):
            made.append(self)
            # A small send buffer: a long request cannot go out in one send().
            self.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

def track_sockets():
    socket.socket = TrackedSocket

def untrack_sockets():
    socket.socket = TrackedSocket.__mro__[1]

def body_of(path):
    if path == "/big":
        return bytes(range(256)) * 4096                     # 1 MiB: many recv() calls
    if path.startswith("/long/"):
        return f"got a path of {len(path)} bytes".encode()
    return (f"page {path}\\n" * 50).encode()

def response_of(path):
    body = body_of(path)
    return b"HTTP/1.0 200 OK\\r\\nContent-Length: " + str(len(body)).encode() + b"\\r\\n\\r\\n" + body

class Server:
    """HTTP/1.0 on 127.0.0.1, one thread per connection. /wait answers once another fetch is
    done (or gives up after 5 s); /reset reads the request, sends part of an answer, then
    breaks the connection (RST); any other path gets response_of(path)."""
    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.address = self.listener.getsockname()
        self.other_done = threading.Event()
        self.requests = {}                                  # path -> request line seen
        self.waited = None
        self.handlers = []
        self.accepting = threading.Thread(target=self.accept, name="server", daemon=True)
        self.accepting.start()
    def accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            t = threading.Thread(target=self.handle, args=(conn,), name="server-conn", daemon=True)
            self.handlers.append(t)
            t.start()
    def handle(self, conn):
        import struct
        try:
            conn.settimeout(5)          # a safety net: a client that never finishes its request
            data = b""
            while not data.endswith(b"\\r\\n\\r\\n"):
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
            line = data.split(b"\\r\\n", 1)[0].decode("latin-1")
            parts = line.split(" ")
            path = parts[1] if len(parts) == 3 else line[:60]
            host = [h[5:].strip() for h in data.decode("latin-1").split("\\r\\n")[1:] if h.lower().startswith("host:")]
            self.requests[path[:40] + ("..." if len(path) > 40 else "")] = {
                "method": parts[0], "version": parts[-1], "complete": data.endswith(b"\\r\\n\\r\\n"),
                "length": len(path), "host": host[0] if host else None}
            if path == "/wait":
                self.waited = self.other_done.wait(5)
                conn.sendall(response_of(path) if self.waited else b"HTTP/1.0 504 gave up\\r\\n\\r\\n")
            elif path == "/reset":
                conn.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: 1000\\r\\n\\r\\npartial")
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                conn.sendall(response_of(path))
        except OSError:
            pass
        finally:
            conn.close()
    def close(self):
        self.listener.close()
        for t in list(self.handlers):
            t.join(5)

def run_fetches(module, plan):
    """plan: paths, or "refused" for an address where nothing listens. Fetches start in this
    order on one TestLoop; returns what each on_done saw, and what was left behind."""
    server = Server()
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))                 # bound, never listening: connect is refused
    loop = TestLoop()
    results = {i: [] for i in range(len(plan))}
    finished = []
    state = {"inside": None}
    def on_done_for(i):
        def on_done(error, response):
            results[i].append({"error": None if error is None else type(error).__name__,
                               "connection_error": isinstance(error, ConnectionError),
                               "is_oserror": isinstance(error, OSError),
                               "response_ok": response == response_of(plan[i]) if response is not None else None,
                               "length": None if response is None else len(response),
                               "head": None if response is None else response[:60].decode("latin-1"),
                               "during_fetch": state["inside"] == i})
            finished.append(plan[i])
            if plan[i] != "/wait":
                server.other_done.set()
        return on_done
    track_sockets()
    raised = []
    try:
        for i, path in enumerate(plan):
            address = dead.getsockname() if path == "refused" else server.address
            state["inside"] = i
            try:
                module.fetch(loop, address, "/" if path == "refused" else path, on_done_for(i))
            except Exception as exc:
                raised.append(f"fetch(loop, {address}, {('/' if path == 'refused' else path)[:30]!r}, on_done) raised {type(exc).__name__}: {exc}")
            state["inside"] = None
        everyone = lambda: all(results[i] for i in results)
        finished_all = loop.run_until(everyone) if not raised else False
        for _ in range(3):                      # a few more passes: a second on_done would show
            loop.run_once(0)
    finally:
        untrack_sockets()
    server.close()
    dead.close()
    out = {"results": [results[i] for i in range(len(plan))], "finished": finished, "all_done": finished_all,
           "raised": raised, "loop_errors": loop.errors, "registered": loop.registered(),
           "sockets": len(made), "open": sum(1 for s in made if s.fileno() != -1),
           "requests": server.requests, "waited": server.waited}
    for s in made:
        s.close()
    loop.selector.close()
    return out
'''


def fetches(module, kit, plan):
    exec(kit, globals())
    return run_fetches(module, plan)


def fetch_plan(exercise, plan):
    with explained_hang("fetch() or a callback it gave the loop never returned: a blocking socket call (connect, "
                        "sendall, recv on a blocking socket) or a loop inside a callback waits forever."):
        got = exercise("callback_fetcher").run(fetches, FETCH_KIT, plan, timeout=30)
    assert not got["raised"], got["raised"][0] + (f" (and {len(got['raised']) - 1} more)" if len(got["raised"]) > 1 else "")
    assert not got["loop_errors"], "callbacks that fetch() gave the loop raised:\n" + "\n".join(got["loop_errors"][:5])
    return got


PAGES = ["/wait", "/one", "/big", "/two", "/three"]


@task("04.3")
def test_pages_are_fetched_whole_and_concurrently(exercise):
    """Five fetches at once on one loop; each gets every byte; none blocks the loop"""
    got = fetch_plan(exercise, PAGES)
    assert got["all_done"], (f"the loop sat idle for 5 s with fetches unfinished: only {got['finished']} called "
                             "on_done (a fetch that stops listening to its socket never finishes)")
    assert got["waited"], (
        "the server's /wait page answers only once another fetch has finished; it waited 5 s in vain: "
        "fetch('/wait') blocked the loop (a blocking connect, send or recv) so the other fetches could not run")
    problems = []
    for path, calls in zip(PAGES, got["results"]):
        first = calls[0]
        if first["error"] is not None:
            problems.append(f"fetch of {path}: on_done got the error {first['error']}")
        elif not first["response_ok"]:
            problems.append(f"fetch of {path}: on_done got {first['length']} bytes starting {first['head']!r}, "
                            f"not the server's whole response (status line, headers and body, read until recv "
                            f"returns b'')")
    assert not problems, "\n".join(problems)
    request = got["requests"].get("/one", {})
    assert (request.get("method") == "GET" and request.get("version") == "HTTP/1.0" and request.get("complete")
            and request.get("host") == "127.0.0.1"), (
        f"the server expected 'GET /one HTTP/1.0', a 'Host: 127.0.0.1' header and a blank line at the end; it saw "
        f"{request}")


@task("04.3")
def test_a_long_request_is_sent_whole(exercise):
    """A 2 MB request does not fit in one send(): the rest is sent when the socket is writable again"""
    path = "/long/" + "x" * 2_000_000
    got = fetch_plan(exercise, [path])
    seen = got["requests"].get(path[:40] + "...", {})
    assert seen.get("complete") and seen.get("length") == len(path), (
        f"the server received a request for a path of {seen.get('length')} bytes (complete: {seen.get('complete')}), "
        f"expected {len(path)}: send() returns how many bytes it took; keep the rest and send it the next time "
        "the socket is writable")
    first = got["results"][0][0]
    assert first["error"] is None and first["response_ok"], (
        f"the fetch of the long path should succeed with the server's whole response; on_done got error "
        f"{first['error']}, {first['length']} bytes")


@task("04.3")
def test_refused_connection_is_reported(exercise):
    """Nothing listening: on_done(ConnectionRefusedError, None), and the other fetches go on"""
    got = fetch_plan(exercise, ["refused", "/one"])
    assert got["all_done"], f"not every fetch called on_done: {got['finished']}"
    first, other = got["results"][0][0], got["results"][1][0]
    assert first["error"] == "ConnectionRefusedError" and first["length"] is None, (
        f"connecting to a port where nothing listens: on_done should get (ConnectionRefusedError, None); it got "
        f"({first['error']}, {first['length']} bytes). After connect_ex, the socket becomes writable when the "
        "connection is made OR has failed: read SO_ERROR to know which")
    assert other["error"] is None and other["response_ok"], "the fetch that followed the refused one failed"


@task("04.3")
def test_broken_connection_is_reported(exercise):
    """The server resets the connection mid-answer: on_done(a ConnectionError, None)"""
    got = fetch_plan(exercise, ["/reset", "/one"])
    assert got["all_done"], f"not every fetch called on_done: {got['finished']}"
    first = got["results"][0][0]
    assert first["connection_error"] and first["length"] is None, (
        f"the server sent part of an answer and then reset the connection: on_done should get the "
        f"ConnectionResetError that recv raised and None; it got ({first['error']}, {first['length']} bytes)")


@task("04.3")
def test_on_done_exactly_once_and_never_during_fetch(exercise):
    """One on_done per fetch, success or error, and always after fetch() has returned"""
    got = fetch_plan(exercise, ["refused", "/reset", "/one", "/big"])
    problems = []
    for path, calls in zip(["refused", "/reset", "/one", "/big"], got["results"]):
        if len(calls) != 1:
            problems.append(f"fetch of {path}: on_done was called {len(calls)} times, expected exactly once")
        if any(c["during_fetch"] for c in calls):
            problems.append(f"fetch of {path}: on_done was called before fetch() returned; report even an "
                            "error found at once through loop.call_soon, so that on_done always comes later")
    assert not problems, "\n".join(problems)


@task("04.3")
def test_sockets_closed_and_loop_left_clean(exercise):
    """In every path the socket is closed and no reader or writer is left on the loop"""
    got = fetch_plan(exercise, ["refused", "/reset", "/one", "/big"])
    assert got["sockets"] >= 4, (
        f"the test saw {got['sockets']} sockets made for 4 fetches: create each with socket.socket(...) "
        "(the test watches that class to check the sockets are closed)")
    assert got["open"] == 0, (
        f"{got['open']} of the {got['sockets']} sockets the fetches made were still open at the end: close the "
        "socket in every path (success, refused, reset)")
    assert got["registered"] == [], (
        f"descriptors {got['registered']} were still registered with the loop at the end: remove the reader or "
        "writer before closing the socket, in every path")
