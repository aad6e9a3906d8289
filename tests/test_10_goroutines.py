"""Graded tests of 10_goroutines: pure-Python models of Go 1.27.3's scheduler queues
(src/runtime/proc.go: runqput, runqputslow, runqget, runqgrab, runqsteal, stealWork,
globrunqget, globrunqgetbatch, injectglist, findRunnable, execute).

Nothing here runs threads or measures time: each scenario builds Gs and Ps in the child, plays
a script of operations on the learner's code and sends back plain data - the ids of the Gs
each call returned and, after it, the contents of every queue (ring, runnext, global queue).
The expected contents are written out here, in the grader; the child never sees them.

The queues are read only through the interface the statements give (10.1: ring(), len(),
runqempty(), runnext; 10.2 and 10.3: the given deques), so any representation that behaves
right passes - Go's head/tail ring, a deque, a list.

PYTEST_DONT_REWRITE: a failing assert reads as its message alone, so every assert here has
one, written for the learner (see coursekit.testing).
"""

import pytest

from coursekit.testing import explained_hang, fail_if_any

task = pytest.mark.task

HANG = "the call did not return: is there a loop that never ends (a retry that can never succeed)?"


def ids_text(ids):
    """[0, 1, 2, 3, 9] -> '[G0..G3, G9]': runs of 3 or more consecutive ids (going up or down)
    are shortened, and a long list is cut after 12 parts."""
    if not isinstance(ids, list):
        return repr(ids)
    parts, i = [], 0
    while i < len(ids):
        j = i
        step = None
        while j + 1 < len(ids) and isinstance(ids[j], int) and isinstance(ids[j + 1], int) \
                and ids[j + 1] - ids[j] in (1, -1) and (step is None or ids[j + 1] - ids[j] == step):
            step = ids[j + 1] - ids[j]
            j += 1
        if j - i >= 2:
            parts.append(f"G{ids[i]}..G{ids[j]}" + (" (going down)" if step == -1 else ""))
        else:
            j = i
            parts.append(g_text(ids[i]))
        i = j + 1
    if len(parts) > 12:
        parts = parts[:12] + [f"... ({len(ids)} Gs in all)"]
    return "[" + ", ".join(parts) + "]"


def g_text(x):
    if x is None:
        return "None"
    return f"G{x}" if isinstance(x, int) else str(x)


# ---------------------------------------------------------------- 10.1 a P's run queue

def play_runq(module, scripts):
    """Play each script on a fresh Sched and P(sched). Steps: ["put", first, count] (runqput of
    G(first)..G(first+count-1)), ["next", id] (runqput(G(id), next=True)), ["global", first,
    count] (Gs put straight on sched.global_runq), ["get", k] (k runqget() calls: each
    [id, inherit_time]), ["ids", k] (k runqget() calls: the ids only), ["take", k] (k runqget()
    calls, not recorded) and ["state", field...]. Per script: one record per "get", "ids" and
    "state" step."""
    def gid(g):
        if g is None:
            return None
        got = getattr(g, "id", None)
        return got if isinstance(got, int) else f"not a G: {g!r}"

    def pair(r):
        if isinstance(r, tuple) and len(r) == 2:
            return [gid(r[0]), r[1] if isinstance(r[1], bool) else f"not a bool: {r[1]!r}"]
        return [f"not a (g, inherit_time) pair: {r!r}", None]

    out = []
    for script in scripts:
        sched = module.Sched()
        p = module.P(sched)
        records = []
        for step in script:
            op = step[0]
            if op == "put":
                for i in range(step[1], step[1] + step[2]):
                    p.runqput(module.G(i))
            elif op == "next":
                p.runqput(module.G(step[1]), next=True)
            elif op == "global":
                sched.global_runq.extend(module.G(i) for i in range(step[1], step[1] + step[2]))
            elif op == "get":
                records.append([pair(p.runqget()) for _ in range(step[1])])
            elif op == "ids":
                records.append([pair(p.runqget())[0] for _ in range(step[1])])
            elif op == "take":
                for _ in range(step[1]):
                    p.runqget()
            else:
                state = {}
                for field in step[1:]:
                    if field == "ring":
                        state["ring"] = [gid(g) for g in p.ring()]
                    elif field == "global":
                        state["global"] = [gid(g) for g in sched.global_runq]
                    elif field == "runnext":
                        state["runnext"] = gid(p.runnext)
                    elif field == "len":
                        state["len"] = len(p)
                    elif field == "empty":
                        state["empty"] = p.runqempty()
                records.append(state)
        out.append(records)
    return out


def describe_steps(steps):
    words = []
    for step in steps:
        if step[0] == "put":
            first, count = step[1], step[2]
            words.append(", ".join(f"runqput(G{i})" for i in range(first, first + count)) if count <= 3 else
                         f"runqput of G{first}..G{first + count - 1} ({count} puts)")
        elif step[0] == "next":
            words.append(f"runqput(G{step[1]}, next=True)")
        elif step[0] == "global":
            words.append(f"(the global queue holding G{step[1]}..G{step[1] + step[2] - 1})")
        elif step[0] in ("get", "ids", "take"):
            words.append("runqget()" if step[1] == 1 else f"runqget() {step[1]} times")
    return ", ".join(words) or "P(sched)"


FIELD = {"ring": "p.ring()", "global": "the global queue", "runnext": "p.runnext", "len": "len(p)",
         "empty": "p.runqempty()"}


def state_text(field, value):
    if field in ("ring", "global"):
        return ids_text(value)
    if field == "runnext":
        return g_text(value)
    return repr(value)


def check_runq(impl, cases, rule):
    """cases: (script, expected records). Report the first wrong record of each script."""
    __tracebackhide__ = True
    with explained_hang(HANG):
        got = impl.run(play_runq, [script for script, _ in cases])
    problems = []
    for (script, expected), records in zip(cases, got):
        recorded = [i for i, step in enumerate(script) if step[0] in ("get", "ids", "state")]
        for where, want, have in zip(recorded, expected, records):
            done = f"after {describe_steps(script[:where])}" if where else "on a new P"
            if script[where][0] in ("get", "ids"):
                if have != want:
                    i = next(i for i, (w, h) in enumerate(zip(want, have)) if w != h)
                    calls = "runqget()" if len(want) == 1 else f"runqget() call {i + 1} of {len(want)}"
                    if script[where][0] == "get":
                        said = f"({g_text(want[i][0])}, {want[i][1]})"
                        gave = f"({g_text(have[i][0])}, {have[i][1]})"
                    else:
                        said, gave = f"{g_text(want[i])} first", f"{g_text(have[i])} first"
                    problems.append(f"{done}: {calls} should return {said}; it returned {gave}")
                    break
            else:
                wrong = [f"{FIELD[f]} should be {state_text(f, want[f])}, got {state_text(f, have.get(f))}"
                         for f in want if have.get(f) != want[f]]
                if wrong:
                    problems.append(f"{done}: " + "; ".join(wrong))
                    break
    fail_if_any(problems, f"{rule}:")


def r(first, last):
    """The ids first..last, both included."""
    return list(range(first, last + 1))


@task("10.1")
def test_ring_is_fifo(exercise):
    """Rule 1: runqput(g) puts g at the ring's tail, runqget() takes the head as (g, False)"""
    check_runq(exercise("run_queue"), [
        ([["put", 0, 5], ["state", "ring", "len"], ["get", 3], ["state", "ring", "len"], ["get", 3],
          ["state", "ring", "len"]],
         [{"ring": r(0, 4), "len": 5}, [[0, False], [1, False], [2, False]], {"ring": [3, 4], "len": 2},
          [[3, False], [4, False], [None, False]], {"ring": [], "len": 0}]),
        ([["get", 1]], [[[None, False]]]),
        ([["put", 0, 3], ["get", 1], ["put", 3, 2], ["state", "ring"], ["get", 4]],
         [[[0, False]], {"ring": [1, 2, 3, 4]}, [[1, False], [2, False], [3, False], [4, False]]]),
    ], "rule 1: the ring is first in, first out; an empty P gives (None, False)")


@task("10.1")
def test_runnext_runs_first_and_inherits_time(exercise):
    """Rule 2: runqput(g, next=True) fills runnext; runqget() returns it first, with inherit_time True"""
    check_runq(exercise("run_queue"), [
        ([["put", 0, 2], ["next", 10], ["state", "runnext", "ring"], ["get", 3], ["state", "runnext"]],
         [{"runnext": 10, "ring": [0, 1]}, [[10, True], [0, False], [1, False]], {"runnext": None}]),
        ([["next", 5], ["state", "runnext", "ring"], ["get", 2]],
         [{"runnext": 5, "ring": []}, [[5, True], [None, False]]]),
        ([["next", 5], ["get", 1], ["put", 0, 1], ["next", 6], ["get", 3]],
         [[[5, True]], [[6, True], [0, False], [None, False]]]),
    ], "rule 2: runnext runs before the ring and inherits the time slice (True); runqget() empties the slot")


@task("10.1")
def test_runnext_kicks_the_old_one_to_the_tail(exercise):
    """Rule 3: runqput(g, next=True) over a runnext x puts x at the ring's tail"""
    check_runq(exercise("run_queue"), [
        ([["put", 0, 2], ["next", 10], ["next", 11], ["state", "runnext", "ring"], ["next", 12],
          ["state", "runnext", "ring"], ["ids", 5]],
         [{"runnext": 11, "ring": [0, 1, 10]}, {"runnext": 12, "ring": [0, 1, 10, 11]}, [12, 0, 1, 10, 11]]),
        ([["next", 1], ["next", 2], ["put", 3, 1], ["state", "runnext", "ring"]],
         [{"runnext": 2, "ring": [1, 3]}]),
    ], "rule 3: the new G takes runnext and the G it replaces goes to the ring's tail (not dropped, not the head)")


@task("10.1")
def test_ring_holds_256_at_a_time(exercise):
    """Rule 4: 256 Gs fit; the limit counts the Gs in the ring now, not the puts so far"""
    check_runq(exercise("run_queue"), [
        ([["put", 0, 256], ["state", "ring", "len", "global"]],
         [{"ring": r(0, 255), "len": 256, "global": []}]),
        # the ring wraps around: 200 in, 150 out, 206 in = 256 in it, after 406 puts
        ([["put", 0, 200], ["ids", 150], ["put", 200, 206], ["state", "len", "global", "ring"], ["ids", 257]],
         [r(0, 149), {"len": 256, "global": [], "ring": r(150, 405)}, r(150, 405) + [None]]),
        # and the next put overflows, with the head where it is now
        ([["put", 0, 200], ["ids", 150], ["put", 200, 207], ["state", "global", "ring"]],
         [r(0, 149), {"global": r(150, 277) + [406], "ring": r(278, 405)}]),
    ], "rule 4: the ring holds 256 Gs at once (its count is runqtail - runqhead), however many went through it")


@task("10.1")
def test_overflow_moves_half_and_the_new_g(exercise):
    """Rule 5: the 257th put moves the 128 oldest Gs and then the new one to the global queue's tail"""
    check_runq(exercise("run_queue"), [
        ([["put", 0, 256], ["state", "global"], ["put", 256, 1], ["state", "global", "ring", "len"], ["ids", 1]],
         [{"global": []}, {"global": r(0, 127) + [256], "ring": r(128, 255), "len": 128}, [128]]),
        ([["put", 0, 257], ["put", 257, 128], ["state", "global", "len"], ["put", 385, 1], ["state", "global", "ring"]],
         [{"global": r(0, 127) + [256], "len": 256},
          {"global": r(0, 127) + [256] + r(128, 255) + [385], "ring": r(257, 384)}]),
        ([["global", 1000, 3], ["put", 0, 257], ["state", "global", "ring"]],
         [{"global": r(1000, 1002) + r(0, 127) + [256], "ring": r(128, 255)}]),
    ], "rule 5: a full ring sends its first half, head first, and then the new G, as one batch to the global queue's tail")


@task("10.1")
def test_kick_can_overflow(exercise):
    """Rules 3 and 5: a G kicked out of runnext into a full ring overflows like any put"""
    check_runq(exercise("run_queue"), [
        ([["put", 0, 256], ["next", 500], ["state", "runnext", "len", "global"], ["next", 501],
          ["state", "runnext", "global", "ring"], ["ids", 2]],
         [{"runnext": 500, "len": 256, "global": []},
          {"runnext": 501, "global": r(0, 127) + [500], "ring": r(128, 255)}, [501, 128]]),
    ], "rules 3 and 5: the kicked G goes to the ring's tail exactly as runqput would put it, overflow included; "
       "the new G stays in runnext")


@task("10.1")
def test_runqempty_and_len(exercise):
    """Rule 6: runqempty() needs an empty ring and no runnext; len(p) counts the ring only"""
    check_runq(exercise("run_queue"), [
        ([["state", "empty", "len"], ["next", 7], ["state", "empty", "len"], ["take", 1], ["state", "empty", "len"],
          ["put", 0, 1], ["state", "empty", "len"], ["next", 8], ["state", "empty", "len"], ["take", 2],
          ["state", "empty", "len"]],
         [{"empty": True, "len": 0}, {"empty": False, "len": 0}, {"empty": True, "len": 0},
          {"empty": False, "len": 1}, {"empty": False, "len": 1}, {"empty": True, "len": 0}]),
        ([["put", 0, 300], ["state", "empty", "len"]], [{"empty": False, "len": 128 + 43}]),
    ], "rule 6: a P is empty only with nothing in the ring and nothing in runnext; len(p) does not count runnext")


# ---------------------------------------------------------------- 10.2 work stealing

def play_steal(module, cases):
    """Each case: {"ps": [{"runq": [ids], "runnext": id, "idle": bool}, ...], "call": [...]} with
    call ["grab", v, flag] (runqgrab(ps[v], flag)), ["steal", t, v, flag] (runqsteal(ps[t],
    ps[v], flag)) or ["work", t, order] (steal_work(ps[t], ps, order)). Per case: what the call
    returned (ids) and every P's [runq, runnext] afterwards."""
    from collections import deque

    def gid(g):
        if g is None:
            return None
        got = getattr(g, "id", None)
        return got if isinstance(got, int) else f"not a G: {g!r}"

    out = []
    for case in cases:
        ps = [module.P(i, [module.G(x) for x in spec.get("runq", [])],
                       None if spec.get("runnext") is None else module.G(spec["runnext"]), spec.get("idle", False))
              for i, spec in enumerate(case["ps"])]
        call = case["call"]
        if call[0] == "grab":
            got = module.runqgrab(ps[call[1]], call[2])
            result = [gid(g) for g in got] if isinstance(got, (list, tuple, deque)) else f"not a list: {got!r}"
        elif call[0] == "steal":
            result = gid(module.runqsteal(ps[call[1]], ps[call[2]], call[3]))
        else:
            result = gid(module.steal_work(ps[call[1]], ps, call[2]))
        out.append({"result": result, "ps": [[[gid(g) for g in p.runq], gid(p.runnext)] for p in ps]})
    return out


def describe_ps(ps):
    words = []
    for i, spec in enumerate(ps):
        bits = [f"runq {ids_text(spec.get('runq', []))}"]
        if spec.get("runnext") is not None:
            bits.append(f"runnext G{spec['runnext']}")
        if spec.get("idle"):
            bits.append("idle")
        words.append(f"P{i} ({', '.join(bits)})")
    return ", ".join(words)


def describe_call(call):
    if call[0] == "grab":
        return f"runqgrab(P{call[1]}, steal_runnext={call[2]})"
    if call[0] == "steal":
        return f"runqsteal(P{call[1]}, P{call[2]}, steal_runnext={call[3]})"
    return f"steal_work(P{call[1]}, ps, order={call[2]})"


def check_steal(impl, cases, rule):
    """cases: (ps specs, call, expected result, expected [[runq, runnext] per P] after)."""
    __tracebackhide__ = True
    with explained_hang(HANG):
        got = impl.run(play_steal, [{"ps": ps, "call": call} for ps, call, _, _ in cases])
    problems = []
    for (ps, call, result, after), have in zip(cases, got):
        where = f"with {describe_ps(ps)}: {describe_call(call)}"
        if have["result"] != result:
            shown = ids_text(result) if call[0] == "grab" else g_text(result)
            gave = ids_text(have["result"]) if call[0] == "grab" else g_text(have["result"])
            problems.append(f"{where} should return {shown}, returned {gave}")
            continue
        wrong = []
        for i, (want, got_p) in enumerate(zip(after, have["ps"])):
            if want[0] != got_p[0]:
                wrong.append(f"P{i}'s runq should be {ids_text(want[0])}, is {ids_text(got_p[0])}")
            if want[1] != got_p[1]:
                wrong.append(f"P{i}'s runnext should be {g_text(want[1])}, is {g_text(got_p[1])}")
        if wrong:
            problems.append(f"{where} returned {g_text(result) if call[0] != 'grab' else ids_text(result)}, "
                            f"but afterwards " + "; ".join(wrong))
    fail_if_any(problems, f"{rule}:")


@task("10.2")
def test_runqgrab_takes_the_larger_half(exercise):
    """Rule 1: runqgrab takes n - n // 2 Gs from the victim's head, in order"""
    cases = []
    for n in (0, 1, 2, 3, 7, 8, 255, 256):
        k = n - n // 2
        cases.append(([{"runq": list(range(n))}], ["grab", 0, False], list(range(k)), [[list(range(k, n)), None]]))
    cases.append(([{"runq": [5, 6, 7], "runnext": 9}], ["grab", 0, False], [5, 6], [[[7], 9]]))
    check_steal(exercise("work_stealing"), cases,
                "rule 1: take n - n // 2 Gs (the larger half) from the head of the victim's ring; the rest stay, in order")


@task("10.2")
def test_runqgrab_takes_runnext_only_from_an_empty_ring(exercise):
    """Rule 2: runnext is taken only when the ring is empty and steal_runnext is true"""
    check_steal(exercise("work_stealing"), [
        ([{"runq": [], "runnext": 9}], ["grab", 0, True], [9], [[[], None]]),
        ([{"runq": [], "runnext": 9}], ["grab", 0, False], [], [[[], 9]]),
        ([{"runq": [1, 2, 3], "runnext": 9}], ["grab", 0, True], [1, 2], [[[3], 9]]),
        ([{"runq": [1], "runnext": 9}], ["grab", 0, True], [1], [[[], 9]]),
        ([{"runq": []}], ["grab", 0, True], [], [[[], None]]),
    ], "rule 2: an empty ring gives its runnext (which becomes None) only when steal_runnext is true; "
       "a ring with Gs in it keeps its runnext")


@task("10.2")
def test_runqsteal_runs_the_last_grabbed(exercise):
    """Rule 3: the thief runs the last G grabbed and queues the others, in order, on its ring's tail"""
    check_steal(exercise("work_stealing"), [
        ([{}, {"runq": r(0, 6)}], ["steal", 0, 1, False], 3, [[[0, 1, 2], None], [[4, 5, 6], None]]),
        ([{"runq": [100]}, {"runq": [0, 1, 2, 3]}], ["steal", 0, 1, False], 1, [[[100, 0], None], [[2, 3], None]]),
        ([{}, {"runq": [5]}], ["steal", 0, 1, False], 5, [[[], None], [[], None]]),
        ([{}, {"runq": [], "runnext": 9}], ["steal", 0, 1, True], 9, [[[], None], [[], None]]),
        ([{"runq": [100]}, {"runq": [], "runnext": 9}], ["steal", 0, 1, False], None, [[[100], None], [[], 9]]),
        ([{}, {"runq": r(0, 255)}], ["steal", 0, 1, False], 127, [[r(0, 126), None], [r(128, 255), None]]),
    ], "rule 3: runqsteal returns the last G runqgrab took and appends the others, in the order taken, to the "
       "thief's ring; with nothing grabbed it returns None")


@task("10.2")
def test_steal_work_tries_victims_in_order_and_stops_at_the_first(exercise):
    """Rule 4: victims are tried in `order`; the first one that gives a G ends the search"""
    check_steal(exercise("work_stealing"), [
        ([{}, {"runq": [10, 11]}, {"runq": [20, 21, 22]}], ["work", 0, [2, 1]], 21,
         [[[20], None], [[10, 11], None], [[22], None]]),
        ([{}, {"runq": [10, 11]}, {"runq": [20, 21, 22]}], ["work", 0, [1, 2]], 10,
         [[[], None], [[11], None], [[20, 21, 22], None]]),
        ([{}, {"runq": []}, {"runq": [20, 21, 22]}, {"runq": [30]}], ["work", 0, [1, 3, 2]], 30,
         [[[], None], [[], None], [[20, 21, 22], None], [[], None]]),
        ([{}, {}, {}], ["work", 0, [1, 2]], None, [[[], None], [[], None], [[], None]]),
    ], "rule 4: go through ps[i] for i in order and return the first G runqsteal gives; leave the later victims alone")


@task("10.2")
def test_steal_work_skips_the_thief_and_idle_ps(exercise):
    """Rule 4: the thief never steals from itself, and idle Ps are skipped whatever they hold"""
    check_steal(exercise("work_stealing"), [
        ([{"runq": [1, 2]}, {"runq": [10, 11, 12], "idle": True}, {"runq": [20]}], ["work", 0, [0, 1, 2]], 20,
         [[[1, 2], None], [[10, 11, 12], None], [[], None]]),
        ([{"runq": [1, 2], "runnext": 3}, {"runq": [10], "runnext": 15, "idle": True}], ["work", 0, [0, 1]], None,
         [[[1, 2], 3], [[10], 15]]),
        ([{"idle": True, "runq": [7, 8]}, {}, {"runq": [40, 41]}], ["work", 1, [0, 1, 2]], 40,
         [[[7, 8], None], [[], None], [[41], None]]),
    ], "rule 4: skip ps[i] when it is the thief itself or when its idle flag is set")


@task("10.2")
def test_steal_work_takes_runnext_only_as_a_last_resort(exercise):
    """Rule 5: every victim's ring is tried before any runnext; runnexts go in order, in the last round"""
    check_steal(exercise("work_stealing"), [
        ([{}, {"runnext": 15}, {"runq": [20, 21]}], ["work", 0, [1, 2]], 20,
         [[[], None], [[], 15], [[21], None]]),
        ([{}, {"runnext": 15}, {"runnext": 25}], ["work", 0, [2, 1]], 25,
         [[[], None], [[], 15], [[], None]]),
        ([{}, {"runnext": 15}], ["work", 0, [1]], 15, [[[], None], [[], None]]),
        ([{}, {"runnext": 15, "idle": True}, {"runnext": 25}], ["work", 0, [1, 2]], 25,
         [[[], None], [[], 15], [[], None]]),
        ([{"runnext": 5}, {}], ["work", 0, [0, 1]], None, [[[], 5], [[], None]]),
    ], "rule 5: ask for runnext (steal_runnext=True) only in the last of the 4 rounds, after every ring was tried")


# ---------------------------------------------------------------- 10.3 findRunnable

def play_find(module, cases):
    """Each case: {"ps": [{"runq", "runnext", "schedtick", "idle"}...], "p": index, "global": [ids],
    "netpoll": [ids], "steal": id or None (absent: no steal function)}. One find_runnable call
    each; per case what it returned and the state afterwards."""
    def gid(g):
        if g is None:
            return None
        got = getattr(g, "id", None)
        return got if isinstance(got, int) else f"not a G: {g!r}"

    out = []
    for case in cases:
        G = module.G
        ps = [module.P(i, [G(x) for x in spec.get("runq", [])],
                       None if spec.get("runnext") is None else G(spec["runnext"]),
                       spec.get("schedtick", 1), spec.get("idle", False))
              for i, spec in enumerate(case["ps"])]
        sched = module.Sched(ps, [G(x) for x in case.get("global", [])])
        p = ps[case.get("p", 0)]
        netpoll = [G(x) for x in case.get("netpoll", [])]
        calls = []
        if "steal" in case:
            def steal(pp, give=case["steal"]):
                calls.append("p" if pp is p else f"not p but {pp!r}")
                return None if give is None else G(give)
            got = module.find_runnable(p, sched, netpoll, steal)
        else:
            got = module.find_runnable(p, sched, netpoll)
        if isinstance(got, tuple) and len(got) == 2:
            result = [got[0], gid(got[1])]
        else:
            result = [f"not a (source, g) pair: {got!r}", None]
        out.append({"result": result, "runq": [gid(g) for g in p.runq], "runnext": gid(p.runnext),
                    "global": [gid(g) for g in sched.global_runq], "netpoll": [gid(g) for g in netpoll],
                    "schedtick": p.schedtick, "steal_calls": calls,
                    "others": [[[gid(g) for g in q.runq], gid(q.runnext), q.idle] for q in ps if q is not p]})
    return out


def describe_find(case):
    ps = case["ps"]
    me = ps[case.get("p", 0)]
    bits = [f"schedtick {me.get('schedtick', 1)}", f"runq {ids_text(me.get('runq', []))}"]
    if me.get("runnext") is not None:
        bits.append(f"runnext G{me['runnext']}")
    words = [f"p ({', '.join(bits)})"]
    if len(ps) > 1:
        idle = sum(1 for i, q in enumerate(ps) if q.get("idle") and i != case.get("p", 0))
        words.append(f"gomaxprocs {len(ps)}" + (f" ({idle} idle)" if idle else ""))
    words.append(f"global queue {ids_text(case.get('global', []))}")
    if case.get("netpoll"):
        words.append(f"netpoll_ready {ids_text(case['netpoll'])}")
    if "steal" in case:
        words.append(f"a steal function that gives {g_text(case['steal'])}")
    return ", ".join(words)


FIND_FIELD = {"runq": "p.runq", "runnext": "p.runnext", "global": "the global queue",
              "netpoll": "netpoll_ready", "schedtick": "p.schedtick", "steal_calls": "the calls of steal()"}


def check_find(impl, cases, rule):
    """cases: (case, expected (source, id), {field: expected value after}) - the queues, the
    netpoll list and the steal calls not named must not have changed. p.schedtick is compared only
    where named: its rule has its own test (test_pingpong_fairness)."""
    __tracebackhide__ = True
    with explained_hang(HANG):
        got = impl.run(play_find, [case for case, _, _ in cases])
    problems = []
    for (case, result, after), have in zip(cases, got):
        me = case["ps"][case.get("p", 0)]
        want = {"runq": me.get("runq", []), "runnext": me.get("runnext"), "global": case.get("global", []),
                "netpoll": case.get("netpoll", []), "steal_calls": [] if "steal" in case else None, **after}
        where = f"with {describe_find(case)}"
        if have["result"] != list(result):
            problems.append(f"{where}: find_runnable should return ({result[0]!r}, {g_text(result[1])}), returned "
                            f"({have['result'][0]!r}, {g_text(have['result'][1])})")
            continue
        wrong = []
        for field, value in want.items():
            if value is None and field == "steal_calls":
                continue
            if have[field] != value:
                if field in ("runq", "global", "netpoll"):
                    wrong.append(f"{FIND_FIELD[field]} should be {ids_text(value)}, is {ids_text(have[field])}")
                elif field == "runnext":
                    wrong.append(f"p.runnext should be {g_text(value)}, is {g_text(have[field])}")
                elif field == "steal_calls":
                    wrong.append(f"steal should have been called {len(value)} time(s) (with p), was called "
                                 f"{len(have[field])} time(s)")
                else:
                    wrong.append(f"{FIND_FIELD[field]} should be {value!r}, is {have[field]!r}")
        others = [[q.get("runq", []), q.get("runnext"), q.get("idle", False)]
                  for i, q in enumerate(case["ps"]) if i != case.get("p", 0)]
        if have["others"] != others:
            wrong.append("the other Ps should not change")
        if wrong:
            problems.append(f"{where}: find_runnable returned ({result[0]!r}, {g_text(result[1])}), but afterwards "
                            + "; ".join(wrong))
    fail_if_any(problems, f"{rule}:")


@task("10.3")
def test_fair_check_every_61st_tick(exercise):
    """Step 1: at schedtick % 61 == 0 one G comes from the global queue, before the local queue"""
    check_find(exercise("find_runnable"), [
        ({"ps": [{"schedtick": 0, "runq": [1]}], "global": [50, 51]}, ("global-fair", 50), {"global": [51]}),
        ({"ps": [{"schedtick": 61, "runnext": 2, "runq": [1]}], "global": [50]}, ("global-fair", 50), {"global": []}),
        ({"ps": [{"schedtick": 122}], "global": [50, 51, 52]}, ("global-fair", 50), {"global": [51, 52]}),
        ({"ps": [{"schedtick": 60, "runq": [1]}], "global": [50]}, ("local", 1), {"runq": []}),
        ({"ps": [{"schedtick": 62, "runq": [1]}], "global": [50]}, ("local", 1), {"runq": []}),
        ({"ps": [{"schedtick": 0, "runq": [1]}]}, ("local", 1), {"runq": []}),
    ], "step 1: when p.schedtick % 61 == 0 and the global queue is not empty, take exactly one G from its head, "
       "even if p has work of its own")


@task("10.3")
def test_local_queue_runnext_first(exercise):
    """Step 2: p.runnext, then the head of p.runq, before the global queue, netpoll and stealing"""
    check_find(exercise("find_runnable"), [
        ({"ps": [{"runnext": 7, "runq": [1, 2]}], "global": [50]}, ("local", 7), {"runnext": None}),
        ({"ps": [{"runq": [1, 2]}], "global": [50]}, ("local", 1), {"runq": [2]}),
        ({"ps": [{"runq": [1]}, {"runq": [10]}], "netpoll": [90], "steal": 80}, ("local", 1), {"runq": []}),
        ({"ps": [{"runnext": 3}], "netpoll": [90, 91], "steal": 80}, ("local", 3), {"runnext": None}),
    ], "step 2: the local queue (runnext first, then the ring's head) comes before the global batch, the "
       "netpoller and stealing, which are not touched")


@task("10.3")
def test_global_batch_size(exercise):
    """Step 3: n = min(len(global), len(global) // gomaxprocs + 1, 128); the first runs, the rest go to p.runq"""
    cases = []
    for procs, size in ((1, 1), (1, 10), (4, 10), (2, 5), (3, 2), (1, 300), (2, 300), (8, 300), (2, 256)):
        n = min(size, size // procs + 1, 128)
        cases.append(({"ps": [{}] * procs, "global": list(range(size))}, ("global-batch", 0),
                      {"runq": list(range(1, n)), "global": list(range(n, size))}))
    cases.append(({"ps": [{}, {"runq": [70]}], "global": [50, 51, 52], "netpoll": [90], "steal": 80},
                  ("global-batch", 50), {"runq": [51], "global": [52]}))
    check_find(exercise("find_runnable"), cases,
               "step 3: with p's queues empty, take n = min(len(global), len(global) // gomaxprocs + 1, 128) Gs "
               "from the global queue (gomaxprocs is len(sched.ps); 128 is half of Go's 256-slot ring), run the "
               "first and put the others on p.runq's tail in order")


@task("10.3")
def test_netpoll_after_the_queues(exercise):
    """Step 4: netpoll only when no queue had a G; it takes the whole list and runs the first"""
    check_find(exercise("find_runnable"), [
        ({"ps": [{"runq": [1]}], "netpoll": [90, 91]}, ("local", 1), {"runq": []}),
        ({"ps": [{}], "global": [50], "netpoll": [90]}, ("global-batch", 50), {"global": []}),
        ({"ps": [{}], "netpoll": [90, 91, 92]}, ("netpoll", 90), {"netpoll": [], "runq": [91, 92]}),
        ({"ps": [{}, {"runq": [10]}], "netpoll": [90], "steal": 80}, ("netpoll", 90), {"netpoll": []}),
    ], "step 4: the netpoller comes after the local and global queues and before stealing; it empties "
       "netpoll_ready and runs its first G")


@task("10.3")
def test_netpoll_injects_the_rest_like_injectglist(exercise):
    """Step 4: one G per idle P to the global queue, then p.runq up to 256, then the global queue"""
    check_find(exercise("find_runnable"), [
        ({"ps": [{}, {"idle": True}, {}, {"idle": True}], "netpoll": r(90, 95)}, ("netpoll", 90),
         {"netpoll": [], "global": [91, 92], "runq": [93, 94, 95]}),
        ({"ps": [{}, {"idle": True}, {"idle": True}], "netpoll": [90, 91]}, ("netpoll", 90),
         {"netpoll": [], "global": [91], "runq": []}),
        ({"ps": [{}], "netpoll": r(0, 299)}, ("netpoll", 0), {"netpoll": [], "runq": r(1, 256), "global": r(257, 299)}),
        ({"ps": [{}, {"idle": True}, {"idle": True}], "netpoll": r(0, 299)}, ("netpoll", 0),
         {"netpoll": [], "global": [1, 2] + r(259, 299), "runq": r(3, 258)}),
    ], "step 4: after the first, one netpoll G per idle P goes to the global queue's tail, then the others onto "
       "p.runq until it holds 256, and any left over to the global queue's tail")


@task("10.3")
def test_steal_is_the_last_resort(exercise):
    """Steps 5 and 6: steal(p) only when nothing else had a G; nothing anywhere is ("idle", None)"""
    check_find(exercise("find_runnable"), [
        ({"ps": [{}, {"runq": [10, 11]}], "steal": 80}, ("steal", 80), {"steal_calls": ["p"]}),
        ({"ps": [{}, {}], "steal": None}, ("idle", None), {"steal_calls": ["p"]}),
        ({"ps": [{}]}, ("idle", None), {}),
        ({"ps": [{"schedtick": 0}]}, ("idle", None), {}),
        ({"ps": [{}], "global": [50], "steal": 80}, ("global-batch", 50), {"global": []}),
    ], "steps 5 and 6: call steal(p) once, only when the queues and the netpoller had nothing; with no G "
       "anywhere return ('idle', None) and change nothing")


def pingpong(module, kind):
    """Drive find_runnable as schedule() and execute() do; G1 and G2 keep p busy, G3 waits on
    the global queue. kind "ring": each G goes back to p.runq's tail after it runs; kind
    "runnext": each readies the other in runnext, and after 200 handovers the running G is
    preempted onto the global queue. Returns one [source, id, schedtick after] per call."""
    G, P, Sched = module.G, module.P, module.Sched
    a, b, c = G(1), G(2), G(3)
    if kind == "ring":
        p = P(0, runq=[a, b], schedtick=1)
    else:
        p = P(0, runnext=a, schedtick=7)
    sched = Sched([p], global_runq=[c])
    partner = {id(a): b, id(b): a}
    trace = []
    for call in range(1, 300):
        before = p.runnext
        got = module.find_runnable(p, sched, [], None)
        if not (isinstance(got, tuple) and len(got) == 2):
            trace.append([f"not a (source, g) pair: {got!r}", None, p.schedtick])
            break
        source, g = got
        if not (source == "local" and before is not None and g is before):
            p.schedtick += 1
        trace.append([source, getattr(g, "id", None), p.schedtick])
        if g is None:
            break
        if kind == "ring":
            if g is c:
                break
            p.runq.append(g)                  # it yields: back to the ring's tail
            continue
        if call == 203:
            break
        if id(g) not in partner:
            continue                          # G3 runs, then blocks
        if call <= 200:
            p.runnext = partner[id(g)]        # it readies its partner (runqput next=True) and blocks
        elif call == 201:
            sched.global_runq.append(g)       # sysmon preempted it: goschedImpl -> globrunqput
    return trace


def trace_text(entries):
    return ", ".join(f"call {i} ({s!r}, {g_text(g)}, schedtick then {t})" for i, (s, g, t) in entries)


@task("10.3")
def test_pingpong_fairness(exercise):
    """Fairness: the 1/61 check lets a global G in at schedtick 61; a runnext pair shares one slice"""
    impl = exercise("find_runnable")
    with explained_hang(HANG):
        ring = impl.run(pingpong, "ring")
        handover = impl.run(pingpong, "runnext")
    problems = []
    # A and B on the ring: one new time slice per run, so schedtick counts runs.
    want = [["local", 1 + i % 2, 2 + i] for i in range(60)] + [["global-fair", 3, 62]]
    if ring != want:
        first = next((i for i, (w, h) in enumerate(zip(want, ring)) if w != h), min(len(want), len(ring)))
        ran = [i + 1 for i, e in enumerate(ring) if e[1] == 3]
        problems.append(
            "G1 and G2 take turns on p.runq (each goes back to the tail after it runs; schedtick starts at 1 and "
            "goes up by one per run), G3 waits on the global queue: calls 1-60 should give G1, G2, G1, ... from "
            "'local' and call 61, at schedtick 61, ('global-fair', G3). "
            + (f"G3 ran at call {ran[0]}. " if ran else f"G3 did not run in {len(ring)} calls. ")
            + f"First difference: {trace_text([(first + 1, ring[first])]) if first < len(ring) else 'the trace ended'}"
              f" where {trace_text([(first + 1, want[first])]) if first < len(want) else 'nothing more'} was expected")
    # A and B through runnext: they inherit the slice, schedtick stays 7, G3 waits for the preemption.
    want = [["local", 1 + i % 2, 7] for i in range(201)] + [["global-batch", 3, 8], ["local", 1, 9]]
    if handover != want:
        first = next((i for i, (w, h) in enumerate(zip(want, handover)) if w != h),
                     min(len(want), len(handover)))
        problems.append(
            "G1 and G2 hand over through runnext (each readies the other with next=True and blocks), G3 waits on "
            "the global queue, schedtick starts at 7: every call should give the runnext G from 'local', which "
            "inherits the time slice, so schedtick stays 7 and the 1/61 check never fires (find_runnable must read "
            "p.schedtick, not count its calls, and must not change it). After call 201 G1 is preempted onto the "
            "global queue, so call 202 should be ('global-batch', G3) and call 203 ('local', G1). "
            + f"First difference: {trace_text([(first + 1, handover[first])]) if first < len(handover) else 'the trace ended'}"
              f" where {trace_text([(first + 1, want[first])]) if first < len(want) else 'nothing more'} was expected")
    fail_if_any(problems, "fairness, with the tests' schedule loop (see the statement):")
