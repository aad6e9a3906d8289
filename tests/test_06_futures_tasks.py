"""Graded tests of 06_futures_tasks. Scenarios are module-level functions sent to the child as
source, so each is self-contained; shared helpers travel as strings of source that the
scenario execs (plain data), and so does src/lessons/linksite.py, read here in the grader and
exec'd in the child, where `lessons` cannot be imported.

06.1 and 06.2 run on a pass-by-pass loop defined in PASS_LOOP: call_soon queues, run_pass()
runs exactly the callbacks queued before the pass began, and the passes are numbered from 1.
So "when does this callback run" and "when does the coroutine resume" are exact pass numbers,
the same every run; nothing sleeps, nothing measures time. 06.1 also runs the learner's Future
under asyncio's real loop and a real asyncio.Task (the point of the _asyncio_future_blocking
handshake); those awaits are wrapped in asyncio.wait_for(..., 5), a safety net that turns a
Task that never wakes into a failure with a reason.

06.3 runs the learner's crawl with asyncio.run against LinkSite (threads on 127.0.0.1, port
0). socket.socket is replaced by a subclass that counts the crawler's sockets (inet ones made
in the main thread: not asyncio's self-pipe, not the server's), so the peak number open at once
and the ones left open are facts, not guesses. The slow page is held until the test has seen,
through LinkSite.wait_hits (a Condition notified on every request), every other page requested:
a crawler that does one page at a time, or blocks its loop, never gets there, and the 10 s
safety net releases the page and reports it.

PYTEST_DONT_REWRITE: a failing assert reads as its message alone.
"""

from pathlib import Path

import pytest

from coursekit.testing import explained_hang

task = pytest.mark.task

# ---------------------------------------------------------------- the pass-by-pass loop

# Exec'd by the 06.1 and 06.2 scenarios.
PASS_LOOP = '''
import collections

class PassLoop:
    """call_soon(callback, *args, context=None) queues a callback; run_pass() runs exactly the
    callbacks queued before it started (those they queue wait for the next pass). `passes`
    is the number of the pass running (0 before the first). get_debug and
    call_exception_handler are there because asyncio.Future calls them."""
    def __init__(self):
        self.ready = collections.deque()
        self.passes = 0
        self.errors = []
        self.contexts = []                 # the context= given to each call_soon, in order
        self.actions = collections.defaultdict(list)
    def call_soon(self, callback, *args, context=None):
        self.ready.append((callback, args, context))
        self.contexts.append(context)
    def get_debug(self):
        return False
    def call_exception_handler(self, context):
        pass                               # an exception never retrieved: not what we grade
    def at(self, n, action, *args):
        """Run action(*args) at the start of pass n, before that pass's callbacks: what the
        action queues runs in pass n + 1, as if a callback of pass n had done it."""
        self.actions[n].append((action, args))
    def run_pass(self):
        self.passes += 1
        todo = len(self.ready)             # what the actions queue waits for the next pass
        for action, args in self.actions.pop(self.passes, []):
            action(*args)
        for _ in range(todo):
            callback, args, ctx = self.ready.popleft()
            try:
                if ctx is None:
                    callback(*args)
                else:
                    ctx.run(callback, *args)
            except Exception as exc:
                name = getattr(callback, "__qualname__", repr(callback))
                self.errors.append(f"the callback {name} raised {type(exc).__name__}: {exc}")
    def run(self, n):
        for _ in range(n):
            self.run_pass()

def attempt(fn, *args, **kwargs):
    """What calling fn did, as plain data: ["value", repr] or ["raise", type name, args]."""
    try:
        return ["value", repr(fn(*args, **kwargs))]
    except BaseException as exc:
        return ["raise", type(exc).__name__, [repr(a) for a in exc.args]]
'''


def fail_reason(got):
    return f"the scenario itself failed: {got['error']}" if got.get("error") else ""


# ---------------------------------------------------------------- 06.1 the Future

def future_outcomes(module, kit):
    """States and outcomes of futures completed every way (no loop pass needed)."""
    import asyncio
    exec(kit, globals())
    loop = PassLoop()
    out = {}
    f = module.Future(loop)
    out["new"] = [f.done(), f.cancelled(), f.get_loop() is loop]
    out["pending_result"] = attempt(f.result)
    out["pending_exception"] = attempt(f.exception)
    f.set_result(42)
    out["finished"] = [f.done(), f.cancelled(), attempt(f.result), attempt(f.exception)]
    g = module.Future(loop)
    err = ValueError("boom")
    g.set_exception(err)
    try:
        g.result()
        same = "returned"
    except BaseException as exc:
        same = "same" if exc is err else f"another {type(exc).__name__}"
    out["failed"] = [g.done(), g.cancelled(), same, g.exception() is err if g.done() else None]
    # completing twice, every way, after every way
    twice = {}
    for first in ("result", "exception", "cancel"):
        h = module.Future(loop)
        {"result": lambda: h.set_result("first"), "exception": lambda: h.set_exception(KeyError("first")),
         "cancel": lambda: h.cancel()}[first]()
        twice[first] = {"set_result": attempt(h.set_result, "second"),
                        "set_exception": attempt(h.set_exception, KeyError("second")),
                        "then_result": attempt(h.result), "cancelled": h.cancelled()}
    out["twice"] = twice
    # cancel
    c = module.Future(loop)
    out["cancel"] = [attempt(c.cancel), c.done(), c.cancelled(), attempt(c.result), attempt(c.exception),
                     attempt(c.cancel)]
    m = module.Future(loop)
    m.cancel(msg="why")
    out["cancel_msg"] = [attempt(m.result), attempt(m.exception)]
    d = module.Future(loop)
    d.set_result(1)
    out["cancel_done"] = [attempt(d.cancel), d.cancelled(), attempt(d.result)]
    return out


def outcomes(exercise):
    return exercise("mini_future").run(future_outcomes, PASS_LOOP)


def said(o):
    return f"returned {o[1]}" if o[0] == "value" else f"raised {o[1]}{tuple(o[2]) if o[2] else ''}"


@task("06.1")
def test_a_new_future_is_pending(exercise):
    """Rules 1-2: done() and cancelled() False, get_loop() the loop; result() and exception() raise InvalidStateError"""
    got = outcomes(exercise)
    assert got["new"] == [False, False, True], (
        f"Future(loop): expected done() False, cancelled() False and get_loop() to return that loop; got "
        f"done() {got['new'][0]}, cancelled() {got['new'][1]}, get_loop() is loop: {got['new'][2]}")
    for name in ("result", "exception"):
        o = got[f"pending_{name}"]
        assert o[0] == "raise" and o[1] == "InvalidStateError", (
            f"{name}() on a pending future must raise asyncio.InvalidStateError (the result is not there yet); "
            f"it {said(o)}")


@task("06.1")
def test_set_result_and_set_exception_finish_the_future(exercise):
    """Rule 3: result() returns the value, or raises the very exception set; exception() returns it"""
    got = outcomes(exercise)
    done, cancelled, result, exception = got["finished"]
    assert done and not cancelled and result == ["value", "42"] and exception == ["value", "None"], (
        f"after set_result(42): expected done() True, cancelled() False, result() 42, exception() None; got "
        f"done() {done}, cancelled() {cancelled}, result() {said(result)}, exception() {said(exception)}")
    done, cancelled, same, exc_is = got["failed"]
    assert done and not cancelled and same == "same" and exc_is, (
        f"after set_exception(err): expected done() True, result() to raise err itself and exception() to "
        f"return err; got done() {done}, result() {same}, exception() is err: {exc_is}")


@task("06.1")
def test_a_done_future_cannot_be_completed_again(exercise):
    """Rule 4: set_result and set_exception raise InvalidStateError once done; the first outcome stays"""
    got = outcomes(exercise)
    problems = []
    for first, seen in got["twice"].items():
        for call in ("set_result", "set_exception"):
            o = seen[call]
            if o[0] != "raise" or o[1] != "InvalidStateError":
                problems.append(f"after {'cancel()' if first == 'cancel' else 'set_' + first + '(...)'}, "
                                f"{call}(...) {said(o)}; expected asyncio.InvalidStateError")
        want = {"result": ["value", "'first'"], "exception": ["raise", "KeyError", ["'first'"]],
                "cancel": ["raise", "CancelledError", []]}[first]
        if seen["then_result"] != want or seen["cancelled"] != (first == "cancel"):
            problems.append(f"after {first} and a second completion, result() {said(seen['then_result'])}: the "
                            f"first outcome must stay")
    assert not problems, "\n".join(problems)


@task("06.1")
def test_cancel(exercise):
    """Rule 5: cancel() True once, then CancelledError (with msg); False on a done future"""
    got = outcomes(exercise)
    first, done, cancelled, result, exception, again = got["cancel"]
    assert first == ["value", "True"] and done and cancelled, (
        f"cancel() on a pending future: expected True, then done() and cancelled() True; got cancel() "
        f"{said(first)}, done() {done}, cancelled() {cancelled}")
    assert result[:2] == ["raise", "CancelledError"] and exception[:2] == ["raise", "CancelledError"], (
        f"on a cancelled future result() and exception() must raise asyncio.CancelledError; result() "
        f"{said(result)}, exception() {said(exception)}")
    assert again == ["value", "False"], f"a second cancel() must return False (already done); it {said(again)}"
    assert got["cancel_msg"] == [["raise", "CancelledError", ["'why'"]]] * 2, (
        f"after cancel(msg='why'), result() and exception() must raise CancelledError('why'); they "
        f"{said(got['cancel_msg'][0])} and {said(got['cancel_msg'][1])}")
    c, cancelled, result = got["cancel_done"]
    assert c == ["value", "False"] and not cancelled and result == ["value", "1"], (
        f"cancel() on a future that has a result must return False and change nothing; it {said(c)}, then "
        f"cancelled() {cancelled}, result() {said(result)}")


def callback_passes(module, kit):
    """Which pass each callback runs in, and with what, for every way of completing."""
    import contextvars
    exec(kit, globals())
    loop = PassLoop()
    log = []

    def named(name):
        def cb(fut):
            log.append([name, loop.passes, fut is futures.get(name[0])])
        cb.__qualname__ = name
        return cb

    futures = {}
    out = {}
    # a: completed by set_result in pass 1; callbacks a1 a2 a3 a1 registered before
    a = futures["a"] = module.Future(loop)
    a1, a2, a3 = named("a1"), named("a2"), named("a3")
    for cb in (a1, a2, a3, a1):
        a.add_done_callback(cb)
    out["queued_before_done"] = len(loop.ready)

    def complete_a():
        a.set_result("x")
        out["ran_inside_set_result"] = [e[0] for e in log]
    loop.at(1, complete_a)
    # b: set_exception in pass 2; c: cancel in pass 2
    b = futures["b"] = module.Future(loop)
    b.add_done_callback(named("b1"))
    b.add_done_callback(named("b2"))
    c = futures["c"] = module.Future(loop)
    c.add_done_callback(named("c1"))
    loop.at(2, b.set_exception, OSError("x"))
    loop.at(2, c.cancel)
    # late: added to `a` (done since pass 1) during pass 3, and outside the loop after pass 4
    loop.at(3, lambda: a.add_done_callback(named("a-late")))
    loop.run(4)
    before = len(loop.ready)
    a.add_done_callback(named("a-later"))
    out["queued_at_once"] = len(loop.ready) - before
    loop.run(1)
    # the context given with a callback goes to call_soon
    ctx = contextvars.copy_context()
    k = futures["k"] = module.Future(loop)
    k.add_done_callback(named("k1"), context=ctx)
    loop.contexts.clear()
    k.set_result(0)
    k.add_done_callback(named("k2"), context=ctx)
    out["contexts"] = [c is ctx for c in loop.contexts]
    loop.run(1)
    out["log"] = log
    out["errors"] = loop.errors
    return out


@task("06.1")
def test_callbacks_run_in_the_next_pass_in_order(exercise):
    """Rule 6: completion hands each callback to call_soon(fn, self) in order; never calls it; once done, at once"""
    got = exercise("mini_future").run(callback_passes, PASS_LOOP)
    assert not got["errors"], "callbacks the future scheduled raised:\n" + "\n".join(got["errors"][:5])
    assert got["queued_before_done"] == 0, (
        f"add_done_callback on a pending future put {got['queued_before_done']} callbacks on the loop at once: "
        "keep them until the future is done")
    assert got["ran_inside_set_result"] == [], (
        f"set_result ran callbacks {got['ran_inside_set_result']} itself: it must hand each to "
        "loop.call_soon(fn, self), so that they run in the loop's next pass, never inside set_result")
    log = [tuple(e) for e in got["log"]]
    first = [(n, p) for n, p, _ in log if n[0] in "abc" and p <= 3 and n != "a-late"]
    want = [("a1", 2), ("a2", 2), ("a3", 2), ("a1", 2), ("b1", 3), ("b2", 3), ("c1", 3)]
    assert first == want, (
        f"callbacks a1 a2 a3 a1 added to a future completed by set_result in pass 1, b1 b2 to one completed "
        f"by set_exception in pass 2, c1 to one cancelled in pass 2: expected (name, pass) {want}, in that "
        f"order, each registration once; got {first}")
    assert all(same for _, _, same in log), "a callback was called with something else than the future itself"
    late = [(n, p) for n, p, _ in log if n in ("a-late", "a-later")]
    assert late == [("a-late", 4), ("a-later", 5)] and got["queued_at_once"] == 1, (
        f"a callback added to a future that is already done must be scheduled at once with call_soon: one added "
        f"in pass 3 runs in pass 4, one added between passes is queued right away; got {late}, and "
        f"{got['queued_at_once']} callbacks queued by add_done_callback on a done future")
    assert got["contexts"] == [True, True], (
        f"add_done_callback(fn, context=ctx): the future must call loop.call_soon(fn, self, context=ctx), "
        f"on completion and when added to a done future (asyncio's Task passes its context this way); the "
        f"contexts given to call_soon were ctx: {got['contexts']}")


def removals(module, kit):
    exec(kit, globals())
    loop = PassLoop()
    log = []
    one, two, three = (lambda f: log.append("one")), (lambda f: log.append("two")), (lambda f: log.append("three"))
    f = module.Future(loop)
    for cb in (one, two, one, three, one):
        f.add_done_callback(cb)
    removed = [f.remove_done_callback(one), f.remove_done_callback(one), f.remove_done_callback(print)]
    f.set_result(None)
    loop.run(1)
    after = f.remove_done_callback(two)
    loop.run(1)
    return {"removed": removed, "log": log, "after": after, "errors": loop.errors}


@task("06.1")
def test_remove_done_callback(exercise):
    """Rule 7: removes every waiting registration and returns how many; removed ones never run"""
    got = exercise("mini_future").run(removals, PASS_LOOP)
    assert got["removed"] == [3, 0, 0], (
        f"callbacks one two one three one added, then remove_done_callback(one) twice and "
        f"remove_done_callback(print): expected the counts [3, 0, 0], got {got['removed']}")
    assert got["log"] == ["two", "three"], (
        f"after removing `one`, completing the future must run two and three only, in that order; ran {got['log']}")
    assert got["after"] == 0, (
        f"once the future is done its callbacks are handed to the loop and the list is empty: "
        f"remove_done_callback(two) must return 0, it returned {got['after']}")


def await_by_hand(module, kit):
    """Drive `await fut` and `yield from fut` by hand: what is yielded, returned, raised."""
    exec(kit, globals())
    loop = PassLoop()
    out = {}

    async def waiter(fut):
        return await fut

    def old_style(fut):
        return (yield from fut)

    def drive(make, fut, complete=None, resume=True):
        steps = []
        co = make(fut)
        try:
            y = co.send(None)
            steps.append(["yielded", "the future" if y is fut else repr(y), getattr(fut, "_asyncio_future_blocking", None)])
        except StopIteration as stop:
            steps.append(["returned", repr(stop.value)])
            return steps
        except BaseException as exc:
            steps.append(["raised", type(exc).__name__])
            return steps
        if complete:
            complete()
        if resume:
            try:
                y = co.send(None)
                steps.append(["yielded again", repr(y)])
            except StopIteration as stop:
                steps.append(["returned", repr(stop.value)])
            except BaseException as exc:
                steps.append(["raised", type(exc).__name__, exc is err])
        co.close()
        return steps

    err = LookupError("e")
    for name, make in (("await", waiter), ("yield from", old_style)):
        f = module.Future(loop)
        out[name + " pending"] = drive(make, f, lambda: f.set_result(5))
        g = module.Future(loop)
        out[name + " exception"] = drive(make, g, lambda: g.set_exception(err))
        h = module.Future(loop)
        out[name + " cancelled"] = drive(make, h, lambda: h.cancel())
        d = module.Future(loop)
        d.set_result(7)
        out[name + " done"] = drive(make, d)
        e = module.Future(loop)
        out[name + " resumed early"] = drive(make, e)
    return out


@task("06.1")
def test_await_yields_the_pending_future_and_returns_its_result(exercise):
    """Rule 8: a pending future yields itself with _asyncio_future_blocking True; a done one never yields"""
    got = exercise("mini_future").run(await_by_hand, PASS_LOOP)
    problems = []
    for how in ("await", "yield from"):
        y = got[how + " pending"][0]
        if y != ["yielded", "the future", True]:
            problems.append(f"`{how} fut` on a pending future must yield the future itself, with "
                            f"fut._asyncio_future_blocking set to True (what a Task looks for); got {y}")
            continue
        checks = [("pending", "set_result(5)", ["returned", "5"]),
                  ("exception", "set_exception(err)", ["raised", "LookupError", True]),
                  ("cancelled", "cancel()", ["raised", "CancelledError", False])]
        for key, what, want in checks:
            step = got[f"{how} {key}"][1:]
            if step != [want]:
                problems.append(f"`{how} fut` resumed after fut.{what}: expected it to "
                                f"{'return 5' if want[0] == 'returned' else 'raise ' + want[1] + (' (err itself)' if want[2] else '')}"
                                f"; got {step}")
        done = got[how + " done"]
        if done != [["returned", "7"]]:
            problems.append(f"`{how} fut` on a future that already has the result 7 must return 7 at once, "
                            f"without yielding; got {done}")
        early = got[how + " resumed early"][1:]
        if early != [["raised", "RuntimeError", False]]:
            problems.append(f"`{how} fut` resumed while fut is still pending must raise RuntimeError (\"await "
                            f"wasn't used with future\"); got {early}")
    assert not problems, "\n".join(problems)


def with_real_asyncio(module):
    """The learner's Future awaited by real asyncio Tasks on asyncio's own loop."""
    import asyncio
    import contextvars
    out = {}
    var = contextvars.ContextVar("who", default="nobody")

    async def guarded(coro, what):
        try:
            return ["value", await asyncio.wait_for(coro, 5)]
        except asyncio.TimeoutError:
            return ["hang", what]
        except BaseException as exc:
            return ["raise", type(exc).__name__, [repr(a) for a in exc.args]]

    async def main():
        loop = asyncio.get_running_loop()

        async def wait_for_it(fut):
            return await fut

        # resolved by another task
        f = module.Future(loop)

        async def setter():
            await asyncio.sleep(0)
            f.set_result("from a task")
        setter_task = asyncio.create_task(setter())
        out["by a task"] = await guarded(wait_for_it(f), "set_result from another task")
        await setter_task
        # resolved by a timer
        t = module.Future(loop)
        loop.call_later(0.01, t.set_result, "from a timer")
        out["by a timer"] = await guarded(wait_for_it(t), "set_result from loop.call_later")
        # an exception
        e = module.Future(loop)
        loop.call_soon(e.set_exception, KeyError("k"))
        out["exception"] = await guarded(wait_for_it(e), "set_exception from loop.call_soon")
        # gather
        g1, g2 = module.Future(loop), module.Future(loop)
        loop.call_soon(g2.set_result, 2)
        loop.call_soon(g1.set_result, 1)
        out["gather"] = await guarded(asyncio.gather(g1, g2), "asyncio.gather of two of your futures")
        # cancelling the asyncio Task that awaits it cancels the future (Task.cancel -> fut.cancel(msg=...))
        c = module.Future(loop)
        waiting = asyncio.create_task(wait_for_it(c))
        await asyncio.sleep(0)
        waiting.cancel()
        out["task cancelled"] = await guarded(waiting, "a cancelled task awaiting your future")
        out["future cancelled"] = c.cancelled()
        # the awaiting task resumes in its own context, whoever completes the future
        k = module.Future(loop)

        async def reader():
            var.set("reader")
            await k
            return var.get()

        async def writer():
            var.set("writer")
            await asyncio.sleep(0)
            k.set_result(None)
        r, w = asyncio.create_task(reader()), asyncio.create_task(writer())
        out["context"] = await guarded(r, "a task awaiting a future set by another task")
        await w

    asyncio.run(main())
    return out


@task("06.1")
def test_a_real_asyncio_task_can_await_it(exercise):
    """Rules 6 and 8 on asyncio's loop: results, exceptions, gather, cancellation, the task's context"""
    with explained_hang("asyncio.run never returned: an asyncio Task awaiting your Future was never woken."):
        got = exercise("mini_future").run(with_real_asyncio, timeout=45)
    wants = {"by a task": ["value", "from a task"], "by a timer": ["value", "from a timer"],
             "exception": ["raise", "KeyError", ["'k'"]], "gather": ["value", [1, 2]]}
    problems = []
    for key, want in wants.items():
        if got[key] != want:
            if got[key][0] == "hang":
                problems.append(f"{got[key][1]}: the awaiting asyncio Task was not woken within 5 s. On a pending "
                                "future, __await__ must set _asyncio_future_blocking = True and yield the future; "
                                "completing it must schedule the Task's callback with loop.call_soon")
            else:
                problems.append(f"{key}: expected {want}, got {got[key]}")
    if got["task cancelled"][:2] != ["raise", "CancelledError"] or not got["future cancelled"]:
        problems.append(f"cancelling an asyncio Task that awaits your future must cancel the future (asyncio calls "
                        f"fut.cancel(msg=...)) and end the task cancelled; the task gave {got['task cancelled']}, "
                        f"future cancelled: {got['future cancelled']}")
    if got["context"] != ["value", "reader"]:
        problems.append(f"a Task that set a ContextVar to 'reader' and awaited your future, completed by a task "
                        f"that set it to 'writer', must resume in its own context: add_done_callback gets "
                        f"context=..., pass it on to call_soon; the task read {got['context']}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- 06.2 the Task

# Exec'd by the 06.2 scenarios after PASS_LOOP: coroutines that write down when they run and
# what they get, and awaitables that see how the task resumes them.
TASK_KIT = '''
import asyncio

class Probe:
    """Awaits `fut` the way Future.__await__ does, and records how the task resumed it:
    ["sent", pass] for send(None), ["thrown", type, is the future's exception, pass] for throw."""
    def __init__(self, loop, fut, trace):
        self.loop, self.fut, self.trace = loop, fut, trace
    def __await__(self):
        self.fut._asyncio_future_blocking = True
        try:
            yield self.fut
        except BaseException as exc:
            own = self.fut.exception() if self.fut.done() and not self.fut.cancelled() else None
            self.trace.append(["thrown", type(exc).__name__, exc is own, self.loop.passes])
            raise
        self.trace.append(["sent", self.loop.passes])
        return self.fut.result()

class BadYield:
    """Yields `value` (not a future); records what comes back."""
    def __init__(self, loop, value, trace):
        self.loop, self.value, self.trace = loop, value, trace
    def __await__(self):
        try:
            yield self.value
        except BaseException as exc:
            self.trace.append(["thrown", type(exc).__name__, self.loop.passes])
            return "caught"
        self.trace.append(["sent", self.loop.passes])
        return "sent"

class CountingFuture(asyncio.Future):
    """An asyncio.Future that counts add_done_callback calls."""
    def __init__(self, *, loop):
        super().__init__(loop=loop)
        self.added = 0
    def add_done_callback(self, fn, *, context=None):
        self.added += 1
        super().add_done_callback(fn, context=context)

def state(task):
    """done / cancelled / result / exception of a task, as plain data."""
    if not task.done():
        return ["pending"]
    if task.cancelled():
        return ["cancelled"]
    exc = task.exception()
    if exc is not None:
        return ["exception", type(exc).__name__, [repr(a) for a in exc.args]]
    return ["result", repr(task.result())]
'''


def task_kit(kit, loop_kit):
    return loop_kit + kit


def start_and_return(module, kit):
    exec(kit, globals())
    loop = PassLoop()
    trace = []

    async def coro():
        trace.append(["started", loop.passes])
        return "done"

    task = module.Task(coro(), loop=loop)
    out = {"is_future": isinstance(task, asyncio.Future), "trace_after_init": list(trace),
           "queued_by_init": len(loop.ready), "state_after_init": state(task)}
    seen = []
    task.add_done_callback(lambda t: seen.append(loop.passes))
    loop.run(3)
    out.update(trace=trace, state=state(task), done_callback=seen, errors=loop.errors)
    return out


@task("06.2")
def test_the_first_step_is_scheduled_not_run(exercise):
    """Rule 1: Task(coro, loop=loop) queues its first step; the coroutine starts in pass 1"""
    got = exercise("mini_task").run(start_and_return, task_kit(TASK_KIT, PASS_LOOP))
    assert got["is_future"], "Task must be a subclass of asyncio.Future (the statement's base class)"
    assert got["trace_after_init"] == [] and got["state_after_init"] == ["pending"], (
        f"Task(coro, loop=loop) ran the coroutine already (trace {got['trace_after_init']}): schedule the "
        "first step with loop.call_soon instead")
    assert got["queued_by_init"] == 1, (
        f"Task(coro, loop=loop) should queue exactly one callback (the first step) with call_soon; it queued "
        f"{got['queued_by_init']}")
    assert got["trace"] == [["started", 1]] and got["state"] == ["result", "'done'"], (
        f"the coroutine should start in pass 1 and return 'done', making that the task's result; trace "
        f"{got['trace']}, task {got['state']} (errors: {got['errors'][:2]})")
    assert got["done_callback"] == [2], (
        f"a callback added to the task ran in passes {got['done_callback']}; expected [2] (the task finished "
        "in pass 1; set the result through super().set_result so asyncio.Future schedules its callbacks)")


def bare_yields(module, kit):
    exec(kit, globals())
    loop = PassLoop()
    trace = []

    async def sleeper(name, n):
        for i in range(n):
            trace.append([name, i, loop.passes])
            await asyncio.sleep(0)
        trace.append([name, "end", loop.passes])
        return n

    a = module.Task(sleeper("a", 3), loop=loop)
    b = module.Task(sleeper("b", 2), loop=loop)
    loop.run(6)
    return {"trace": trace, "a": state(a), "b": state(b), "errors": loop.errors}


@task("06.2")
def test_a_bare_yield_resumes_in_the_next_pass(exercise):
    """Rule 4: await asyncio.sleep(0) (a bare yield) reschedules the step; two tasks take turns"""
    got = exercise("mini_task").run(bare_yields, task_kit(TASK_KIT, PASS_LOOP))
    want = [["a", 0, 1], ["b", 0, 1], ["a", 1, 2], ["b", 1, 2], ["a", 2, 3], ["b", "end", 3], ["a", "end", 4]]
    assert got["trace"] == want, (
        f"tasks a (3 x sleep(0)) and b (2 x sleep(0)): each bare yield must resume in the next pass, the tasks "
        f"taking turns in the order they were queued. Expected [name, step, pass] {want}; got {got['trace']} "
        f"(errors: {got['errors'][:2]})")
    assert got["a"] == ["result", "3"] and got["b"] == ["result", "2"], f"task states: a {got['a']}, b {got['b']}"


def await_a_future(module, kit, how):
    exec(kit, globals())
    loop = PassLoop()
    trace = []
    fut = CountingFuture(loop=loop)
    err = ValueError("no")

    async def coro():
        trace.append(["start", loop.passes])
        try:
            value = await Probe(loop, fut, trace)
        except Exception as exc:
            trace.append(["caught", type(exc).__name__, loop.passes])
            return "caught"
        trace.append(["got", repr(value), loop.passes])
        return value

    task = module.Task(coro(), loop=loop)
    loop.run(1)
    out = {"blocking_after_step": fut._asyncio_future_blocking, "queued_while_waiting": len(loop.ready)}
    if how == "result":
        loop.at(3, fut.set_result, "v")
    elif how == "exception":
        loop.at(3, fut.set_exception, err)
    else:
        loop.at(3, fut.cancel)
    loop.run(5)
    out.update(trace=trace, state=state(task), added=fut.added, errors=loop.errors)
    return out


@task("06.2")
def test_an_awaited_future_wakes_the_task_the_pass_after_it_completes(exercise):
    """Rule 3: flag set back to False, one done callback, no step while waiting; resumed the next pass with the value"""
    got = exercise("mini_task").run(await_a_future, task_kit(TASK_KIT, PASS_LOOP), "result")
    assert got["blocking_after_step"] is False, (
        f"after the step that got the future, fut._asyncio_future_blocking was {got['blocking_after_step']}: "
        "set it back to False (the task has taken the future in charge)")
    assert got["queued_while_waiting"] == 0, (
        f"while the task waits for a pending future nothing of it may be scheduled (state 1 of the invariant); "
        f"{got['queued_while_waiting']} callbacks were queued: wait for the future's done callback instead")
    assert got["added"] == 1, f"the task called fut.add_done_callback {got['added']} times; expected once"
    want = [["start", 1], ["sent", 4], ["got", "'v'", 4]]
    assert got["trace"] == want and got["state"] == ["result", "'v'"], (
        f"the future got its result in pass 3: its callback (the task's wakeup) runs in pass 4, and must step "
        f"the coroutine at once, there, with send(None). Expected the trace {want} and the result 'v'; got "
        f"{got['trace']}, task {got['state']} (errors: {got['errors'][:2]})")


@task("06.2")
def test_an_exception_or_cancellation_of_the_future_is_thrown_in(exercise):
    """Rule 3: wakeup throws the future's exception (the same object) or a CancelledError into the coroutine"""
    kit = task_kit(TASK_KIT, PASS_LOOP)
    failed = exercise("mini_task").run(await_a_future, kit, "exception")
    want = [["start", 1], ["thrown", "ValueError", True, 4], ["caught", "ValueError", 4]]
    assert failed["trace"] == want, (
        f"the awaited future got set_exception(err) in pass 3: in pass 4 the task must throw err itself into the "
        f"coroutine (wakeup calls future.result(), which raises it). Expected the trace {want}; got "
        f"{failed['trace']} (errors: {failed['errors'][:2]})")
    cancelled = exercise("mini_task").run(await_a_future, kit, "cancel")
    assert cancelled["trace"][:2] == [["start", 1], ["thrown", "CancelledError", False, 4]], (
        f"the awaited future was cancelled in pass 3: in pass 4 a CancelledError must be thrown into the "
        f"coroutine; got the trace {cancelled['trace']} (errors: {cancelled['errors'][:2]})")


def bad_yield(module, kit):
    exec(kit, globals())
    loop = PassLoop()
    trace = []

    async def coro():
        got = await BadYield(loop, 42, trace)
        trace.append(["after", got, loop.passes])
        return got

    task = module.Task(coro(), loop=loop)
    loop.run(4)
    return {"trace": trace, "state": state(task), "errors": loop.errors}


@task("06.2")
def test_yielding_something_else_throws_a_runtime_error_next_pass(exercise):
    """Rule 5: a yielded non-future (42) comes back as a RuntimeError thrown in the next step"""
    got = exercise("mini_task").run(bad_yield, task_kit(TASK_KIT, PASS_LOOP))
    want = [["thrown", "RuntimeError", 2], ["after", "caught", 2]]
    assert got["trace"] == want and got["state"] == ["result", "'caught'"], (
        f"the coroutine yielded 42 in pass 1: the next step (pass 2) must throw a RuntimeError into it (asyncio: "
        f"'Task got bad yield'), which it catches and returns 'caught'. Expected {want} and the result 'caught'; "
        f"got {got['trace']}, task {got['state']} (errors: {got['errors'][:2]})")


def endings(module, kit):
    exec(kit, globals())
    loop = PassLoop()
    err = KeyError("lost")

    async def returns():
        await asyncio.sleep(0)
        return [1, 2]

    async def raises():
        await asyncio.sleep(0)
        raise err

    async def cancels_itself():
        await asyncio.sleep(0)
        raise asyncio.CancelledError()

    async def awaits_a_task(other):
        return ("inner", await other)

    tasks = {"returns": module.Task(returns(), loop=loop), "raises": module.Task(raises(), loop=loop),
             "cancels_itself": module.Task(cancels_itself(), loop=loop)}
    inner = module.Task(returns(), loop=loop)
    tasks["awaits_a_task"] = module.Task(awaits_a_task(inner), loop=loop)
    loop.run(5)
    out = {name: state(t) for name, t in tasks.items()}
    out["same_exception"] = tasks["raises"].done() and not tasks["raises"].cancelled() \
        and tasks["raises"].exception() is err
    out["errors"] = loop.errors
    return out


@task("06.2")
def test_the_task_ends_as_its_coroutine(exercise):
    """Rule 6: the return value is the result; an exception is set (the same object); a CancelledError cancels"""
    got = exercise("mini_task").run(endings, task_kit(TASK_KIT, PASS_LOOP))
    problems = []
    if got["returns"] != ["result", "[1, 2]"]:
        problems.append(f"a coroutine that returns [1, 2]: the task should have the result [1, 2]; it is {got['returns']}")
    if got["raises"][:2] != ["exception", "KeyError"] or not got["same_exception"]:
        problems.append(f"a coroutine that raises err = KeyError('lost'): task.exception() should be err itself; "
                        f"the task is {got['raises']}")
    if got["cancels_itself"] != ["cancelled"]:
        problems.append(f"a coroutine that raises CancelledError: the task should be cancelled (super().cancel()); "
                        f"it is {got['cancels_itself']}")
    if got["awaits_a_task"] != ["result", "('inner', [1, 2])"]:
        problems.append(f"a task awaiting another task (a future) should get its result; it is {got['awaits_a_task']}")
    assert not problems, "\n".join(problems) + (f"\n(errors: {got['errors'][:2]})" if got["errors"] else "")


def cancel_waiting(module, kit, catch):
    exec(kit, globals())
    loop = PassLoop()
    trace = []
    fut = asyncio.Future(loop=loop)

    async def coro():
        try:
            await Probe(loop, fut, trace)
        except asyncio.CancelledError:
            trace.append(["cancelled", loop.passes])
            if catch:
                return "cleaned up"
            raise
        return "not cancelled"

    task = module.Task(coro(), loop=loop)
    answers = []
    loop.at(2, lambda: answers.append([task.cancel(), fut.cancelled()]))
    loop.run(5)
    answers.append([task.cancel()])
    return {"trace": trace, "state": state(task), "answers": answers, "errors": loop.errors}


@task("06.2")
def test_cancel_while_waiting_cancels_the_awaited_future(exercise):
    """Rules 7-8: cancel() cancels the future awaited; the CancelledError arrives next pass; caught -> a result"""
    kit = task_kit(TASK_KIT, PASS_LOOP)
    caught = exercise("mini_task").run(cancel_waiting, kit, True)
    assert caught["answers"][0] == [True, True], (
        f"task.cancel() in pass 2, while the task waits for a pending future: expected it to return True and to "
        f"cancel that future; got [cancel() returned, future cancelled] = {caught['answers'][0]}")
    want = [["thrown", "CancelledError", False, 3], ["cancelled", 3]]
    assert caught["trace"] == want, (
        f"the future was cancelled in pass 2, so the task's wakeup runs in pass 3 and throws CancelledError into "
        f"the coroutine; expected the trace {want}, got {caught['trace']} (errors: {caught['errors'][:2]})")
    assert caught["state"] == ["result", "'cleaned up'"], (
        f"the coroutine caught the CancelledError and returned 'cleaned up': the task must end with that result, "
        f"not cancelled (a cancellation is a request); it is {caught['state']}")
    assert caught["answers"][1] == [False], f"cancel() on a done task must return False; it returned {caught['answers'][1]}"
    passed_on = exercise("mini_task").run(cancel_waiting, kit, False)
    assert passed_on["state"] == ["cancelled"], (
        f"the coroutine let the CancelledError propagate: the task must end cancelled; it is {passed_on['state']}")


def cancel_scheduled(module, kit):
    exec(kit, globals())
    loop = PassLoop()
    trace = []

    async def never_runs():
        trace.append(["never", loop.passes])

    async def sleeps():
        try:
            for _ in range(5):
                trace.append(["awake", loop.passes])
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            trace.append(["cancelled", loop.passes])
            return "stopped"

    early = module.Task(never_runs(), loop=loop)
    answers = [early.cancel()]
    sleeper = module.Task(sleeps(), loop=loop)
    loop.at(3, lambda: answers.append(sleeper.cancel()))
    loop.run(5)
    return {"trace": trace, "early": state(early), "sleeper": state(sleeper), "answers": answers,
            "errors": loop.errors}


@task("06.2")
def test_cancel_while_a_step_is_scheduled_is_thrown_at_that_step(exercise):
    """Rule 7: cancel() before the first step, or during sleep(0): the next step throws CancelledError"""
    got = exercise("mini_task").run(cancel_scheduled, task_kit(TASK_KIT, PASS_LOOP))
    assert got["answers"] == [True, True], f"cancel() on a task that is not done must return True; got {got['answers']}"
    assert ["never", 1] not in got["trace"] and got["early"] == ["cancelled"], (
        f"a task cancelled before its first step: that step throws CancelledError into the coroutine before its "
        f"first line runs, so it never runs and the task ends cancelled; trace {got['trace']}, task {got['early']}")
    sleeper = [e for e in got["trace"] if e[0] != "never"]
    want = [["awake", 1], ["awake", 2], ["cancelled", 3]]
    assert sleeper == want and got["sleeper"] == ["result", "'stopped'"], (
        f"a task in a loop of sleep(0), cancelled at the start of pass 3 (its step already queued): that step "
        f"must throw CancelledError instead of sending None; expected {want} and the result 'stopped', got "
        f"{sleeper}, task {got['sleeper']} (errors: {got['errors'][:2]})")


def cancel_after_the_future(module, kit):
    exec(kit, globals())
    loop = PassLoop()
    trace = []
    fut = asyncio.Future(loop=loop)

    async def coro():
        try:
            value = await Probe(loop, fut, trace)
        except asyncio.CancelledError:
            return "cancelled in time"
        return f"got {value}"

    task = module.Task(coro(), loop=loop)
    answers = []

    def both():
        fut.set_result("v")
        answers.append(task.cancel())
    loop.at(2, both)
    loop.run(4)
    return {"trace": trace, "state": state(task), "answers": answers, "errors": loop.errors}


@task("06.2")
def test_cancel_after_the_future_completed_still_cancels(exercise):
    """Rule 7: the awaited future is already done (wakeup queued): the flag makes the next step throw instead"""
    got = exercise("mini_task").run(cancel_after_the_future, task_kit(TASK_KIT, PASS_LOOP))
    assert got["answers"] == [True], f"cancel() returned {got['answers']}; expected True (the task is not done)"
    assert got["trace"] == [["thrown", "CancelledError", False, 3]] and got["state"] == ["result", "'cancelled in time'"], (
        f"in pass 2 the awaited future got its result and then task.cancel() was called: the future cannot be "
        f"cancelled any more (cancel() returns False), so set the flag, and the step that wakeup runs in pass 3 "
        f"must throw CancelledError instead of sending None. Expected the trace [['thrown', 'CancelledError', "
        f"False, 3]]; got {got['trace']}, task {got['state']} (errors: {got['errors'][:2]})")


# ---------------------------------------------------------------- 06.3 the crawler

SITE_SOURCE = Path(__file__).resolve().parents[1] / "src" / "lessons" / "linksite.py"


def linksite_source() -> str:
    assert SITE_SOURCE.is_file(), f"{SITE_SOURCE}: missing; the crawler's tests serve that site"
    return SITE_SOURCE.read_text(encoding="utf-8")


def crawl_site(module, site_source, options):
    """Serve a LinkSite, crawl it with module.crawl under asyncio.run, and report."""
    import asyncio
    import socket
    import threading
    from urllib.parse import urlsplit
    SAFETY = 10.0                      # turns a hang into a failure; never a bound on speed
    ns = {"__name__": "linksite"}
    exec(compile(site_source, "linksite.py", "exec"), ns)
    LinkSite = ns["LinkSite"]
    site = LinkSite(pages=options.get("pages", 20), seed=options.get("seed", 5),
                    redirect_status=options.get("redirect", 301), external=options.get("external", False),
                    links_in_404=options.get("links_in_404", False))
    other = LinkSite(pages=4, seed=0) if options.get("other_port") else None
    if other is not None:                               # same host, another port: not the site
        site.graph["/p2"].append(other.url("/"))
    main_thread = threading.current_thread()
    real_socket = socket.socket
    made, counts = [], {"open": 0, "peak": 0}
    lock = threading.Lock()

    class Counted(real_socket):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._counted = (threading.current_thread() is main_thread
                             and self.family in (socket.AF_INET, socket.AF_INET6))
            if self._counted:
                with lock:
                    made.append(self)
                    counts["open"] += 1
                    counts["peak"] = max(counts["peak"], counts["open"])

        def close(self):
            if getattr(self, "_counted", False):
                self._counted = False
                with lock:
                    counts["open"] -= 1
            super().close()

    hold = options.get("hold_slow", True)
    others = {p for p in (urlsplit(u).path for u in site.expected_urls()) if p not in ("/slow", "/deep")}
    report = {"slow_requested": None, "others_while_held": None, "returned_while_held": None}
    state = {"returned": False}

    def hold_then_release():
        report["slow_requested"] = site.wait_slow_requested(SAFETY)
        if report["slow_requested"]:
            site.wait_hits(lambda hits: others <= set(hits), SAFETY)
            report["others_while_held"] = sorted(set(site.hits) & others)
            report["returned_while_held"] = state["returned"]
        site.release_slow()

    if hold:
        helper = threading.Thread(target=hold_then_release, name="test-holder", daemon=True)
        helper.start()
    else:
        site.release_slow()
    result, error = None, None
    socket.socket = Counted
    try:
        async def main():
            return await asyncio.wait_for(module.crawl(site.url("/"), options["max_tasks"]), 3 * SAFETY)
        result = asyncio.run(main())
    except asyncio.TimeoutError:
        error = f"crawl did not return within {3 * SAFETY:g} s"
    except BaseException as exc:
        error = f"crawl raised {type(exc).__name__}: {exc}"
    finally:
        socket.socket = real_socket
        state["returned"] = True
    if hold and "/slow" in site.hits:
        helper.join(2 * SAFETY + 5)    # else the helper's wait times out alone (a daemon thread)
    hits = site.hits
    expected = site.expected_statuses()
    other_hits = other.hits if other is not None else {}
    left_open = sum(1 for s in made if s.fileno() != -1)
    for s in made:
        real_socket.close(s)
    site.close()
    if other is not None:
        other.close()
    if isinstance(result, dict):
        result = {str(k): v for k, v in result.items()}
    elif result is not None:
        result = f"not a dict but {type(result).__name__}: {result!r}"[:300]
    return {"result": result, "error": error, "expected": expected, "hits": hits, "other_hits": other_hits,
            "peak": counts["peak"], "sockets": len(made), "left_open": left_open, "root": site.url("/"),
            "max_tasks": options["max_tasks"], **report}


def crawled(exercise, **options):
    with explained_hang("crawl() never returned: a worker that never ends, a queue.join() waiting for a "
                        "task_done() that never comes, or a blocking socket call."):
        got = exercise("bounded_crawler").run(crawl_site, linksite_source(), options, timeout=90)
    assert got["error"] is None, (
        f"crawl({got['root']!r}, {got['max_tasks']}) failed: {got['error']}")
    assert isinstance(got["result"], dict), f"crawl must return a dict of URL -> status; it returned {got['result']}"
    return got


def url_diff(got) -> str:
    result, expected = got["result"], got["expected"]
    missing = sorted(set(expected) - set(result))
    extra = sorted(set(result) - set(expected))
    wrong = sorted(f"{u}: {result[u]} (the site answered {expected[u]})" for u in set(result) & set(expected)
                   if result[u] != expected[u])
    parts = []
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        parts.append(f"never meant to be fetched {extra}")
    if wrong:
        parts.append(f"wrong statuses {wrong}")
    return "; ".join(parts)


@task("06.3")
def test_finds_exactly_the_sites_urls_with_their_statuses(exercise):
    """Rules 2-4, 7: every URL of the site once, its status; no other host or port; done only when all are"""
    got = crawled(exercise, max_tasks=3, external=True, other_port=True)
    assert got["result"] == got["expected"], (
        f"crawl returned {len(got['result'])} URLs, the site has {len(got['expected'])}: {url_diff(got)}. Resolve "
        f"each href with urljoin, keep only http URLs on the root's host AND port, record each URL's status")
    assert got["other_hits"] == {}, (
        f"the crawler requested {sorted(got['other_hits'])} from another port on 127.0.0.1: only the root's "
        "host:port belongs to the site")


@task("06.3")
def test_follows_redirects_and_counts_both_urls(exercise):
    """Rule 4: /moved (301 or 302) counts with its status, and its Location is crawled"""
    for status in (301, 302):
        got = crawled(exercise, max_tasks=2, redirect=status, hold_slow=False, seed=7)
        moved, landing = got["root"] + "moved", got["root"] + "landing"
        assert got["result"].get(moved) == status and got["result"].get(landing) == 200, (
            f"/moved answers {status} with Location: {landing}; the result must map {moved} to {status} and "
            f"{landing} to 200 (only a crawler that follows the redirect finds /landing); it has "
            f"{moved}: {got['result'].get(moved)}, {landing}: {got['result'].get(landing)}")


@task("06.3")
def test_error_pages_are_fetched_but_not_parsed(exercise):
    """Rule 4: the 404 page is fetched (status 404) but its links are not followed"""
    got = crawled(exercise, max_tasks=2, hold_slow=False, links_in_404=True)
    missing = got["root"] + "missing"
    assert got["result"].get(missing) == 404, (
        f"{missing} answers 404 and must be in the result with that status; it has {got['result'].get(missing)}")
    assert "/orphan" not in got["hits"], (
        "the 404 page links to /orphan, and the crawler requested it: parse only pages that answered 200")


@task("06.3")
def test_every_url_is_fetched_exactly_once(exercise):
    """Rule 5: cycles, self-links and repeated links never cause a second request"""
    problems = []
    for max_tasks in (1, 4):
        got = crawled(exercise, max_tasks=max_tasks, hold_slow=False, seed=9)
        twice = {path: n for path, n in got["hits"].items() if n != 1}
        if twice:
            problems.append(f"with max_tasks={max_tasks} the site saw these paths more than once: {twice} (mark a "
                            "URL as seen when you queue it, not when its fetch starts or ends)")
    assert not problems, "\n".join(problems)


@task("06.3")
def test_never_more_than_max_tasks_fetches_at_once(exercise):
    """Rule 6: at most max_tasks sockets open at any moment"""
    problems = []
    for max_tasks in (1, 2, 3):
        got = crawled(exercise, max_tasks=max_tasks, hold_slow=max_tasks > 1, seed=5)
        if got["peak"] > max_tasks:
            problems.append(f"with max_tasks={max_tasks}, {got['peak']} of the crawler's sockets were open at once")
    assert not problems, "\n".join(problems) + (
        "\nA fetch is in flight from socket.socket() to close(): start at most max_tasks of them (max_tasks "
        "workers, or an asyncio.Semaphore(max_tasks) held around the whole fetch)")


@task("06.3")
def test_keeps_fetching_while_one_page_answers_late(exercise):
    """Rules 1, 6, 7: with /slow held, the other pages are fetched meanwhile; crawl waits for /slow"""
    got = crawled(exercise, max_tasks=2)
    assert got["slow_requested"], "the crawler never requested /slow"
    others = sorted(p for p in (u.removeprefix(got["root"].rstrip("/")) for u in got["expected"])
                    if p not in ("/slow", "/deep"))
    assert got["others_while_held"] == others, (
        f"while /slow was held (up to 10 s), the crawler requested only {got['others_while_held']} of the "
        f"{len(others)} other pages: with max_tasks=2 one fetch waits for /slow and the other must go on. Never "
        "block the loop (non-blocking sockets, the loop's sock_* methods), and keep max_tasks fetches going")
    assert got["returned_while_held"] is False, (
        "crawl returned while /slow was still being held: wait until every fetch is done")
    assert got["peak"] >= 2, f"at most {got['peak']} sockets were open at once with max_tasks=2"
    assert got["result"] == got["expected"], f"after /slow was released: {url_diff(got)}"


@task("06.3")
def test_every_socket_is_closed(exercise):
    """Rule 8: each socket made is closed, whatever the page answered (200, redirect, 404)"""
    got = crawled(exercise, max_tasks=3, hold_slow=False)
    assert got["sockets"] >= len(got["result"]), (
        f"the test saw {got['sockets']} sockets for the {len(got['result'])} pages crawl returned: make each with "
        "socket.socket() (the test watches that class)")
    assert got["left_open"] == 0, (
        f"{got['left_open']} of the crawler's {got['sockets']} sockets were still open after crawl returned: close "
        "each one in a finally (or a with block), whatever the answer was")
