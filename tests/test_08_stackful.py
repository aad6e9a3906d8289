"""Graded tests of 08_stackful. Scenarios are module-level functions sent to the child as
source, so each is self-contained; shared helpers travel as strings of source (GREENLET_KIT,
HUB_KIT, RACE_KIT) that the scenario execs. The child imports greenlet (installed next to
the grader); it cannot import lessons or coursekit.

08.1 watches the learner's greenlets from outside: the `log` function the test passes records
which greenlet was running at each line, and greenlet.settrace (greenlet's documented tracing
hook: it is called with ("switch" | "throw", (origin, target)) on every switch) records every
switch and throw. Greenlets are named in the order the test first sees them, so the verdicts
are about behaviour (who wrote what, who switched to whom), never about how the code is laid
out.

08.2 drives the hub with a scripted selector that answers the n-th select() with the n-th
line of its script (only fds still registered are reported, as a level-triggered selector
reports an unread fd in every select), and records register, unregister and select next to
the lines the greenlets log: one exact trace per scenario, the same on every run. A select(None)
when the script has nothing more to report raises instead of blocking. One scenario runs the
default selector on two socketpairs, with replies waited for one at a time, so its trace is
exact too.

08.3 runs on the virtual-time loop of src/lessons/virtual_time.py (RACE_KIT carries its source):
a contender's sleep(5) takes no wall time, and "who finished first" and "when did first_wins
return" are exact virtual times compared with ==. Equal finishing times never occur.

PYTEST_DONT_REWRITE: a failing assert reads as its message alone.
"""

from pathlib import Path

import pytest

from coursekit.testing import explained_hang

task = pytest.mark.task

# ---------------------------------------------------------------- 08.1 pingpong

GREENLET_KIT = '''
import greenlet

class Watch:
    """Names greenlets "caller", "g1", "g2"... in the order first seen; records lines and switches."""
    def __init__(self):
        self.caller = greenlet.getcurrent()
        self.seen, self.events = [], []

    def name(self, g):
        if g is self.caller:
            return "caller"
        for k, other in enumerate(self.seen):
            if other is g:
                return f"g{k + 1}"
        self.seen.append(g)
        return f"g{len(self.seen)}"

    def log(self, line):
        self.events.append(["line", str(line), self.name(greenlet.getcurrent())])

    def trace(self, event, args):
        self.events.append([event, self.name(args[0]), self.name(args[1])])

    def run(self, fn, *args):
        """Call fn(*args) with settrace on: {"returned" | "raised", "same", events, greenlets}."""
        old = greenlet.settrace(self.trace)
        out = {}
        try:
            value = fn(*args)
        except NotImplementedError:
            raise
        except BaseException as exc:
            out["raised"] = describe(exc)
            out["exc"] = exc
        else:
            out["returned"] = value if isinstance(value, (str, int, type(None))) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value)) else describe(value)
            out["value"] = value
        finally:
            greenlet.settrace(old)
        out["events"] = self.events
        out["greenlets"] = {self.name(g): {"parent": self.name(g.parent) if g.parent is not None else None,
                                           "dead": g.dead} for g in list(self.seen)}
        return out

def describe(exc):
    return f"{type(exc).__name__}({str(exc)!r})"
'''


def pingpong_watched(module, kit, n):
    exec(kit, globals())
    watch = Watch()
    out = watch.run(module.pingpong, n, watch.log)
    out.pop("value", None)
    out.pop("exc", None)
    return out


def watched_pingpong(exercise, n):
    with explained_hang(f"pingpong({n}, log) never returned: a switch() went to a greenlet that never "
                        "switches back."):
        return exercise("pingpong").run(pingpong_watched, GREENLET_KIT, n)


def lines(got):
    return [e for e in got["events"] if e[0] == "line"]


def expected_lines(n):
    return [f"{who} {i}" for i in range(n) for who in ("ping", "pong")]


@task("08.1")
def test_pingpong_rejects_n_below_one(exercise):
    """n < 1 raises ValueError and logs nothing"""
    for n in (0, -3):
        got = watched_pingpong(exercise, n)
        assert "raised" in got and got["raised"].startswith("ValueError"), (
            f"pingpong({n}, log) should raise ValueError (there is no round to play); it "
            f"{'returned ' + repr(got.get('returned')) if 'returned' in got else 'raised ' + got['raised']}")
        assert not lines(got), f"pingpong({n}, log) logged {[e[1] for e in lines(got)]} before raising: check n first"


@task("08.1")
def test_pingpong_lines_are_written_by_two_greenlets_in_turn(exercise):
    """2n lines ping 0, pong 0, ...; every ping line by one greenlet, every pong line by another, never the caller"""
    for n in (1, 3, 6):
        got = watched_pingpong(exercise, n)
        assert "raised" not in got, f"pingpong({n}, log) raised {got['raised']}"
        written = [e[1] for e in lines(got)]
        assert written == expected_lines(n), (
            f"pingpong({n}, log) should log {expected_lines(n)}, in that order; it logged {written}")
        writers = {who: sorted({e[2] for e in lines(got) if e[1].startswith(who)}) for who in ("ping", "pong")}
        ok = (len(writers["ping"]) == 1 and len(writers["pong"]) == 1 and writers["ping"] != writers["pong"]
              and "caller" not in writers["ping"] + writers["pong"])
        assert ok, (
            f"pingpong({n}, log): every 'ping' line should be written by one greenlet and every 'pong' line by "
            f"another, neither being the caller of pingpong; the 'ping' lines came from {writers['ping']}, the "
            f"'pong' lines from {writers['pong']} (\"caller\" is the greenlet that called pingpong)")


@task("08.1")
def test_pingpong_greenlets_are_children_of_the_caller(exercise):
    """The parent of ping and of pong is the greenlet that called pingpong"""
    for n in (1, 4):
        got = watched_pingpong(exercise, n)
        writers = sorted({e[2] for e in lines(got)} - {"caller"})
        assert writers, f"pingpong({n}, log) wrote no line from a greenlet of its own"
        parents = {w: got["greenlets"][w]["parent"] for w in writers}
        assert all(p == "caller" for p in parents.values()), (
            f"pingpong({n}, log): ping's and pong's parent should be the greenlet that called pingpong (create "
            f"both there, with no parent= argument), so a value either returns reaches the caller's switch(); "
            f"their parents were {parents} (\"caller\" is the calling greenlet)")


@task("08.1")
def test_pingpong_switches_directly_never_through_the_caller(exercise):
    """Between the first and the last line, ping and pong switch to each other: 2n - 1 switches, none to the caller"""
    for n in (1, 2, 5):
        got = watched_pingpong(exercise, n)
        events = got["events"]
        idx = [k for k, e in enumerate(events) if e[0] == "line"]
        assert len(idx) == 2 * n, f"pingpong({n}, log) logged {len(idx)} lines instead of {2 * n}"
        between = [e for e in events[idx[0]:idx[-1]] if e[0] != "line"]
        to_caller = [e for e in between if e[2] == "caller"]
        assert not to_caller and len(between) == 2 * n - 1, (
            f"pingpong({n}, log): between the first line and the last, ping and pong should switch straight to "
            f"each other ({2 * n - 1} switches, none to the caller); greenlet.settrace saw {len(between)} "
            f"switches, {len(to_caller)} of them to the caller: {between[:8]}. Let ping call pong.switch() and "
            f"pong call ping.switch(), instead of returning to the caller after each line")


@task("08.1")
def test_pingpong_returns_the_values_the_finished_greenlets_gave_the_caller(exercise):
    """pong returns 'pong finished n', then the caller resumes ping, which returns 'ping finished n'"""
    for n in (1, 3):
        got = watched_pingpong(exercise, n)
        want = [f"pong finished {n}", f"ping finished {n}"]
        assert got.get("returned") == want, (
            f"pingpong({n}, log) should return {want}: pong returns its string after its last line, which "
            f"arrives at the caller's switch(); the caller then switches to ping, which leaves its loop and "
            f"returns its own. It {'returned ' + repr(got['returned']) if 'returned' in got else 'raised ' + got['raised']}")
        finishes = [e for e in got["events"] if e[0] == "switch" and e[2] == "caller"]
        writers = {e[1].split()[0]: e[2] for e in lines(got)}
        order = [e[1] for e in finishes]
        assert order[-2:] == [writers.get("pong"), writers.get("ping")], (
            f"pingpong({n}, log): the last two switches to the caller should come from pong ({writers.get('pong')}) "
            f"as it finished, then from ping ({writers.get('ping')}); greenlet.settrace saw switches to the caller "
            f"from {order}")


@task("08.1")
def test_pingpong_leaves_no_greenlet_suspended(exercise):
    """When pingpong returns, both greenlets are dead"""
    for n in (1, 4):
        got = watched_pingpong(exercise, n)
        alive = sorted(w for w in {e[2] for e in lines(got)} - {"caller"} if not got["greenlets"][w]["dead"])
        assert not alive, (
            f"pingpong({n}, log) returned with {alive} still suspended (not dead): finish both greenlets - after "
            f"pong returns, switch to ping once more so that it leaves its loop. A suspended greenlet gets "
            f"GreenletExit thrown in when it is garbage-collected, at a moment nobody chose")


def route_watched(module, kit, kind):
    exec(kit, globals())

    class Oops(ValueError):
        pass

    exc = {"value": ValueError("bad input"), "subclass": Oops("odd input"),
           "exit": greenlet.GreenletExit("stop now"), "key": KeyError("missing"),
           "runtime": RuntimeError("broken")}[kind]
    watch = Watch()
    out = watch.run(module.route, exc, watch.log)
    out["same"] = out.pop("value", out.pop("exc", None)) is exc
    out.pop("exc", None)
    out["kind"] = kind
    return out


def watched_route(exercise, kind):
    with explained_hang(f"route(exc, log) never returned (exc of kind {kind!r}): a switch() went to a greenlet "
                        "that never switches back."):
        return exercise("pingpong").run(route_watched, GREENLET_KIT, kind)


KINDS = {"value": "ValueError('bad input')", "subclass": "Oops('odd input') (a ValueError subclass)",
         "exit": "GreenletExit('stop now')", "key": "KeyError('missing')", "runtime": "RuntimeError('broken')"}


def outcome(got):
    return f"returned {got['returned']!r}" if "returned" in got else f"raised {got['raised']}"


def worker_of(got):
    started = [e for e in lines(got) if e[1] == "started"]
    return started[0][2] if started else None


@task("08.1")
def test_route_starts_a_child_that_suspends_itself(exercise):
    """route's worker is a child of the caller; it logs 'started' and switches back to the caller"""
    for kind in ("value", "key"):
        got = watched_route(exercise, kind)
        w = worker_of(got)
        assert w not in (None, "caller"), (
            f"route({KINDS[kind]}, log): the first line, 'started', should be logged by a new greenlet (worker), "
            f"not by the caller; the lines were {[e[1:] for e in lines(got)]}")
        assert got["greenlets"][w]["parent"] == "caller", (
            f"route({KINDS[kind]}, log): worker's parent should be the greenlet that called route; it was "
            f"{got['greenlets'][w]['parent']}")
        events = got["events"]
        k = next(i for i, e in enumerate(events) if e[:2] == ["line", "started"])
        nxt = next((e for e in events[k + 1:] if e[0] != "line"), None)
        assert nxt == ["switch", w, "caller"], (
            f"route({KINDS[kind]}, log): after 'started', worker should switch back to the caller "
            f"(caller.switch(), which leaves worker suspended); the next switch greenlet.settrace saw was {nxt}")


@task("08.1")
def test_route_delivers_the_exception_with_throw(exercise):
    """route raises exc inside the suspended worker with worker.throw(exc)"""
    for kind in ("value", "exit", "runtime"):
        got = watched_route(exercise, kind)
        w = worker_of(got)
        throws = [e for e in got["events"] if e[0] == "throw"]
        assert throws and throws[0][2] == w and w not in (None, "caller"), (
            f"route({KINDS[kind]}, log) should deliver the exception with worker.throw(exc), into the suspended "
            f"worker {w}; greenlet.settrace saw these throws: {throws} (raising it in the caller, or sending it "
            f"with switch() for the worker to raise, is not a throw)")


@task("08.1")
def test_route_a_value_error_is_handled_inside(exercise):
    """A ValueError (or subclass) is caught in worker; its handler's value comes back from throw() and route returns it"""
    for kind, text in (("value", "bad input"), ("subclass", "odd input")):
        got = watched_route(exercise, kind)
        assert got.get("returned") == f"handled {text}", (
            f"route({KINDS[kind]}, log) should return 'handled {text}': worker catches ValueError and returns "
            f"that string, which comes back from throw(); it {outcome(got)}")
        written = [e[1] for e in lines(got)]
        assert written[:2] == ["started", f"caught {text}"], (
            f"route({KINDS[kind]}, log) should log 'started', then 'caught {text}' (in worker's handler); it "
            f"logged {written}")


@task("08.1")
def test_route_greenlet_exit_returns_the_exception_itself(exercise):
    """An uncaught GreenletExit ends worker normally: throw() returns the GreenletExit object, and so does route"""
    got = watched_route(exercise, "exit")
    assert "returned" in got and got["same"], (
        f"route(GreenletExit('stop now'), log) should return the very GreenletExit object it was given: worker "
        f"does not catch it, greenlet ends worker normally and hands the exception object to the parent as a "
        f"value; route {outcome(got)}{'' if 'raised' in got else ' (not the same object)'}")


@task("08.1")
def test_route_other_exceptions_propagate_unchanged(exercise):
    """Any other exception leaves worker, throw() and route unchanged (the same object)"""
    for kind in ("key", "runtime"):
        got = watched_route(exercise, kind)
        assert "raised" in got and got["same"], (
            f"route({KINDS[kind]}, log) should raise that same exception: worker does not catch it, so it "
            f"propagates to worker's parent, out of throw(), and route lets it through; route {outcome(got)}")


@task("08.1")
def test_route_always_cleans_up_once_and_ends_dead(exercise):
    """On every path worker logs 'cleanup' exactly once, last, and is dead afterwards"""
    for kind in KINDS:
        got = watched_route(exercise, kind)
        written = [e[1] for e in lines(got)]
        assert written.count("cleanup") == 1 and written[-1:] == ["cleanup"], (
            f"route({KINDS[kind]}, log): worker should log 'cleanup' exactly once, as its last line (a finally "
            f"block around its body); it logged {written}")
        w = worker_of(got)
        assert w in got["greenlets"] and got["greenlets"][w]["dead"], (
            f"route({KINDS[kind]}, log) {outcome(got)} with worker still suspended: throw() should end it")


# ---------------------------------------------------------------- 08.2 mini_hub

HUB_KIT = '''
import selectors
import greenlet


class Key:
    def __init__(self, fd, events, data):
        self.fd, self.fileobj, self.events, self.data = fd, fd, events, data


class ScriptedSelector:
    """The n-th select() reports the fds of script[n] that are registered (level-triggered: an
    fd stays readable for all its lines); every call is recorded in `trace`."""
    def __init__(self, script, trace):
        self.script, self.trace, self.keys, self.calls = list(script), trace, {}, 0

    def register(self, fd, events, data=None):
        if fd in self.keys:
            raise KeyError(f"{fd!r} is already registered")
        self.keys[fd] = Key(fd, events, data)
        self.trace.append(f"register {fd}")
        return self.keys[fd]

    def unregister(self, fd):
        self.trace.append(f"unregister {fd}")
        return self.keys.pop(fd)

    def select(self, timeout=None):
        line = self.script[self.calls] if self.calls < len(self.script) else []
        self.calls += 1
        ready = [self.keys[fd] for fd in line if fd in self.keys]
        self.trace.append(f"select {timeout} -> {[k.fd for k in ready]}")
        if timeout is None and not ready:
            raise RuntimeError("select(None) with nothing that can ever become ready")
        if len(self.trace) > 500:
            raise RuntimeError("more than 500 selector calls: the hub loops without end")
        return [(k, selectors.EVENT_READ) for k in ready]


def run_hub(module, script, programs):
    """programs: name -> function(hub, log) returning the body to spawn; returns the trace etc."""
    trace = []
    sel = ScriptedSelector(script, trace)
    hub = module.MiniHub(sel)
    spawned = []
    for name, body in programs:
        spawned.append(hub.spawn(body, hub, trace.append, name))
    before = list(trace)
    out = {"before_run": before}
    try:
        hub.run()
    except NotImplementedError:
        raise
    except BaseException as exc:
        out["run_raised"] = f"{type(exc).__name__}: {exc}"
    out["trace"] = trace
    out["kinds"] = [type(g).__name__ for g in spawned]
    out["greenlets"] = all(isinstance(g, greenlet.greenlet) for g in spawned)
    out["dead"] = [bool(getattr(g, "dead", False)) for g in spawned]
    out["errors"] = [f"{type(e).__name__}: {e}" for e in getattr(hub, "errors", ["no hub.errors"])]
    return out, hub
'''


def hub_sleepers(module, kit):
    """A, B, C log three lines each with sleep0() between; A spawns D (one line) in its first run."""
    exec(kit, globals())

    def sleeper(hub, log, name):
        for k in range(3):
            log(f"{name}{k}")
            if name == "A" and k == 0:
                hub.spawn(lambda: log("D0"))
            hub.sleep0()

    out, _ = run_hub(module, [], [("A", sleeper), ("B", sleeper), ("C", sleeper)])
    return out


SLEEPERS = ["select 0 -> []", "A0", "B0", "C0", "select 0 -> []", "D0", "A1", "B1", "C1",
            "select 0 -> []", "A2", "B2", "C2", "select 0 -> []"]


def hub_io(module, kit):
    """R waits twice on fd 5; S logs three lines with sleep0 between. The script keeps fd 5
    readable from the second select on (level-triggered: nobody reads it)."""
    exec(kit, globals())

    def reader(hub, log, name):
        log("R waits")
        hub.wait_read(5)
        log("R woke")
        hub.wait_read(5)
        log("R woke again")

    def sleeper(hub, log, name):
        for k in range(3):
            log(f"S{k}")
            hub.sleep0()

    out, _ = run_hub(module, [[], [5], [5], [5], [5]], [("R", reader), ("S", sleeper)])
    return out


IO = ["select 0 -> []", "R waits", "register 5", "S0",
      "select 0 -> [5]", "unregister 5", "S1", "R woke", "register 5",
      "select 0 -> [5]", "unregister 5", "S2", "R woke again",
      "select 0 -> []"]


def hub_blocking(module, kit):
    """Only waiters: X waits on 7, Y on 8; the fds become ready in the order 8, then 7."""
    exec(kit, globals())

    def waiter(hub, log, name):
        fd = 7 if name == "X" else 8
        hub.wait_read(fd)
        log(f"{name} woke")

    out, _ = run_hub(module, [[], [8, 7]], [("X", waiter), ("Y", waiter)])
    return out


BLOCKING = ["select 0 -> []", "register 7", "register 8", "select None -> [8, 7]", "unregister 8",
            "unregister 7", "Y woke", "X woke"]


def hub_errors(module, kit):
    """C raises at once, A after one sleep0; B runs three passes and must see them all."""
    exec(kit, globals())

    def body(hub, log, name):
        if name == "C":
            raise ValueError("C failed")
        for k in range(3):
            log(f"{name}{k}")
            if name == "A" and k == 1:
                raise KeyError("A failed")
            hub.sleep0()

    out, _ = run_hub(module, [], [("A", body), ("B", body), ("C", body)])
    return out


def hub_args(module, kit):
    """spawn passes its arguments; nothing runs before run()."""
    exec(kit, globals())
    trace = []
    hub = module.MiniHub(ScriptedSelector([], trace))
    g = hub.spawn(lambda a, b, c=None: trace.append(f"called with {a}, {b}, {c}"), 1, "two")
    before = list(trace)
    hub.run()
    return {"before": before, "trace": trace, "kind": type(g).__name__,
            "greenlet": isinstance(g, greenlet.greenlet), "dead": bool(getattr(g, "dead", False))}


def hub_echo(module):
    """The default selector, two socketpairs, an echo greenlet on each, and a driver that sends
    to pair 1, then pair 0, three rounds, waiting for each reply before the next send."""
    import socket
    hub = module.MiniHub()
    log = []
    pairs = [socket.socketpair() for _ in range(2)]
    for a, b in pairs:
        a.setblocking(False)
        b.setblocking(False)

    def echo(name, sock):
        for _ in range(3):
            hub.wait_read(sock.fileno())
            data = sock.recv(100)
            log.append(f"{name} got {data.decode()}")
            sock.send(data)

    def driver():
        for k in range(3):
            for i in (1, 0):
                b = pairs[i][1]
                b.send(f"m{k}{i}".encode())
                hub.wait_read(b.fileno())
                log.append(f"driver {b.recv(100).decode()}")

    gs = [hub.spawn(echo, "h0", pairs[0][0]), hub.spawn(echo, "h1", pairs[1][0]), hub.spawn(driver)]
    try:
        hub.run()
        raised = None
    except NotImplementedError:
        raise
    except BaseException as exc:
        raised = f"{type(exc).__name__}: {exc}"
    for a, b in pairs:
        a.close()
        b.close()
    return {"log": log, "raised": raised, "dead": [bool(getattr(g, "dead", False)) for g in gs],
            "errors": [f"{type(e).__name__}: {e}" for e in getattr(hub, "errors", [])]}


ECHO = [line for k in range(3) for i in (1, 0) for line in (f"h{i} got m{k}{i}", f"driver m{k}{i}")]


def hub_run(exercise, scenario, what):
    with explained_hang(f"MiniHub.run() never returned ({what}): a greenlet switched to one that never switches "
                        "back, or the hub loops without end."):
        return exercise("mini_hub").run(scenario, HUB_KIT)


def trace_message(what, want, got):
    extra = f"; run() raised {got['run_raised']}" if "run_raised" in got else ""
    return (f"{what}: the trace of selector calls and logged lines should be\n  {want}\nbut was\n  {got['trace']}"
            f"{extra}")


@task("08.2")
def test_spawn_returns_a_greenlet_that_runs_only_in_run(exercise):
    """spawn(fn, *args) returns a greenlet; fn(*args) runs once run() runs, not before"""
    with explained_hang("MiniHub.run() never returned after one spawn."):
        got = exercise("mini_hub").run(hub_args, HUB_KIT)
    assert got["greenlet"], f"spawn(fn, 1, 'two') should return the new greenlet; it returned a {got['kind']}"
    assert got["before"] == [], f"spawn(fn, 1, 'two') ran fn before run(): the trace was {got['before']}"
    assert "called with 1, two, None" in got["trace"], (
        f"after spawn(fn, 1, 'two') and run(), fn should have been called with (1, 'two'); the trace was "
        f"{got['trace']}")


@task("08.2")
def test_runnable_greenlets_run_in_order_spawn_then_sleep0(exercise):
    """First runs in spawn order; sleep0() goes to the back of the line; a greenlet spawned while running queues after"""
    got = hub_run(exercise, hub_sleepers, "three greenlets calling sleep0()")
    lines = [t for t in got["trace"] if not t.startswith("select")]
    want = [t for t in SLEEPERS if not t.startswith("select")]
    assert got["before_run"] == [], f"spawn ran code before run(): {got['before_run']}"
    assert lines == want, (
        f"A, B and C (spawned in that order) each log three lines with sleep0() between; A spawns D in its first "
        f"run, just before its sleep0(). The lines should run in the order {want}; they ran {lines}"
        + (f"; run() raised {got['run_raised']}" if "run_raised" in got else ""))


@task("08.2")
def test_each_pass_selects_once_then_runs_only_what_was_runnable(exercise):
    """One select per pass (timeout 0 while a greenlet is runnable); a pass runs only the greenlets runnable when it began; run() returns without selecting when nothing is left"""
    got = hub_run(exercise, hub_sleepers, "three greenlets calling sleep0()")
    assert got["trace"] == SLEEPERS, trace_message("A, B, C with sleep0() between their lines, A spawning D", SLEEPERS, got)


@task("08.2")
def test_select_blocks_when_only_waiters_are_left_and_wakes_in_report_order(exercise):
    """With nothing runnable the hub selects with timeout None; woken greenlets run in the order select reported their fds"""
    got = hub_run(exercise, hub_blocking, "two greenlets waiting on fds 7 and 8")
    assert got["trace"] == BLOCKING, trace_message(
        "X waits on fd 7, Y on fd 8, and select reports [8, 7]", BLOCKING, got)


@task("08.2")
def test_wait_read_resumes_once_per_readiness_unregistered_first(exercise):
    """wait_read registers the fd; each readiness resumes the greenlet once, its fd unregistered before it runs; never again unless it waits again"""
    got = hub_run(exercise, hub_io, "R waiting twice on fd 5, S calling sleep0()")
    assert got["trace"] == IO, trace_message(
        "R waits on fd 5 twice, S logs S0..S2 with sleep0(); the scripted fd 5 stays readable from the second "
        "select on. R must be resumed exactly once per select that reports it, and its fd unregistered before "
        "it runs", IO, got)


@task("08.2")
def test_an_exception_ends_one_greenlet_and_is_collected(exercise):
    """An exception in a greenlet is appended to hub.errors; the hub and the other greenlets go on"""
    got = hub_run(exercise, hub_errors, "C raising at once, A after a sleep0()")
    assert "run_raised" not in got, (
        f"run() raised {got['run_raised']} when a greenlet raised: the hub should catch it, append it to "
        f"hub.errors and go on with the others")
    want = ["ValueError: C failed", "KeyError: 'A failed'"]
    assert got["errors"] == want, (
        f"C raises ValueError in its first run, A raises KeyError in its second: hub.errors should be {want}, "
        f"in the order they happened; it was {got['errors']}")
    lines = [t for t in got["trace"] if t[:1] in "AB"]
    assert lines == ["A0", "B0", "A1", "B1", "B2"], (
        f"B should run its three lines whatever A and C do: the lines were {lines}")


@task("08.2")
def test_every_spawned_greenlet_is_dead_when_run_returns(exercise):
    """run() returns only when no greenlet is runnable or waiting: every spawned greenlet has finished"""
    for scenario, what in ((hub_sleepers, "sleepers"), (hub_io, "a reader and a sleeper"),
                           (hub_blocking, "two greenlets waiting while nothing is runnable"),
                           (hub_errors, "greenlets that raise")):
        got = hub_run(exercise, scenario, what)
        assert got["greenlets"] and all(got["dead"]), (
            f"when run() returned ({what}), the spawned greenlets' dead flags were {got['dead']} (types "
            f"{got['kinds']}): run() should return only when nothing is runnable or waiting"
            + (f"; run() raised {got['run_raised']}" if "run_raised" in got else ""))


@task("08.2")
def test_two_echo_greenlets_interleave_on_a_real_selector(exercise):
    """On the default selector and socketpairs, two echo greenlets and a driver interleave exactly"""
    with explained_hang("MiniHub.run() never returned with two echo greenlets on socketpairs: a greenlet waiting "
                        "in wait_read was never resumed, or the hub blocks in select with a greenlet runnable."):
        got = exercise("mini_hub").run(hub_echo)
    assert got["raised"] is None and got["errors"] == [], (
        f"the echo scenario on MiniHub() (default selector) raised {got['raised']}, errors {got['errors']}")
    assert got["log"] == ECHO and all(got["dead"]), (
        f"two echo greenlets on socketpairs and a driver that sends to pair 1, then pair 0, waiting for each "
        f"reply: the log should be {ECHO}; it was {got['log']} (dead flags {got['dead']})")


# ---------------------------------------------------------------- 08.3 first_wins

VIRTUAL_TIME = (Path(__file__).resolve().parents[1] / "src" / "lessons" / "virtual_time.py").read_text(encoding="utf-8")

RACE_KIT = f"VIRTUAL_TIME = {VIRTUAL_TIME!r}\n" + '''
import asyncio
import sys
import types

vt = types.ModuleType("course_virtual_time")
sys.modules[vt.__name__] = vt
exec(compile(VIRTUAL_TIME, "virtual_time.py", "exec"), vt.__dict__)


class Failure(Exception):
    pass


def race(module, specs, cancel_at=None, empty=False):
    """specs: one (delay, "ok" | "fail", cleanup seconds) per contender. Runs first_wins on
    virtual time; returns what happened to first_wins and to every contender."""
    clock = vt.VirtualClock(0.0)
    errors = [Failure(f"f{i}") for i in range(len(specs))]
    state = {i: {"started": None, "end": None, "at": None} for i in range(len(specs))}

    def contender(i, delay, kind, cleanup):
        async def run():
            loop = asyncio.get_running_loop()
            state[i]["started"] = loop.time()
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                state[i]["end"] = "cancelled"
                if cleanup:
                    await asyncio.sleep(cleanup)     # a slow cleanup: close a connection, say
                state[i]["at"] = loop.time()
                raise
            state[i]["at"] = loop.time()
            if kind == "fail":
                state[i]["end"] = "raised"
                raise errors[i]
            state[i]["end"] = "returned"
            return f"v{i}"
        return run

    fns = [] if empty else [contender(i, *spec) for i, spec in enumerate(specs)]
    out = {}

    async def call():
        loop = asyncio.get_running_loop()
        try:
            return await module.first_wins(fns)
        finally:
            out["returned_at"] = loop.time()
            out["state_at_return"] = {str(i): dict(s) for i, s in state.items()}
            out["pending_at_return"] = sum(1 for t in asyncio.all_tasks()
                                           if t is not asyncio.current_task() and t is not main_task and not t.done())

    async def main():
        nonlocal main_task
        main_task = asyncio.current_task()
        task = asyncio.ensure_future(call())
        if cancel_at is not None:
            await asyncio.sleep(cancel_at)
            task.cancel()
        try:
            value = await task
            out["value"] = list(value) if isinstance(value, tuple) else repr(value)
        except NotImplementedError:
            raise
        except asyncio.CancelledError:
            out["outcome"] = "cancelled" if task.cancelled() else "CancelledError"
        except BaseException as exc:
            out["outcome"] = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, BaseExceptionGroup):
                out["group"] = {"is_exception_group": isinstance(exc, ExceptionGroup),
                                "same": sorted(i for i, e in enumerate(errors) if any(x is e for x in exc.exceptions)),
                                "count": len(exc.exceptions)}
        out["state"] = {str(i): dict(s) for i, s in state.items()}

    main_task = None
    try:
        with asyncio.Runner(loop_factory=lambda: vt.VirtualTimeLoop(clock)) as runner:
            runner.run(main())
    except vt.NothingCanWake as exc:
        out["stuck"] = str(exc)
    return out
'''


def race_scenario(module, kit, specs, cancel_at=None, empty=False):
    exec(kit, globals())
    return race(module, specs, cancel_at, empty)


def raced(exercise, specs, cancel_at=None, empty=False):
    with explained_hang(f"first_wins never returned, contenders (delay, outcome, cleanup) {specs}."):
        got = exercise("first_wins").run(race_scenario, RACE_KIT, specs, cancel_at, empty)
    assert "stuck" not in got, f"first_wins over {specs} waited for something that can never happen: {got['stuck']}"
    return got


def result_of(got):
    return got["value"] if "value" in got else got.get("outcome")


@task("08.3")
def test_no_contenders_raises_value_error(exercise):
    """An empty list raises ValueError"""
    got = raced(exercise, [], empty=True)
    assert str(got.get("outcome", "")).startswith("ValueError"), (
        f"first_wins([]) should raise ValueError (nobody can win); it gave {result_of(got)!r}")


@task("08.3")
def test_all_contenders_start_at_once(exercise):
    """Every contender starts at once, as its own task: sleeps of 5, 1 and 3 s give a result after 1 s"""
    specs = [(5, "ok", 0), (1, "ok", 0), (3, "ok", 0)]
    got = raced(exercise, specs)
    started = {i: s["started"] for i, s in got["state"].items()}
    assert all(t == 0.0 for t in started.values()), (
        f"contenders sleeping 5, 1 and 3 s: every one should start at once (virtual time 0.0); they started at "
        f"{started} (None: never started). Start them all as tasks before awaiting any")
    assert got.get("returned_at") == 1.0, (
        f"contenders sleeping 5, 1 and 3 s run concurrently, so first_wins should return at 1.0 s; it returned at "
        f"{got.get('returned_at')} s with {result_of(got)!r}")


@task("08.3")
def test_the_first_to_succeed_wins(exercise):
    """first_wins returns (index, value) of the contender that succeeds first"""
    for specs, want in (([(5, "ok", 0), (1, "ok", 0), (3, "ok", 0)], [1, "v1"]),
                        ([(0, "ok", 0)], [0, "v0"]),
                        ([(2, "ok", 0), (0.5, "ok", 0), (0.25, "ok", 0), (9, "ok", 0)], [2, "v2"])):
        got = raced(exercise, specs)
        assert got.get("value") == want, (
            f"contenders (delay, outcome, cleanup) {specs}: first_wins should return {tuple(want)} (the index "
            f"and the value of the first to succeed); it gave {result_of(got)!r}")


@task("08.3")
def test_losers_are_cancelled_and_awaited_before_return(exercise):
    """Every other contender sees CancelledError and has finished (its cleanup too) when first_wins returns; no task left"""
    specs = [(4, "ok", 0), (1, "ok", 0), (6, "ok", 2), (9, "ok", 0)]
    got = raced(exercise, specs)
    at_return = got.get("state_at_return", {})
    want = {"0": ("cancelled", 1.0), "2": ("cancelled", 3.0), "3": ("cancelled", 1.0)}
    seen = {i: (at_return[i]["end"], at_return[i]["at"]) for i in want if i in at_return}
    assert seen == want and got.get("pending_at_return") == 0 and got.get("returned_at") == 3.0, (
        f"contenders (delay, outcome, cleanup) {specs}: contender 1 wins at 1 s; 0, 2 and 3 should be cancelled "
        f"then and awaited - contender 2's cleanup takes 2 s, so first_wins returns at 3.0 s. When first_wins "
        f"returned (at {got.get('returned_at')} s), the losers' (end, time) were {seen} and "
        f"{got.get('pending_at_return')} of its tasks were still pending; it gave {result_of(got)!r}. Cancel "
        f"the losers and wait for them (a TaskGroup does not exit before its children have finished)")


@task("08.3")
def test_a_failure_neither_wins_nor_stops_the_others(exercise):
    """A contender that raises does not win and cancels nobody; a later success wins"""
    specs = [(1, "fail", 0), (3, "ok", 0), (2, "fail", 0), (5, "ok", 0)]
    got = raced(exercise, specs)
    ends = {i: (s["end"], s["at"]) for i, s in got["state"].items()}
    want = {"0": ("raised", 1), "1": ("returned", 3), "2": ("raised", 2), "3": ("cancelled", 3)}
    assert got.get("value") == [1, "v1"] and ends == want, (
        f"contenders (delay, outcome, cleanup) {specs}: 0 and 2 fail at 1 s and 2 s; they must not win, nor stop "
        f"the others, so 1 wins at 3 s and only 3 is cancelled. first_wins gave {result_of(got)!r}; the "
        f"contenders' (end, time) were {ends}")


@task("08.3")
def test_all_failing_raise_an_exception_group_of_every_failure(exercise):
    """If every contender fails: an ExceptionGroup of exactly their exceptions, after all have finished"""
    specs = [(2, "fail", 0), (1, "fail", 0), (3, "fail", 0)]
    got = raced(exercise, specs)
    group = got.get("group")
    assert group and group["is_exception_group"] and group["same"] == [0, 1, 2] and group["count"] == 3, (
        f"contenders (delay, outcome, cleanup) {specs} all fail: first_wins should raise an ExceptionGroup "
        f"holding exactly their three exceptions (the same objects, each once); it gave {result_of(got)!r}"
        + (f" (a group of {group['count']}, of which contenders {group['same']}'s)" if group else ""))
    assert got.get("returned_at") == 3.0, (
        f"contenders {specs} all fail, the last at 3 s: first_wins should raise only then; it ended at "
        f"{got.get('returned_at')} s")


@task("08.3")
def test_cancelling_the_caller_cancels_every_contender_and_propagates(exercise):
    """Cancelling first_wins's task cancels and awaits every contender, and the CancelledError propagates"""
    specs = [(5, "ok", 0), (6, "ok", 1), (8, "fail", 0)]
    got = raced(exercise, specs, cancel_at=2)
    at_return = got.get("state_at_return", {})
    ends = {i: (s["end"], s["at"]) for i, s in at_return.items()}
    want = {"0": ("cancelled", 2), "1": ("cancelled", 3), "2": ("cancelled", 2)}
    assert got.get("outcome") == "cancelled", (
        f"contenders (delay, outcome, cleanup) {specs}; the task awaiting first_wins is cancelled at 2 s: the "
        f"CancelledError must propagate out of first_wins (the task ends cancelled); it gave {result_of(got)!r}. "
        f"Never catch CancelledError without re-raising it")
    assert ends == want and got.get("pending_at_return") == 0, (
        f"contenders {specs}; first_wins's task is cancelled at 2 s: every contender should be cancelled then "
        f"and awaited (contender 1's cleanup takes 1 s) before first_wins ends; when it ended (at "
        f"{got.get('returned_at')} s) the contenders' (end, time) were {ends}, {got.get('pending_at_return')} "
        f"still pending")
