"""Graded tests of 05_generators. The code under test runs in a child process (see
coursekit.runner); scenarios are module-level functions sent to it as source code, so each one
imports what it needs and defines (or execs) its helpers inside its own body.

Nothing here runs threads or sockets or measures time: generators are driven by hand, so every
interleaving is exact. Where a bug can loop forever (a trampoline that never pops a finished
generator), the runner's time limit is the detector, and explained_hang() says what it means.

05.2 is graded by comparison: each scripted interaction (send, throw, close...) is played
against the learner's delegate(sub) and against a reference that uses the real `yield from`,
built inside the scenario on the same Python, and the two traces must be equal: what each step
yielded, returned or raised (type and args), and every call the subiterator saw, in order.

PYTEST_DONT_REWRITE: a failing assert reads as its message alone, so every assert here has
one, written for the learner (see coursekit.testing).
"""


import pytest

from coursekit.testing import explained_hang, fail_if_any

task = pytest.mark.task



# ---------------------------------------------------------------- 05.1 the averager

def drive_averager(module, script):
    """Run `script` (a list of steps) on one module.averager(); per step, what happened and the
    state afterwards. Steps: ["send", value] (value "nan"/"inf" become floats, ["complex"] and
    ["list"] become such objects), ["close"], ["throw", name, args]."""
    import inspect
    specials = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf"), "complex": 1 + 2j,
                "list": [1, 2], "text": "7", "true": True}
    out = []
    try:
        avg = module.averager()
    except BaseException as exc:  # noqa: BLE001 - reported to the learner
        return {"error": f"averager() raised {type(exc).__name__}: {exc}"}
    out.append(["start", None, inspect.getgeneratorstate(avg)] if inspect.isgenerator(avg)
               else ["start", f"not a generator but {type(avg).__name__}", None])
    if not inspect.isgenerator(avg):
        return {"steps": out}
    for step in script:
        try:
            if step[0] == "send":
                value = specials.get(step[1], step[1]) if isinstance(step[1], str) else step[1]
                got = ["value", avg.send(value)]
            elif step[0] == "close":
                avg.close()
                got = ["closed", None]
            else:
                exc_type = {"ValueError": ValueError, "KeyError": KeyError, "LookupError": LookupError}[step[1]]
                got = ["value", avg.throw(exc_type(*step[2]))]
        except StopIteration as stop:
            got = ["stop", list(stop.value) if isinstance(stop.value, tuple) else stop.value]
        except BaseException as exc:  # noqa: BLE001
            got = ["raise", type(exc).__name__, [repr(a) for a in exc.args]]
        out.append([*got, inspect.getgeneratorstate(avg)])
    return {"steps": out}


def describe_step(step):
    if step[0] == "send":
        return f"send({step[1]!r})" if step[1] not in ("nan", "inf", "-inf", "complex", "list", "text", "true") else \
            "send(" + {"nan": "float('nan')", "inf": "float('inf')", "-inf": "float('-inf')", "complex": "1+2j",
                       "list": "[1, 2]", "text": "'7'", "true": "True"}[step[1]] + ")"
    if step[0] == "close":
        return "close()"
    return f"throw({step[1]}{tuple(step[2])!r})"


def describe_outcome(got):
    kind = got[0]
    if kind == "value":
        return f"gave {got[1]!r}"
    if kind == "stop":
        return f"raised StopIteration with .value {got[1]!r}"
    if kind == "closed":
        return "returned"
    return f"raised {got[1]}({', '.join(got[2])})"


def check_averager(impl, scripts, what):
    """Each script: (steps, expected list of [outcome..., state] per step)."""
    __tracebackhide__ = True
    problems = []
    for steps, expected in scripts:
        got = impl.run(drive_averager, steps)
        if "error" in got:
            fail_if_any([got["error"]])
        start = got["steps"][0]
        if start[1] is not None or start[2] != "GEN_SUSPENDED":
            problems.append(f"right after averager() the state should be GEN_SUSPENDED (primed), got "
                            f"{start[2] or start[1]}")
            continue
        done = []
        for step, g, e in zip(steps, got["steps"][1:], expected):
            done.append(describe_step(step))
            same = g[:-1] == e[:-1] if e[0] != "raise" else g[:2] == e[:2]
            if not same or g[-1] != e[-1]:
                problems.append(f"after {', '.join(done)}: the last step should have {describe_outcome(e)} and left "
                                f"the averager {e[-1]}; it {describe_outcome(g)} and left it {g[-1]}")
                break
    fail_if_any(problems, f"{what}:")


S, C = "GEN_SUSPENDED", "GEN_CLOSED"


@task("05.1")
def test_primed_decorator_starts_any_generator(exercise):
    """primed() advances a generator function's generator to its first yield, passing arguments"""
    def primed_cases(module):
        import inspect

        def countdown(n, *, step=1):
            """Count down."""
            seen = []
            while n > 0:
                got = yield n
                seen.append(got)
                n -= step
            return seen

        started = module.primed(countdown)
        gen = started(6, step=2)
        state = inspect.getgeneratorstate(gen)
        sent = [gen.send("a"), gen.send("b")]
        try:
            gen.send("c")
            stop = None
        except StopIteration as s:
            stop = s.value
        return {"state": state, "sent": sent, "stop": stop, "name": started.__name__, "doc": started.__doc__}

    got = exercise("averager").run(primed_cases)
    assert got["state"] == "GEN_SUSPENDED", \
        f"primed(countdown)(6, step=2) should return a generator already at its first yield (GEN_SUSPENDED), got {got['state']}"
    assert got["sent"] == [4, 2] and got["stop"] == ["a", "b", "c"], \
        ("after priming, countdown(6, step=2) should give 4 and 2 for send('a') and send('b'), then stop with "
         f"['a', 'b', 'c']: got {got['sent']} and {got['stop']!r} (prime with exactly one next(), passing *args and **kwargs)")
    assert got["name"] == "countdown" and got["doc"] == "Count down.", \
        f"the decorated function should keep __name__ and __doc__ (functools.wraps); got {got['name']!r}, {got['doc']!r}"


@task("05.1")
def test_running_average_and_result(exercise):
    """Each number sent returns the running average; None ends it with (count, average)"""
    check_averager(exercise("averager"), [
        ([["send", 10], ["send", 20], ["send", 3], ["send", None]],
         [["value", 10.0, S], ["value", 15.0, S], ["value", 11.0, S], ["stop", [3, 11.0], C]]),
        ([["send", None]], [["stop", [0, None], C]]),
        ([["send", 1.5], ["send", -0.5], ["send", 0], ["send", None]],
         [["value", 1.5, S], ["value", 0.5, S], ["value", 1 / 3, S], ["stop", [3, 1 / 3], C]]),
    ], "running averages, and StopIteration.value = (count, average) on send(None)")


@task("05.1")
def test_finished_averager_stays_finished(exercise):
    """Sending to a finished averager raises StopIteration (value None), as for any finished generator"""
    check_averager(exercise("averager"), [
        ([["send", 4], ["send", None], ["send", 5]],
         [["value", 4.0, S], ["stop", [1, 4.0], C], ["stop", None, C]]),
    ], "a generator that returned is finished for good")


@task("05.1")
def test_bad_values_end_with_an_error(exercise):
    """A non-number (bool included) raises TypeError, NaN or infinity ValueError, and the averager is closed"""
    for bad, err in [("text", "TypeError"), ("true", "TypeError"), ("complex", "TypeError"), ("list", "TypeError"),
                     ("nan", "ValueError"), ("inf", "ValueError"), ("-inf", "ValueError")]:
        check_averager(exercise("averager"), [
            ([["send", 2], ["send", bad], ["send", 3]],
             [["value", 2.0, S], ["raise", err, [], C], ["stop", None, C]]),
        ], f"a bad value raises {err} out of send(), which ends the averager")


@task("05.1")
def test_close_ends_it_quietly(exercise):
    """close() returns without error and leaves GEN_CLOSED; nothing is yielded after GeneratorExit"""
    check_averager(exercise("averager"), [
        ([["send", 2], ["close"], ["send", 3]], [["value", 2.0, S], ["closed", None, C], ["stop", None, C]]),
        ([["close"], ["close"]], [["closed", None, C], ["closed", None, C]]),
    ], "close() raises GeneratorExit at the yield: let it end the generator (catching it and yielding again makes "
       "close() raise RuntimeError)")


@task("05.1")
def test_thrown_exceptions_pass_through(exercise):
    """throw(exc) raises exc unchanged out of throw() and closes the averager"""
    check_averager(exercise("averager"), [
        ([["send", 2], ["throw", "ValueError", ["thrown in", 1]], ["send", 3]],
         [["value", 2.0, S], ["raise", "ValueError", [], C], ["stop", None, C]]),
        ([["throw", "KeyError", ["k"]]], [["raise", "KeyError", [], C]]),
    ], "an exception thrown in is not yours to handle: it must come out of throw() as it went in")

    def args_kept(module):
        avg = module.averager()
        avg.send(1)
        sent = ValueError("thrown in", 1)
        try:
            avg.throw(sent)
        except BaseException as exc:  # noqa: BLE001
            return [exc is sent, type(exc).__name__, list(exc.args)]
        return [False, None, None]

    same, name, args = exercise("averager").run(args_kept)
    assert same, (f"averager.throw(ValueError('thrown in', 1)) should raise that very exception, not "
                  f"{name}{tuple(args or ())!r}")


# ---------------------------------------------------------------- 05.2 yield from by hand

#: Shared by the 05.2 scenarios: the subiterators (each logs every call it gets), the
#: reference that uses the real `yield from`, and the script player. Sent as source text.
DELEGATE_LIB = r'''
import inspect


def make_subs(log):
    def gen_returns():
        try:
            x = yield 1
            log.append(["got", repr(x)])
            y = yield 2
            log.append(["got", repr(y)])
            return ("done", x, y)
        except GeneratorExit:
            log.append(["sub saw GeneratorExit"])
            raise
        finally:
            log.append(["sub finally"])

    def gen_catches():
        n = 0
        while True:
            try:
                got = yield ("ready", n)
                log.append(["got", repr(got)])
            except ValueError as exc:
                log.append(["sub caught", "ValueError", repr(exc.args)])
                n += 1
            except KeyError:
                log.append(["sub returns on KeyError"])
                return "returned after KeyError"

    def gen_raises():
        yield "a"
        yield "b"
        raise RuntimeError("boom", 7)

    def gen_empty():
        log.append(["gen_empty runs"])
        return 42
        yield  # noqa: unreachable, makes this a generator

    def gen_close_raises():
        try:
            yield "x"
        except GeneratorExit:
            log.append(["sub close raises"])
            raise ValueError("from close")

    def gen_ignores_exit():
        while True:
            try:
                yield "stubborn"
            except GeneratorExit:
                log.append(["sub ignores GeneratorExit"])

    class Full:
        """An iterator with send, throw and close: records which one it gets."""
        def __init__(self):
            self.n = 0
        def __iter__(self):
            log.append(["iter"])
            return self
        def __next__(self):
            log.append(["next"])
            return self._step()
        def send(self, value):
            log.append(["send", repr(value)])
            if value == "bad":
                raise TypeError("bad value sent")
            return self._step()
        def throw(self, exc, *rest):
            exc = exc if isinstance(exc, BaseException) else exc(*rest[:1])
            log.append(["throw", type(exc).__name__, repr(exc.args)])
            if isinstance(exc, KeyError):
                raise StopIteration(99)
            if isinstance(exc, ValueError):
                return "handled"
            raise exc
        def close(self):
            log.append(["close"])
        def _step(self):
            self.n += 1
            if self.n > 3:
                raise StopIteration("it-done")
            return self.n * 10

    class Plain:
        """__next__ only: no send, no throw, no close."""
        def __init__(self):
            self.n = 0
        def __iter__(self):
            return self
        def __next__(self):
            log.append(["next"])
            self.n += 1
            if self.n > 2:
                raise StopIteration
            return self.n

    class NoThrow(Plain):
        """__next__, send and close, but no throw."""
        def send(self, value):
            log.append(["send", repr(value)])
            return next(self)
        def close(self):
            log.append(["close"])

    class CloseRaises(Plain):
        def close(self):
            log.append(["close"])
            raise OSError("close failed")

    return {"gen_returns": gen_returns, "gen_catches": gen_catches, "gen_raises": gen_raises,
            "gen_empty": gen_empty, "gen_close_raises": gen_close_raises,
            "gen_ignores_exit": gen_ignores_exit, "full": Full, "plain": Plain,
            "no_throw": NoThrow, "close_raises": CloseRaises, "list": lambda: [1, 2, 3]}


def ref(sub):
    return (yield from sub)


EXC = {"ValueError": ValueError, "KeyError": KeyError, "GeneratorExit": GeneratorExit,
       "ZeroDivisionError": ZeroDivisionError}


def play(delegate, sub_name, actions):
    """The trace of one script: per action, what happened, then what the subiterator logged."""
    log = []
    sub = make_subs(log)[sub_name]()
    trace = []
    try:
        gen = delegate(sub)
    except BaseException as exc:  # noqa: BLE001
        return [["delegate(sub) itself raised", type(exc).__name__, repr(exc.args)]]
    if not inspect.isgenerator(gen):
        return [["delegate(sub) did not return a generator but", type(gen).__name__]]
    trace.append(["created", log[:]])
    del log[:]
    for action in actions:
        try:
            if action[0] == "next":
                got = ["yield", repr(next(gen))]
            elif action[0] == "send":
                got = ["yield", repr(gen.send(action[1]))]
            elif action[0] == "throw":
                got = ["yield", repr(gen.throw(EXC[action[1]](*action[2])))]
            else:
                got = ["close returned", repr(gen.close())]
        except StopIteration as stop:
            got = ["StopIteration", repr(stop.value)]
        except BaseException as exc:  # noqa: BLE001
            got = ["raised", type(exc).__name__, repr(exc.args)]
        trace.append([got, log[:]])
        del log[:]
    trace.append(["state at the end", inspect.getgeneratorstate(gen)])
    del sub   # kept alive until here: a finally must not run at a different moment in the two
    return trace
'''


def compare_delegate(module, lib, scripts):
    """For each (sub_name, actions): the trace under real yield from and under module.delegate."""
    namespace = {}
    exec(lib, namespace)  # noqa: S102 - the test's own helper source
    return [[namespace["play"](namespace["ref"], sub, actions), namespace["play"](module.delegate, sub, actions)]
            for sub, actions in scripts]


def describe_action(action):
    if action[0] in ("next", "close"):
        return f"{action[0]}()" if action[0] == "close" else "next()"
    if action[0] == "send":
        return f"send({action[1]!r})"
    return f"throw({action[1]}{tuple(action[2])!r})"


def check_delegate(impl, scripts, rule):
    """Play every script both ways; report the first step where each one differs."""
    __tracebackhide__ = True
    problems = []
    for (sub, actions), (want, got) in zip(scripts, impl.run(compare_delegate, DELEGATE_LIB, scripts)):
        if len(got) != len(want) or got[0] != want[0]:
            if got and got[0] != want[0] and got[0][0] != "created":
                problems.append(f"with sub = {sub}: {' '.join(map(str, got[0]))}")
                continue
        steps = ["delegate(sub)"] + [describe_action(a) for a in actions] + ["(the end)"]
        for i, (w, g) in enumerate(zip(want, got)):
            if w != g:
                done = ", ".join(steps[1:i + 1]) or "creating it"
                if i == len(want) - 1:
                    problems.append(f"with sub = {sub}, after {done}: yield from leaves the generator {w[1]}, "
                                    f"your delegate leaves it {g[1]}")
                elif w[0] != g[0]:
                    problems.append(f"with sub = {sub}, at {steps[i]} (after {', '.join(steps[1:i]) or 'nothing'}): "
                                    f"yield from gives {' '.join(w[0])}, your delegate gives {' '.join(g[0])}")
                else:
                    problems.append(f"with sub = {sub}, at {steps[i]} (after {', '.join(steps[1:i]) or 'nothing'}): "
                                    f"the subiterator saw {w[1]} under yield from, {g[1]} under your delegate")
                break
    fail_if_any(problems, f"{rule}; where your delegate differs from the real yield from:")


def uses_yield_from(module):
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(module))
    found = sorted({type(node).__name__ for node in ast.walk(tree) if isinstance(node, (ast.YieldFrom, ast.Await))})
    try:
        works = list(module.delegate(iter("ab"))) == ["a", "b"]
    except Exception:  # noqa: BLE001 - a stub's NotImplementedError included
        works = False
    return found, works


@task("05.2")
def test_written_by_hand(exercise):
    """delegate() works, and the file uses no yield from (and no await): the point is to write it by hand"""
    with explained_hang("importing delegate_by_hand.py did not finish"):
        found, works = exercise("delegate_by_hand").run(uses_yield_from)
    assert works, "list(delegate(iter('ab'))) should be ['a', 'b']: write delegate() first"
    assert found == [], (f"delegate_by_hand.py uses {', '.join(found)}: write the delegation with a loop, next(), "
                         "send(), throw() and close(), as PEP 380's expansion does")


@task("05.2")
def test_iter_first_then_next(exercise):
    """Rule 1: iter(sub) first, then next() (not send(None)) to start; any iterable works"""
    check_delegate(exercise("delegate_by_hand"), [
        ["list", [["next"], ["next"], ["next"], ["next"]]],
        ["full", [["next"]]],
        ["gen_empty", [["next"]]],
        ["plain", [["next"], ["next"], ["next"]]],
    ], "rule 1: call iter(sub), then start the iterator with next()")


@task("05.2")
def test_yields_pass_through(exercise):
    """Rule 2: every value yielded by the subiterator reaches the driver unchanged"""
    check_delegate(exercise("delegate_by_hand"), [
        ["gen_catches", [["next"], ["send", "x"], ["send", ("tuple", 1)]]],
        ["gen_raises", [["next"], ["next"]]],
    ], "rule 2: what the subiterator yields, the delegator yields")


@task("05.2")
def test_send_forwarding(exercise):
    """Rule 3: send(None) becomes next(), any other value send(); no send method: AttributeError"""
    check_delegate(exercise("delegate_by_hand"), [
        ["full", [["next"], ["send", 5], ["send", None], ["send", "s"]]],
        ["gen_returns", [["next"], ["send", "first"], ["send", None]]],
        ["plain", [["next"], ["send", None], ["send", 1]]],
        ["no_throw", [["next"], ["send", 7]]],
    ], "rule 3: forward each sent value (None as next())")


@task("05.2")
def test_throw_forwarding(exercise):
    """Rule 4: throw() goes to the subiterator's throw; without one it is raised in the delegator"""
    check_delegate(exercise("delegate_by_hand"), [
        ["gen_catches", [["next"], ["throw", "ValueError", ["one"]], ["throw", "ValueError", ["two", 2]], ["send", "after"]]],
        ["full", [["next"], ["throw", "ValueError", ["v"]], ["next"]]],
        ["full", [["next"], ["throw", "ZeroDivisionError", ["z"]], ["next"]]],
        ["no_throw", [["next"], ["throw", "ValueError", ["no throw method"]], ["next"]]],
        ["plain", [["next"], ["throw", "ZeroDivisionError", ["plain"]]]],
        ["gen_returns", [["throw", "ValueError", ["before the start"]]]],
    ], "rule 4: forward throw() to the subiterator, or raise it in the delegator if it has no throw()")


@task("05.2")
def test_close_and_generator_exit(exercise):
    """Rule 5: close() or a thrown GeneratorExit closes the subiterator, then GeneratorExit ends the delegator"""
    check_delegate(exercise("delegate_by_hand"), [
        ["gen_returns", [["next"], ["close"], ["next"]]],
        ["gen_returns", [["next"], ["throw", "GeneratorExit", []], ["next"]]],
        ["full", [["next"], ["close"]]],
        ["full", [["next"], ["throw", "GeneratorExit", ["thrown"]]]],
        ["no_throw", [["next"], ["close"]]],
        ["plain", [["next"], ["close"], ["next"]]],
        ["gen_close_raises", [["next"], ["close"]]],
        ["close_raises", [["next"], ["close"]]],
        ["gen_ignores_exit", [["next"], ["close"]]],
        ["gen_returns", [["close"]]],
    ], "rule 5: on GeneratorExit call the subiterator's close() if it has one, then re-raise")


@task("05.2")
def test_return_value(exercise):
    """Rule 6: the subiterator's StopIteration value - from next, send or throw - is the delegator's return value"""
    check_delegate(exercise("delegate_by_hand"), [
        ["gen_returns", [["next"], ["send", "x"], ["send", "y"], ["next"]]],
        ["full", [["next"], ["next"], ["next"], ["next"]]],
        ["full", [["next"], ["throw", "KeyError", ["stop"]]]],
        ["gen_catches", [["next"], ["throw", "KeyError", ["k"]]]],
        ["gen_empty", [["next"], ["next"]]],
    ], "rule 6: return StopIteration.value, however the subiterator stopped")


@task("05.2")
def test_exceptions_propagate(exercise):
    """Rule 7: an exception the subiterator raises leaves the delegator unchanged"""
    check_delegate(exercise("delegate_by_hand"), [
        ["gen_raises", [["next"], ["next"], ["next"], ["next"]]],
        ["full", [["next"], ["send", "bad"], ["next"]]],
        ["full", [["next"], ["throw", "ZeroDivisionError", ["deep", 3]]]],
    ], "rule 7: let the subiterator's exceptions through")


# ---------------------------------------------------------------- 05.3 the trampoline

def run_tasks(module, lib, setup):
    """exec `lib`, then run scenario `setup` from it: returns {"log": [...], "outcomes": {...}}."""
    namespace = {}
    exec(lib, namespace)  # noqa: S102 - the test's own helper source
    return namespace["SCENARIOS"][setup](module)


#: The 05.3 scenarios: task code, run on the learner's Scheduler; sent as source text.
TRAMPOLINE_LIB = r'''
def outcome_data(outcomes):
    out = {}
    for name, outcome in outcomes.items():
        if isinstance(outcome, tuple) and len(outcome) == 2 and outcome[0] == "raised" \
                and isinstance(outcome[1], BaseException):
            out[name] = ["raised", type(outcome[1]).__name__, repr(outcome[1].args)]
        elif isinstance(outcome, tuple) and len(outcome) == 2:
            out[name] = [outcome[0], repr(outcome[1])]
        else:
            out[name] = ["not a (kind, value) pair:", repr(outcome)]
    return out


def add(log, x, y):
    log.append(f"add({x}, {y})")
    return x + y
    yield


def add_slowly(log, x, y):
    log.append(f"add_slowly({x}, {y}) starts")
    yield                      # a switch inside a call
    log.append(f"add_slowly({x}, {y}) ends")
    return x + y


def nested_values(module):
    log = []

    def triple_sum(a, b, c):
        ab = yield add(log, a, b)
        abc = yield add_slowly(log, ab, c)
        return abc

    def main():
        total = yield triple_sum(1, 2, 3)
        log.append(f"main got {total}")
        twice = yield triple_sum(total, total, 0)
        log.append(f"main got {twice}")
        return twice

    s = module.Scheduler()
    s.spawn(main(), "main")
    return {"log": log, "outcomes": outcome_data(s.run())}


def three_levels(module):
    log = []

    def leaf(n):
        log.append(f"leaf({n})")
        yield "pause"
        if n < 0:
            raise ValueError("negative", n)
        return n * 2

    def middle(n):
        log.append(f"middle({n}) calls leaf")
        value = yield leaf(n)
        log.append(f"middle({n}) got {value}")     # skipped when leaf raises
        return value + 1

    def top():
        results = []
        for n in (1, -5, 2):
            try:
                results.append((yield middle(n)))
            except ValueError as exc:
                log.append(f"top caught ValueError{exc.args}")
                results.append("error")
        return results

    s = module.Scheduler()
    s.spawn(top(), "top")
    return {"log": log, "outcomes": outcome_data(s.run())}


def uncaught_per_task(module):
    log = []

    def fails_deep():
        log.append("deep raises")
        raise KeyError("deep")
        yield

    def bad(name):
        log.append(f"{name} 1")
        yield
        yield fails_deep()            # nobody catches it: the task ends with the KeyError
        log.append(f"{name} unreachable")

    def good(name, n):
        for i in range(n):
            log.append(f"{name} {i}")
            yield
        return name.upper()

    def raises_at_once():
        raise ZeroDivisionError("at once")
        yield

    s = module.Scheduler()
    s.spawn(good("a", 3), "a")
    s.spawn(bad("b"), "b")
    s.spawn(raises_at_once(), "c")
    s.spawn(good("d", 2), "d")
    return {"log": log, "outcomes": outcome_data(s.run())}


def round_robin(module):
    log = []

    def worker(name, turns):
        for i in range(turns):
            log.append(f"{name}{i}")
            got = yield i            # a switch: the yield gives None back
            log.append(f"{name}{i} resumed with {got!r}")
        return turns

    def caller(name):
        log.append(f"{name} calls")
        v = yield add(log, 1, 1)     # a call and its return do not end the turn
        w = yield add(log, v, 1)
        log.append(f"{name} has {w}")
        yield
        log.append(f"{name} done")
        return w

    s = module.Scheduler()
    s.spawn(worker("A", 3), "A")
    s.spawn(caller("C"), "C")
    s.spawn(worker("B", 2), "B")
    return {"log": log, "outcomes": outcome_data(s.run())}


def switch_inside_call_resumes_callee(module):
    log = []

    def inner(name):
        log.append(f"{name} inner 1")
        yield
        log.append(f"{name} inner 2")
        yield
        log.append(f"{name} inner 3")
        return "inner result"

    def outer(name):
        v = yield inner(name)
        log.append(f"{name} outer got {v!r}")
        return v

    s = module.Scheduler()
    s.spawn(outer("X"), "X")
    s.spawn(outer("Y"), "Y")
    return {"log": log, "outcomes": outcome_data(s.run())}


def spawn_errors(module):
    s = module.Scheduler()

    def gen():
        yield

    out = []
    for bad in (gen, 42, [1, 2]):
        try:
            s.spawn(bad, "x")
        except TypeError:
            out.append("TypeError")
        except BaseException as exc:  # noqa: BLE001
            out.append(type(exc).__name__)
        else:
            out.append("accepted")
    s = module.Scheduler()
    s.spawn(gen(), "same")
    try:
        s.spawn(gen(), "same")
    except ValueError:
        out.append("ValueError")
    except BaseException as exc:  # noqa: BLE001
        out.append(type(exc).__name__)
    else:
        out.append("accepted")
    return out


SCENARIOS = {f.__name__: f for f in (nested_values, three_levels, uncaught_per_task, round_robin,
                                     switch_inside_call_resumes_callee, spawn_errors)}
'''

HANG = ("the scheduler did not finish: does every task leave the line when its top-level generator returns or "
        "raises, and is a finished callee popped off its task's stack?")


def check_run(impl, setup, log, outcomes, rule):
    __tracebackhide__ = True
    with explained_hang(HANG):
        got = impl.run(run_tasks, TRAMPOLINE_LIB, setup)
    problems = []
    if got["outcomes"] != outcomes:
        problems.append(f"run() should return {outcomes}, got {got['outcomes']}")
    if got["log"] != log:
        for i, (w, g) in enumerate(zip(log + [None] * len(got["log"]), got["log"] + [None] * len(log))):
            if w != g:
                problems.append(f"the tasks' log should be {log}; it is {got['log']} "
                                f"(first difference at entry {i}: expected {w!r}, got {g!r})")
                break
    fail_if_any(problems, f"{rule}:")


@task("05.3")
def test_nested_calls_return_values(exercise):
    """Rule 1: yielding a generator calls it; its return value is sent into the caller"""
    check_run(exercise("trampoline"), "nested_values",
              ["add(1, 2)", "add_slowly(3, 3) starts", "add_slowly(3, 3) ends", "main got 6",
               "add(6, 6)", "add_slowly(12, 0) starts", "add_slowly(12, 0) ends", "main got 12"],
              {"main": ["returned", "12"]},
              "x = yield callee() must give x the callee's return value, through any number of levels")


@task("05.3")
def test_exception_crosses_three_levels(exercise):
    """Rule 2: an exception raised two calls down is thrown into each caller in turn and caught at the top"""
    check_run(exercise("trampoline"), "three_levels",
              ["middle(1) calls leaf", "leaf(1)", "middle(1) got 2",
               "middle(-5) calls leaf", "leaf(-5)", "top caught ValueError('negative', -5)",
               "middle(2) calls leaf", "leaf(2)", "middle(2) got 4"],
              {"top": ["returned", "[3, 'error', 5]"]},
              "an exception escaping a callee is thrown into its caller (caller.throw(exc)), where try/except "
              "catches it; a caller that does not catch it passes it on")


@task("05.3")
def test_uncaught_exceptions_are_reported_per_task(exercise):
    """Rule 5: a task that fails ends with ("raised", exc); the other tasks run to the end"""
    check_run(exercise("trampoline"), "uncaught_per_task",
              ["a 0", "b 1", "d 0", "a 1", "deep raises", "d 1", "a 2"],
              {"c": ["raised", "ZeroDivisionError", "('at once',)"], "b": ["raised", "KeyError", "('deep',)"],
               "d": ["returned", "'D'"], "a": ["returned", "'A'"]},
              "catch a task's uncaught exception, record it as its outcome, and go on with the others")


@task("05.3")
def test_round_robin_order(exercise):
    """Rules 3 and 4: a plain yield ends a turn (and gives None back); calls and returns do not"""
    check_run(exercise("trampoline"), "round_robin",
              ["A0", "C calls", "add(1, 1)", "add(2, 1)", "C has 3", "B0",
               "A0 resumed with None", "A1", "C done", "B0 resumed with None", "B1",
               "A1 resumed with None", "A2", "B1 resumed with None", "A2 resumed with None"],
              {"C": ["returned", "3"], "B": ["returned", "2"], "A": ["returned", "3"]},
              "tasks take turns in spawn order; only yielding a non-generator ends a turn")


@task("05.3")
def test_switch_inside_a_call_resumes_the_callee(exercise):
    """Rule 3: a task suspended inside a call resumes inside that call, not in its caller"""
    check_run(exercise("trampoline"), "switch_inside_call_resumes_callee",
              ["X inner 1", "Y inner 1", "X inner 2", "Y inner 2", "X inner 3", "X outer got 'inner result'",
               "Y inner 3", "Y outer got 'inner result'"],
              {"X": ["returned", "'inner result'"], "Y": ["returned", "'inner result'"]},
              "a task is its whole stack of generators: resume the one on top")


@task("05.3")
def test_spawn_checks_its_arguments(exercise):
    """spawn() refuses what is not a generator object (TypeError) and a name already used (ValueError)"""
    with explained_hang(HANG):
        got = exercise("trampoline").run(run_tasks, TRAMPOLINE_LIB, "spawn_errors")
    want = ["TypeError", "TypeError", "TypeError", "ValueError"]
    what = ["spawn(a generator function, not called)", "spawn(42)", "spawn([1, 2])", "spawn() with a name used twice"]
    fail_if_any([f"{w} should raise {e}, got {g}" for w, e, g in zip(what, want, got) if e != g],
                "spawn's argument checks:")
