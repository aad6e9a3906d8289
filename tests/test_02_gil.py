"""Graded tests of 02_gil. The code under test runs in a child process (see coursekit.runner);
scenarios are module-level functions sent to it as source code, so each one imports what it
needs and defines its helpers inside its own body.

Every interleaving that matters is forced (a Barrier, an Event, a lock that makes a thread
wait for the other, a file lock that a reply's arrival opens): none of these tests sleeps or
measures time. Where a bug can hang the code (a deadlock, a consumer that never stops), the
runner's time limit is the detector, and explained_hang() says what the hang most likely means.

PYTEST_DONT_REWRITE: a failing assert reads as its message alone, so every assert here has
one, written for the learner (see coursekit.testing).
"""

import json
import random

import pytest

from coursekit.testing import call_each, check_raises, check_table, explained_hang, fail_if_any

task = pytest.mark.task


def hang_limit(impl):
    """Time limit for a call that a bug can hang. When right, these scenarios take
    milliseconds (a spawn pool well under a second), so half the usual limit is plenty
    and keeps a learner's hang - or a stub's, in `make teeth` - cheap."""
    return impl.timeout / 2



def census(module, name, calls):
    """Call module.<name>(*args) for each args of `calls`; per call return the value, how many
    threads it started, and the names of those still alive after it returned."""
    import threading
    starts = []
    real_start = threading.Thread.start

    def counting_start(self):
        starts.append(self.name)
        return real_start(self)

    out = []
    for args in calls:
        before = set(threading.enumerate())
        starts.clear()
        threading.Thread.start = counting_start
        try:
            value = getattr(module, name)(*args)
        finally:
            threading.Thread.start = real_start
        left = [t.name for t in threading.enumerate() if t not in before]
        out.append({"value": value, "starts": len(starts), "left_alive": left})
    return out


# ---------------------------------------------------------------- 02.1 lost updates

@task("02.1")
def test_unlocked_rounds_keep_one_increment_each(exercise):
    """Without the lock every round keeps one increment: (n_threads - 1) * rounds are lost"""
    check_table(exercise("lost_updates"), "lost_updates", [
        (2, 10, False, 10),
        (4, 25, False, 75),
        (8, 3, False, 21),
        (1, 5, False, 0),       # one thread has nobody to race with
        (3, 0, False, 0),
    ], "with the barrier between read and write, all threads write the same value each round")


@task("02.1")
def test_lock_loses_nothing(exercise):
    """With the lock held from read to write no increment is lost"""
    check_table(exercise("lost_updates"), "lost_updates", [
        (2, 10, True, 0),
        (4, 25, True, 0),
        (8, 3, True, 0),
    ], "a lock held from the read to the write makes the increment one step for the other threads")


def counts_under_intervals(module, intervals):
    import sys
    out = []
    for seconds in intervals:
        sys.setswitchinterval(seconds)
        out.append([module.lost_updates(4, 20, False), module.lost_updates(4, 20, True)])
    return out


@task("02.1")
def test_counts_do_not_depend_on_the_switch_interval(exercise):
    """The counts are forced, not lucky: the same for a 1 us, 5 ms or 100 s switch interval"""
    intervals = [1e-6, 0.005, 100.0]
    got = exercise("lost_updates").run(counts_under_intervals, intervals)
    wrong = []
    for seconds, (unlocked, locked) in zip(intervals, got):
        if unlocked != 60:
            wrong.append(f"with sys.setswitchinterval({seconds}), lost_updates(4, 20) said {unlocked} increments "
                         "were lost, not 60: each round, all 4 threads must read before any of them writes")
        if locked != 0:
            wrong.append(f"with sys.setswitchinterval({seconds}), lost_updates(4, 20, locked=True) said {locked} "
                         "increments were lost, not 0: hold the lock from each read to its write")
    fail_if_any(wrong, "the counts must come from the interleaving you force, not from when the GIL happens to switch:")


@task("02.1")
@pytest.mark.parametrize("locked", [False, True])
def test_really_runs_the_threads(exercise, locked):
    """Starts exactly n_threads threads, and none outlives the call"""
    for n, result in zip((3, 6), exercise("lost_updates").run(census, "lost_updates", [[3, 4, locked], [6, 2, locked]])):
        assert result["starts"] == n, f"lost_updates({n}, ..., locked={locked}) started {result['starts']} threads, not {n}"
        assert result["left_alive"] == [], \
            f"lost_updates({n}, ..., locked={locked}) returned while threads still ran: {result['left_alive']}; join them"


@task("02.1")
def test_bad_arguments(exercise):
    """n_threads < 1 or rounds < 0 raise ValueError"""
    check_raises(exercise("lost_updates"), "lost_updates", [(0, 5), (-2, 5), (2, -1)])


# ---------------------------------------------------------------- 02.2 switch interval

def inside_and_after(module, cases):
    """For each (before_us, seconds): start from exactly before_us microseconds, enter the block,
    and report the interval inside (in us), the `as` value, and the interval after."""
    import sys
    out = []
    for before_us, seconds in cases:
        sys.setswitchinterval((before_us + 0.5) / 1e6)   # CPython then stores exactly before_us
        before = sys.getswitchinterval()
        with module.switch_interval(seconds) as old:
            inside_us = round(sys.getswitchinterval() * 1e6)
        after = sys.getswitchinterval()
        out.append({"inside_us": inside_us, "as_ok": old == before, "after_us": round(after * 1e6),
                    "restored": after == before})
    return out


@task("02.2")
def test_sets_the_interval_and_restores_it(exercise):
    """Inside the block the interval is the one asked for; after it, the one before"""
    # 1e-6 is the smallest value allowed; an int is a number too
    cases = [(5000, 0.001), (5000, 0.0005), (5000, 2.0), (1000, 0.01), (2000, 0.5), (5000, 1e-6), (5000, 2)]
    got = exercise("switch_interval").run(inside_and_after, cases)
    for (before_us, seconds), r in zip(cases, got):
        assert r["inside_us"] == round(seconds * 1e6), \
            f"inside switch_interval({seconds}) the interval was {r['inside_us']} us, not {round(seconds * 1e6)} us"
        assert r["restored"], f"the interval was {before_us} us before switch_interval({seconds}) and {r['after_us']} us after"
        assert r["as_ok"], f"`with switch_interval({seconds}) as old`: old must be the interval before the block"


def raise_inside(module):
    import sys

    class Boom(Exception):
        pass

    out = []
    for exc in (Boom("raised inside the block"), KeyboardInterrupt()):   # Ctrl-C is no Exception
        sys.setswitchinterval(0.004)
        before = sys.getswitchinterval()
        try:
            with module.switch_interval(0.0002):
                raise exc
        except BaseException as caught:
            propagated = caught is exc
        else:
            propagated = False
        out.append({"what": type(exc).__name__, "propagated": propagated,
                    "after_us": round(sys.getswitchinterval() * 1e6), "restored": sys.getswitchinterval() == before})
    return out


@task("02.2")
def test_restores_when_the_block_raises(exercise):
    """An exception in the block - even KeyboardInterrupt - propagates, and the interval is restored first"""
    wrong = []
    for r in exercise("switch_interval").run(raise_inside):
        if not r["propagated"]:
            wrong.append(f"a {r['what']} raised in the block must reach the caller, not be swallowed or replaced")
        if not r["restored"]:
            wrong.append(f"the interval was 4000 us before a block that raised {r['what']}, and {r['after_us']} us "
                         "after it: restore it in a finally, which runs however the block ends")
    fail_if_any(wrong)


def nested(module):
    import sys
    sys.setswitchinterval(0.005)
    seen = []

    def us():
        return round(sys.getswitchinterval() * 1e6)

    with module.switch_interval(0.002):
        seen.append(us())
        with module.switch_interval(0.0005):
            seen.append(us())
            with module.switch_interval(0.003):
                seen.append(us())
            seen.append(us())
        seen.append(us())
    seen.append(us())
    return seen


@task("02.2")
def test_nested_blocks_each_restore_what_they_found(exercise):
    """Nested blocks: each one restores the interval it found"""
    got = exercise("switch_interval").run(nested)
    expected = [2000, 500, 3000, 500, 2000, 5000]
    assert got == expected, (f"entering 2000, 500, 3000 us blocks inside each other (starting from 5000 us) "
                             f"should show {expected} us on the way in and out, got {got}")


def bad_values(module):
    import sys
    sys.setswitchinterval(0.005)
    before = sys.getswitchinterval()
    out = []
    for value in [0, -0.001, float("nan"), float("inf"), -float("inf"), 5e-7, 1e-9, "0.001", None, True]:
        ran = False
        try:
            with module.switch_interval(value):
                ran = True
        except (ValueError, TypeError) as exc:
            raised = type(exc).__name__
        else:
            raised = None
        out.append({"value": repr(value), "raised": raised, "ran": ran, "unchanged": sys.getswitchinterval() == before})
    return out


@task("02.2")
def test_bad_values_are_refused_before_anything_changes(exercise):
    """Bad values raise (ValueError, or TypeError for a non-number) without running the block or changing anything"""
    wrong = []
    for r in exercise("switch_interval").run(bad_values):
        expected = "TypeError" if r["value"] in ("'0.001'", "None", "True") else "ValueError"
        if r["raised"] != expected:
            wrong.append(f"switch_interval({r['value']}) should raise {expected}, " +
                         (f"raised {r['raised']}" if r["raised"] else "raised nothing"))
        elif r["ran"] or not r["unchanged"]:
            wrong.append(f"switch_interval({r['value']}) raised, but only after it " +
                         ("ran the block" if r["ran"] else "changed the interval"))
    assert not wrong, "\n".join(wrong)


@task("02.2")
def test_exact_to_the_microsecond(exercise):
    """Exact to the microsecond where setswitchinterval truncates (249 us in, 15 us restored)"""
    cases = [(15, 0.001), (19, 0.0005), (100, 0.002), (5000, 0.000249), (5000, 0.000015)]
    got = exercise("switch_interval").run(inside_and_after, cases)
    for (before_us, seconds), r in zip(cases, got):
        assert r["inside_us"] == round(seconds * 1e6), \
            (f"inside switch_interval({seconds}) the interval was {r['inside_us']} us, not {round(seconds * 1e6)} us: "
             f"setswitchinterval truncates 1e6 * seconds (see the module docstring)")
        assert r["restored"], \
            (f"the interval was {before_us} us before switch_interval({seconds}) and {r['after_us']} us after: "
             "setswitchinterval(getswitchinterval()) can lose a microsecond (see the module docstring)")


# ---------------------------------------------------------------- 02.3 bank transfers

def shown(balances):
    """Balances as a learner writes them: a=75, b=0."""
    return ", ".join(f"{k}={v}" for k, v in balances.items()) if isinstance(balances, dict) else repr(balances)


def simple_transfers(module):
    bank = module.Bank({"a": 100, "b": 50, "c": 0})
    bank.transfer("a", "b", 30)
    bank.transfer("b", "c", 80)
    bank.transfer("c", "a", 5)
    return bank.balances()


@task("02.3")
def test_transfers_move_money(exercise):
    """Transfers move money from one account to the other"""
    got = exercise("bank_transfer").run(simple_transfers)
    assert got == {"a": 75, "b": 0, "c": 75}, \
        f"from a=100, b=50, c=0, transfers a->b 30, b->c 80, c->a 5 should leave a=75, b=0, c=75; balances() gave {shown(got)}"


@task("02.3")
def test_bank_refuses_bad_balances(exercise):
    """Bank() refuses a balance that is not a whole number >= 0"""
    check_raises(exercise("bank_transfer"), "Bank", [({"a": -1},), ({"a": 1.5},), ({"a": 10, "b": -3},)])


def refused_transfers(module, attempts):
    """Each attempt on a fresh Bank(a=100, b=50): what it raised, the locks it left held, the balances after."""
    import threading
    out = []
    for source, target, amount in attempts:
        locks = []

        def factory():
            locks.append(threading.Lock())
            return locks[-1]

        bank = module.Bank({"a": 100, "b": 50}, lock_factory=factory)
        try:
            bank.transfer(source, target, amount)
        except (KeyError, ValueError) as exc:
            raised = type(exc).__name__
        else:
            raised = None
        held = sum(lock.locked() for lock in locks)
        out.append({"raised": raised, "held": held, "balances": None if held else bank.balances()})
    return out


@task("02.3")
def test_refused_transfers_change_nothing(exercise):
    """Bad transfers raise (KeyError, ValueError), change no balance and release their locks"""
    attempts = [("a", "zz", 1, "KeyError"), ("zz", "a", 1, "KeyError"), ("a", "a", 10, "ValueError"),
                ("a", "b", 0, "ValueError"), ("a", "b", -5, "ValueError"), ("a", "b", 2.5, "ValueError"),
                ("a", "b", 2.0, "ValueError"), ("a", "b", 101, "ValueError"), ("b", "a", 51, "ValueError")]
    got = exercise("bank_transfer").run(refused_transfers, [row[:3] for row in attempts])
    wrong = []
    for (source, target, amount, expected), r in zip(attempts, got):
        call = f"transfer({source!r}, {target!r}, {amount!r})"
        if r["held"]:
            how = f"raised {r['raised']}" if r["raised"] else "returned"
            wrong.append(f"{call} {how} while still holding {r['held']} lock(s): release them on every way out")
            continue
        changed = r["balances"] != {"a": 100, "b": 50}
        change = f"changed the balances from a=100, b=50 to {shown(r['balances'])}"
        if r["raised"] is None:
            wrong.append(f"{call} should raise {expected}, but it went through" + (f" and {change}" if changed else ""))
        elif r["raised"] != expected:
            wrong.append(f"{call} should raise {expected}, not {r['raised']}")
        elif changed:
            wrong.append(f"{call} raised {expected} as it should, but first {change}: check everything before "
                         "you move any money")
    fail_if_any(wrong, "each of these ran on a fresh Bank with a=100, b=50:")


def lock_orders(module, pairs):
    """Which locks (numbered in creation order) each transfer acquires, in what order."""
    import threading
    locks, seq = [], []

    class RecordingLock:
        def __init__(self):
            self._lock, self.number = threading.Lock(), len(locks)
            locks.append(self)

        def acquire(self, blocking=True, timeout=-1):
            seq.append(self.number)
            return self._lock.acquire(blocking, timeout)

        def release(self):
            self._lock.release()

        def locked(self):
            return self._lock.locked()

        def __enter__(self):
            self.acquire()
            return self

        def __exit__(self, *exc):
            self.release()

    bank = module.Bank({"a": 1000, "b": 1000, "c": 1000, "d": 1000}, lock_factory=RecordingLock)
    out = {"created": len(locks), "transfers": {}}
    for source, target in pairs:
        seq.clear()
        bank.transfer(source, target, 1)
        out["transfers"][source + target] = {"acquired": list(seq), "held": [l.number for l in locks if l.locked()]}
    return out


@task("02.3")
def test_one_lock_per_account_taken_in_one_global_order(exercise):
    """One lock per account; a transfer takes its two accounts' locks in one global order"""
    names = "abcd"
    pairs = [(x, y) for x in names for y in names if x != y]
    got = exercise("bank_transfer").run(lock_orders, pairs)
    assert got["created"] == 4, f"Bank with 4 accounts called lock_factory() {got['created']} times: make one lock per account"
    t = got["transfers"]
    for x, y in pairs:
        acquired, held = t[x + y]["acquired"], t[x + y]["held"]
        assert len(acquired) == 2 and len(set(acquired)) == 2, \
            (f"transfer({x!r}, {y!r}, 1) acquired {len(acquired)} locks ({acquired}, numbered in the order "
             "lock_factory() made them): it must take exactly its two accounts' locks, once each")
        assert not held, f"transfer({x!r}, {y!r}, 1) returned still holding a lock: release both"
    assert not set(t["ab"]["acquired"]) & set(t["cd"]["acquired"]), \
        "transfer('a', 'b', 1) and transfer('c', 'd', 1) take the same lock: each account needs its own"
    # lock n belongs to the one account that every transfer taking it involves
    owner = {}
    for x, y in pairs:
        for n in t[x + y]["acquired"]:
            owner[n] = owner.get(n, {x, y}) & {x, y}
    name = {n: f"{min(o)}'s lock" if len(o) == 1 else f"lock {n}" for n, o in owner.items()}

    def order(x, y):
        first, second = t[x + y]["acquired"]
        return f"transfer({x!r}, {y!r}, 1) took {name[first]}, then {name[second]}"

    wrong = [f"{order(x, y)}, but {order(y, x)}" for x, y in pairs if x < y
             and t[x + y]["acquired"][0] != t[y + x]["acquired"][0]]
    fail_if_any(wrong, "opposite transfers take the two locks in opposite orders; run at the same time, each can "
                       "hold its first lock and wait forever for the other's. Take the locks in one order whatever "
                       "the direction (the smaller account name first):")
    # one global order: "first lock before second lock" over all pairs must not form a cycle
    before = {(v["acquired"][0], v["acquired"][1]) for v in t.values()}
    cycle = next(([p, q, r] for p in range(4) for q in range(4) for r in range(4)
                  if (p, q) in before and (q, r) in before and (r, p) in before), None)
    assert cycle is None, \
        (f"the lock order has a cycle: {name[cycle[0]]} is taken before {name[cycle[1]]}, that one before "
         f"{name[cycle[2]]}, and that one before {name[cycle[0]]}, so three transfers at once can still "
         "deadlock. Order the locks the same way in every transfer (by account name)")


def snapshots(module):
    """balances() steered against transfer('a', 'b', 30) in another thread, on a=b=c=100.
    "during": the transfer holds both its locks (and has moved nothing yet) when balances() starts;
    did balances() run into a lock the transfer holds, or return first?
    "between": once balances() has taken its first lock, it asks for its second one only after the
    transfer has finished or has run into a lock balances() holds; what did balances() return?"""
    import threading
    cond = threading.Condition()
    s = {"transfer": None, "reader": None, "count": {}, "holds_both": False, "transfer_done": False,
         "transfer_blocked": False, "reader_blocked": False, "reader_done": False, "go": False, "mode": ""}

    class SteeredLock:
        def __init__(self):
            self._lock = threading.Lock()

        def acquire(self, blocking=True, timeout=-1):
            me = threading.get_ident()
            if me == s["reader"]:
                with cond:
                    s["count"][me] = n = s["count"].get(me, 0) + 1
                    if s["mode"] == "between" and n == 2:
                        s["go"] = True                # let the transfer run now
                        cond.notify_all()
                        cond.wait_for(lambda: s["transfer_done"] or s["transfer_blocked"])
            got = self._lock.acquire(False)
            if not got:
                with cond:
                    s["reader_blocked" if me == s["reader"] else "transfer_blocked"] = True
                    cond.notify_all()
                got = self._lock.acquire(blocking, timeout)
            if got and me == s["transfer"] and s["mode"] == "during":
                with cond:
                    s["count"][me] = n = s["count"].get(me, 0) + 1
                    if n == 2:                        # it holds both: pause it, before it moves the money
                        s["holds_both"] = True
                        cond.notify_all()
                        cond.wait_for(lambda: s["go"])
            return got

        def release(self):
            self._lock.release()

        def locked(self):
            return self._lock.locked()

        def __enter__(self):
            self.acquire()
            return self

        def __exit__(self, *exc):
            self.release()

    out = {}
    for mode in ("during", "between"):
        s.update(transfer=None, reader=None, count={}, holds_both=False, transfer_done=False, transfer_blocked=False,
                 reader_blocked=False, reader_done=False, go=False, mode=mode)
        bank = module.Bank({"a": 100, "b": 100, "c": 100}, lock_factory=SteeredLock)
        seen = {}

        def transfer():
            s["transfer"] = threading.get_ident()
            with cond:
                cond.wait_for(lambda: mode == "during" or s["go"])
            try:
                bank.transfer("a", "b", 30)
            finally:
                with cond:
                    s["transfer_done"] = True
                    cond.notify_all()

        def read():
            s["reader"] = threading.get_ident()
            try:
                seen["balances"] = bank.balances()
            finally:
                with cond:
                    s["reader_done"] = True
                    cond.notify_all()

        t = threading.Thread(target=transfer)
        t.start()
        if mode == "during":
            with cond:
                cond.wait_for(lambda: s["holds_both"] or s["transfer_done"])
        r = threading.Thread(target=read)
        r.start()
        with cond:
            if mode == "during":
                cond.wait_for(lambda: s["reader_blocked"] or s["reader_done"])
                out["returned_during"] = s["reader_done"] and not s["reader_blocked"]
                out["paused"] = s["holds_both"]
                s["go"] = True
                cond.notify_all()
            else:
                cond.wait_for(lambda: s["reader_done"] or s["go"])
                s["go"] = True                        # balances() took fewer than two locks: let it go
                cond.notify_all()
        r.join()
        t.join()
        out[mode] = seen.get("balances")
    return out


@task("02.3")
def test_balances_is_a_consistent_snapshot(exercise):
    """balances() waits for a transfer in progress and never shows one half done"""
    impl = exercise("bank_transfer")
    with explained_hang("balances() and transfer() in two threads never finished: a deadlock between them?"):
        got = impl.run(snapshots, timeout=hang_limit(impl))
    wrong = []
    if got["paused"] and got["returned_during"]:
        wrong.append("balances() returned while transfer('a', 'b', 30) held both accounts' locks, in the middle "
                     f"of its step (it gave {shown(got['during'])}): it must wait for the transfer, by holding "
                     "every account's lock while it reads")
    before, after = {"a": 100, "b": 100, "c": 100}, {"a": 70, "b": 130, "c": 100}
    if got["between"] not in (before, after):
        wrong.append(f"with transfer('a', 'b', 30) running while balances() was reading, balances() gave "
                     f"{shown(got['between'])}: that is neither a=100, b=100, c=100 (before) nor a=70, b=130, "
                     "c=100 (after), so the transfer was half seen. Hold every account's lock for the whole read, "
                     "not one at a time")
    fail_if_any(wrong)


def two_transfers(module, balances, first, second, rule):
    """Run bank.transfer(*first) and bank.transfer(*second) in two threads, with locks that
    steer them (an action ["balances"] calls bank.balances() instead). rule "hold_then_meet": a thread's 2nd acquire waits until the other thread
    holds a lock or is about to block on one - the classic a->b / b->a interleaving.
    rule "meet_first": neither thread takes its 1st lock before both have asked for one."""
    import threading
    cond = threading.Condition()
    players, asked, engaged, done, count = set(), set(), set(), set(), {}

    class SteeredLock:
        def __init__(self):
            self._lock = threading.Lock()

        def acquire(self, blocking=True, timeout=-1):
            me = threading.get_ident()
            if me in players:
                with cond:
                    count[me] = n = count.get(me, 0) + 1
                    asked.add(me)
                    cond.notify_all()
                    others = players - {me}
                    if rule == "hold_then_meet" and n == 2:       # (or the other finished without a lock)
                        cond.wait_for(lambda: (engaged | done) & others)
                    if rule == "meet_first" and n == 1:
                        cond.wait_for(lambda: others <= asked | done)
            got = self._lock.acquire(False)
            if me in players:
                with cond:
                    engaged.add(me)       # holds this lock, or is about to block on it
                    cond.notify_all()
            return got or self._lock.acquire(blocking, timeout)

        def release(self):
            self._lock.release()

        def locked(self):
            return self._lock.locked()

        def __enter__(self):
            self.acquire()
            return self

        def __exit__(self, *exc):
            self.release()

    bank = module.Bank(balances, lock_factory=SteeredLock)
    start = threading.Barrier(2)
    outcome = {}

    def run(args):
        players.add(threading.get_ident())
        start.wait()                      # both registered before either touches a lock
        name = "".join(args[:2])
        try:
            if args == ["balances"]:
                bank.balances()
            else:
                bank.transfer(*args)
            outcome[name] = "ok"
        except Exception as exc:
            outcome[name] = type(exc).__name__
        finally:
            with cond:
                done.add(threading.get_ident())
                cond.notify_all()

    threads = [threading.Thread(target=run, args=(args,)) for args in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    players.clear()                       # balances() below runs unsteered
    return {"outcome": outcome, "balances": bank.balances()}


@task("02.3")
@pytest.mark.parametrize("first, second", [(("a", "b", 10), ("b", "a", 20)), (("b", "a", 20), ("a", "b", 10))])
def test_opposite_transfers_cannot_deadlock(exercise, first, second):
    """a->b and b->a at the same moment, each holding its first lock: no deadlock"""
    impl = exercise("bank_transfer")
    with explained_hang(f"transfer{first} and transfer{second}, run at the same time, never finished: each thread "
                        "probably holds one account's lock and waits forever for the other's (a deadlock)."):
        got = impl.run(two_transfers, {"a": 100, "b": 100}, first, second, "hold_then_meet", timeout=hang_limit(impl))
    said = ", ".join(f"{k[0]}->{k[1]} " + ("went through" if v == "ok" else f"raised {v}") for k, v in got["outcome"].items())
    assert got["outcome"] == {"ab": "ok", "ba": "ok"}, f"both transfers should go through, but {said}"
    assert got["balances"] == {"a": 110, "b": 90}, \
        f"from a=100, b=100, a->b 10 and b->a 20 should leave a=110, b=90, got {shown(got['balances'])}"


@task("02.3")
def test_no_overdraft_when_two_transfers_race(exercise):
    """Two transfers that each need all of a's money, at once: exactly one goes through"""
    impl = exercise("bank_transfer")
    with explained_hang("two transfers out of account 'a', run at the same time, never finished (a deadlock?)"):
        got = impl.run(two_transfers, {"a": 100, "b": 0, "c": 0}, ("a", "b", 100), ("a", "c", 100), "meet_first",
                       timeout=hang_limit(impl))
    outcomes = sorted(got["outcome"].values())
    b = got["balances"]
    said = ", ".join(f"{k[0]}->{k[1]} " + ("went through" if v == "ok" else f"raised {v}") for k, v in got["outcome"].items())
    assert outcomes == ["ValueError", "ok"] and b["a"] == 0 and b["b"] + b["c"] == 100, \
        (f"from a=100, transfers a->b 100 and a->c 100 at once: one must go through and the other raise "
         f"ValueError; here {said}, leaving {shown(b)}. Check the balance while both locks are held, "
         "and before any money moves")


def many_transfers(module, balances, plan):
    import sys
    import threading
    sys.setswitchinterval(1e-6)           # switch as often as CPython can
    bank = module.Bank(balances)
    start = threading.Barrier(len(plan))
    errors = []

    def run(transfers):
        start.wait()
        for source, target, amount in transfers:
            try:
                bank.transfer(source, target, amount)
            except Exception as exc:
                errors.append(f"transfer({source!r}, {target!r}, {amount}) raised {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(transfers,)) for transfers in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"balances": bank.balances(), "errors": errors[:3]}


@task("02.3")
def test_concurrent_transfers_add_up(exercise):
    """4 threads x 250 random transfers at once: every balance comes out exact"""
    rng = random.Random(2026)
    names = "abcde"
    balances = {n: 10_000 for n in names}      # no transfer can fail: at most 9 * 1000 leaves an account
    # Only a->b, b->c, c->d and d->e: the threads contend for every shared account, but no lock
    # order can deadlock here (a deadlock needs a cycle of accounts, or one pair taken both ways),
    # so this test's verdict is about exact balances alone; the lock-order tests above are exact.
    edges = [[x, y] for x, y in zip(names, names[1:])]
    plan = [[rng.choice(edges) + [rng.randint(1, 9)] for _ in range(250)] for _ in range(4)]
    expected = dict(balances)
    for transfers in plan:
        for source, target, amount in transfers:
            expected[source] -= amount
            expected[target] += amount
    impl = exercise("bank_transfer")
    with explained_hang("4 threads making random transfers never finished: probably a deadlock"):
        got = impl.run(many_transfers, balances, plan, timeout=hang_limit(impl))
    assert not got["errors"], "transfers with enough money were refused:\n" + "\n".join(got["errors"])
    assert got["balances"] == expected, \
        f"after 1000 transfers from 4 threads the balances should be {shown(expected)}, got {shown(got['balances'])}"


@task("02.3")
def test_balances_and_a_transfer_cannot_deadlock(exercise):
    """balances() takes the locks in transfer's order, whatever order the accounts were opened in"""
    impl = exercise("bank_transfer")
    opened = {"b": 100, "a": 100}                  # opened b first: not the order of the names
    with explained_hang("balances() and transfer('a', 'b', 10), run at the same time on accounts opened as b, a, "
                        "never finished: probably each holds one lock and waits for the other's (a deadlock). "
                        "balances() must take the locks in the same order as transfer(), by account name, "
                        "not in the order the accounts were opened."):
        got = impl.run(two_transfers, opened, ["balances"], ("a", "b", 10), "hold_then_meet", timeout=hang_limit(impl))
    assert got["outcome"] == {"balances": "ok", "ab": "ok"}, \
        f"balances() and transfer('a', 'b', 10) at the same time should both succeed, got {got['outcome']}"
    assert got["balances"] == {"a": 90, "b": 110}, \
        f"from a=100, b=100, transfer('a', 'b', 10) should leave a=90, b=110, got {shown(got['balances'])}"


# ---------------------------------------------------------------- 02.4 ordered process map

# The functions the workers run. A spawned worker can only run a function it can import, so
# each scenario writes this module into a temporary folder on sys.path (which spawn and
# forkserver pass on to their workers).
#
# Gates force the order in which chunks finish, without sleeping and without racing: an item
# may wait on gates (a shared flock on a file the caller holds locked), and an item's result
# may open gates. A result opens its gates when it is unpickled, which happens only in the
# caller, once the reply that carries it has arrived. So "chunk 0 waits for the gates that
# the other chunks' results open" means chunk 0 finishes after every other chunk's results
# have reached ordered_map, on any machine and however busy it is.
PROBE = '''
import fcntl
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
_held = {}      # in the caller: gate -> the descriptor that holds it locked


def _gate(gate):
    return os.path.join(HERE, "gate-" + gate)


def hold(gates):
    """In the caller, before a call: lock every gate, so that items that wait on one block."""
    for gate in gates:
        fd = os.open(_gate(gate), os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _held[gate] = fd


def open_gates(gates):
    for gate in gates:
        fd = _held.pop(gate, None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _arrived(value, gates):
    """Unpickling a marked result: it has reached the caller, so its gates open."""
    open_gates(gates)
    return value


class _Opens:
    def __init__(self, value, gates):
        self.value, self.gates = value, gates

    def __reduce__(self):
        return _arrived, (self.value, self.gates)


def _gated(x, compute):
    with open(os.path.join(HERE, "plan.json")) as f:
        plan = json.load(f)
    key = json.dumps(x)
    opens = plan["open"].get(key, [])
    if os.getpid() == plan["caller"]:   # computed in the caller (a bug the tests report): no gates
        open_gates(opens)
        return compute(x)
    for gate in plan["wait"].get(key, []):
        fd = os.open(_gate(gate), os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_SH)  # blocks until the caller opens the gate
        os.close(fd)
    value = compute(x)
    return _Opens(value, opens) if opens else value


def tag(x):
    """x and the pid of the process that computed it."""
    return _gated(x, lambda x: [x, os.getpid()])


def _times_ten(x):
    if x < 0:
        raise ValueError(f"negative item {x}")
    return x * 10


def times_ten(x):
    return _gated(x, _times_ten)
'''


def no_gates():
    """A plan of gates: which items wait on which gates, and which items' results open them."""
    return {"wait": {}, "open": {}}


def key(x):
    return json.dumps(x)         # how the probe names an item


def chunk_starts(items, chunksize):
    return list(range(0, len(items), chunksize))


def in_order(items, chunksize):
    """Each chunk's first item waits until the previous chunk's results have reached the caller:
    chunks finish in order, so these calls test everything but the order (one test does that)."""
    plan = no_gates()
    starts = chunk_starts(items, chunksize)
    for k, start in enumerate(starts[1:], 1):
        plan["wait"][key(items[start])] = [str(k)]
        for x in items[starts[k - 1]:start]:
            plan["open"][key(x)] = [str(k)]
    return plan


def first_chunk_last(items, chunksize):
    """The first chunk's first item waits until every other chunk's results have reached the caller."""
    plan = no_gates()
    starts = chunk_starts(items, chunksize)
    if len(starts) < 2:
        return plan
    plan["wait"][key(items[0])] = [str(k) for k in range(1, len(starts))]
    for k, start in enumerate(starts[1:], 1):
        for x in items[start:start + chunksize]:
            plan["open"][key(x)] = [str(k)]
    return plan


def map_in_workers(module, probe, calls, start_method="spawn"):
    """Run module.ordered_map(probe.<func>, items, workers, chunksize, start_method) for each
    call, with its gates; count the worker processes each one starts, and those alive after it."""
    import json
    import multiprocessing
    import multiprocessing.context as context
    import multiprocessing.pool
    import os
    import shutil
    import sys
    import tempfile
    import concurrent.futures.process

    def off_limits(name):
        def refuse(self, *args, **kwargs):
            raise RuntimeError(f"task 02.4 builds its own pool from Process and Queue; {name} is off limits")
        return refuse

    # Restored in the finally below: a call must leave the process as it found it, so that the
    # scenario means the same wherever it runs (bench/_floor.py runs every call in one process).
    real_inits = [(multiprocessing.pool.Pool, multiprocessing.pool.Pool.__init__),
                  (concurrent.futures.process.ProcessPoolExecutor,
                   concurrent.futures.process.ProcessPoolExecutor.__init__)]
    multiprocessing.pool.Pool.__init__ = off_limits("multiprocessing.Pool")
    concurrent.futures.process.ProcessPoolExecutor.__init__ = off_limits("concurrent.futures.ProcessPoolExecutor")

    folder = tempfile.mkdtemp(prefix="probe-02-4-")
    with open(os.path.join(folder, "probe_02_4.py"), "w") as f:
        f.write(probe)
    sys.path.insert(0, folder)
    import probe_02_4

    kind = {"spawn": context.SpawnProcess, "forkserver": context.ForkServerProcess}[start_method]
    real_popen = kind._Popen
    started = []

    def counting_popen(process_obj):
        started.append(1)
        return real_popen(process_obj)

    kind._Popen = staticmethod(counting_popen)
    out = []
    try:
        for n, (func, items, workers, chunksize, plan) in enumerate(calls):
            # gates are named per call, so that nothing one call leaves behind reaches the next
            plan = {"caller": os.getpid(),
                    "wait": {k: [f"{n}-{g}" for g in v] for k, v in plan["wait"].items()},
                    "open": {k: [f"{n}-{g}" for g in v] for k, v in plan["open"].items()}}
            with open(os.path.join(folder, "plan.tmp"), "w") as f:
                json.dump(plan, f)
            os.replace(os.path.join(folder, "plan.tmp"), os.path.join(folder, "plan.json"))
            probe_02_4.hold({g for gates in plan["wait"].values() for g in gates})
            started.clear()
            try:
                value = module.ordered_map(getattr(probe_02_4, func), items, workers, chunksize, start_method)
                error = None
            except (ValueError, ZeroDivisionError) as exc:
                value, error = None, [type(exc).__name__, str(exc)]
            finally:
                probe_02_4.open_gates(list(probe_02_4._held))   # a wrong map may not have read every reply
            out.append({"value": value, "error": error, "started": len(started),
                        "alive_after": len(multiprocessing.active_children())})
    finally:
        kind._Popen = staticmethod(real_popen)
        for cls, init in real_inits:
            cls.__init__ = init
        shutil.rmtree(folder, ignore_errors=True)
    return {"calls": out, "caller": os.getpid()}


def run_map(impl, calls, start_method="spawn", gates=in_order):
    """map_in_workers() in a child, each call (func, items, workers, chunksize) with the gates
    `gates` makes for it; a hang is explained, not just reported."""
    __tracebackhide__ = True
    calls = [[func, items, workers, chunksize, gates(items, chunksize)] for func, items, workers, chunksize in calls]
    with explained_hang("ordered_map() never returned. In this test an item's work can wait until other chunks' "
                        "results have reached ordered_map: those chunks must go to another worker through the one "
                        "shared task queue (a chunk handed to a worker in advance may sit behind the waiting one), "
                        "and their replies must be read. If the caller waits in join(): a worker never got its "
                        "sentinel, or still holds results that nobody read."):
        return impl.run(map_in_workers, PROBE, calls, start_method, timeout=hang_limit(impl))


@task("02.4")
def test_chunks_remember_where_they_start(exercise):
    """chunks() cuts the items into runs of `size`, each with the index it starts at"""
    om = exercise("ordered_map")
    check_table(om, "chunks", [
        ([1, 2, 3, 4, 5], 2, [[0, [1, 2]], [2, [3, 4]], [4, [5]]]),
        (list("abcdef"), 3, [[0, ["a", "b", "c"]], [3, ["d", "e", "f"]]]),
        ([7, 8, 9], 10, [[0, [7, 8, 9]]]),
        ([7, 8], 1, [[0, [7]], [1, [8]]]),
        ([], 4, []),
    ], "chunks(items, size) pairs each run of `size` items with the index of its first item")
    check_raises(om, "chunks", [([1, 2], 0), ([1, 2], -1)])


def work_loop_by_hand(module, tasks):
    """Run module.work_loop in this process on a queue holding `tasks`; report the replies it put
    and the tasks it left."""
    import queue

    class Queue(queue.Queue):         # the parts of multiprocessing.Queue a worker may call
        def close(self):
            pass

        def join_thread(self):
            pass

        def cancel_join_thread(self):
            pass

    def times_ten(x):
        if x < 0:
            raise ValueError(f"negative item {x}")
        return x * 10

    todo, results = Queue(), Queue()
    for t in tasks:
        todo.put(None if t is None else (t[0], t[1]) if isinstance(t, list) else t)
    module.work_loop(times_ten, todo, results)
    replies = []
    while not results.empty():
        reply = results.get()
        try:
            start, values, exc = reply
        except (TypeError, ValueError):
            replies.append(["not a (start, values, exception) triple", repr(reply)])
            continue
        replies.append([start, values, None if exc is None else [type(exc).__name__, str(exc)]])
    left = []
    while not todo.empty():
        left.append(todo.get())
    return {"replies": replies, "left": left}


@task("02.4")
def test_work_loop_answers_every_task_until_the_sentinel(exercise):
    """work_loop() puts (start, values, None) or (start, None, exception) per task, and stops at None"""
    impl = exercise("ordered_map")
    tasks = [[0, [1, 2]], [2, [-3, 4]], [4, [5]], None, "a task for the next worker"]
    with explained_hang("work_loop() never returned: it must stop when it takes the sentinel None"):
        got = impl.run(work_loop_by_hand, tasks, timeout=hang_limit(impl))
    expected = [[0, [10, 20], None], [2, None, ["ValueError", "negative item -3"]], [4, [50], None]]
    problems = [f"for the task {tuple(t)} it should put {tuple(e)}, it put " + (f"{tuple(g)}" if g else "nothing")
                for t, e, g in zip(tasks, expected, got["replies"] + [None] * 3) if g != e]
    if len(got["replies"]) > 3:
        problems.append(f"it put {len(got['replies'])} replies for 3 tasks: {got['replies']}")
    if got["left"] != ["a task for the next worker"]:
        problems.append(f"it should stop at the sentinel None and leave what follows to the other workers; "
                        f"the queue was left holding {got['left']}")
    fail_if_any(problems, "work_loop(times_ten, tasks, results) with the tasks (0, [1, 2]), (2, [-3, 4]), (4, [5]), "
                          "None on the queue, where times_ten raises ValueError for a negative item:")


@task("02.4")
def test_same_results_as_a_list_comprehension(exercise):
    """Under spawn, ordered_map(f, items) equals [f(x) for x in items], for any chunk size"""
    calls = [["times_ten", list(range(23)), 2, 4], ["times_ten", [5, 3, 9, 1, 0], 3, 1],
             ["times_ten", [4, 2], 4, 10], ["times_ten", [], 2, 3]]
    for (_, items, workers, chunksize), r in zip(calls, run_map(exercise("ordered_map"), calls)["calls"]):
        call = f"ordered_map(times_ten, {items}, workers={workers}, chunksize={chunksize})"
        assert r["error"] is None, f"{call} raised {r['error'][0]}: {r['error'][1]}"
        assert r["value"] == [x * 10 for x in items], f"{call} should be {[x * 10 for x in items]}, got {r['value']}"
        assert r["alive_after"] == 0, f"{call} returned with {r['alive_after']} worker process(es) still alive: join them"


@task("02.4")
def test_forkserver_works_too(exercise):
    """The same pool works with the forkserver start method"""
    calls = [["tag", list(range(8)), 2, 3]]
    got = run_map(exercise("ordered_map"), calls, "forkserver")
    r = got["calls"][0]
    call = "ordered_map(tag, range(8), workers=2, chunksize=3, start_method='forkserver')"
    assert r["error"] is None, f"{call} raised {r['error'][0]}: {r['error'][1]}"
    assert [x for x, _ in r["value"]] == list(range(8)), f"{call} gave back {[x for x, _ in r['value']]}"
    assert r["started"] == 2 and got["caller"] not in {pid for _, pid in r["value"]}, \
        f"{call} should compute in 2 forkserver workers; it started {r['started']}"


@task("02.4")
def test_bad_arguments_start_nothing(exercise):
    """workers < 1 or chunksize < 1 raise ValueError before any process starts"""
    calls = [["times_ten", [1, 2], 0, 1], ["times_ten", [1, 2], 2, 0]]
    for (_, items, workers, chunksize), r in zip(calls, run_map(exercise("ordered_map"), calls, gates=lambda *_: no_gates())["calls"]):
        call = f"ordered_map(times_ten, {items}, workers={workers}, chunksize={chunksize})"
        assert r["error"] is not None and r["error"][0] == "ValueError", f"{call} should raise ValueError"
        assert r["started"] == 0, f"{call} started {r['started']} processes before refusing"


# The three tests below make chunks finish out of order, which needs a second worker to be free
# while the first waits: a map that cannot do that hangs, so they come last.

def later_failure_first(items, chunksize):
    """The chunk holding -2 waits until the chunk after -4's has answered: the other worker,
    which answers in order, has then sent -4's failure first."""
    plan = no_gates()
    starts = chunk_starts(items, chunksize)
    chunk_of = {x: s for s in starts for x in items[s:s + chunksize]}
    after = next(s for s in starts if s > chunk_of[-4])
    plan["wait"][key(items[chunk_of[-2]])] = ["a"]
    for x in items[after:after + chunksize]:
        plan["open"][key(x)] = ["a"]
    return plan


@task("02.4")
def test_work_runs_in_spawned_workers_one_chunk_each(exercise):
    """min(workers, chunks) spawned workers do the work, each chunk in one worker"""
    calls = [["tag", list(range(12)), 3, 4], ["tag", list(range(6)), 4, 3], ["tag", [], 2, 1]]
    # While the first chunk's first item waits for the other chunks, its second item can only be
    # computed by another worker if it travels on its own: a chunk split up is caught every run.
    got = run_map(exercise("ordered_map"), calls, gates=first_chunk_last)
    for (_, items, workers, chunksize), r in zip(calls, got["calls"]):
        call = f"ordered_map(tag, range({len(items)}), workers={workers}, chunksize={chunksize})"
        n_chunks = -(-len(items) // chunksize)
        assert r["error"] is None, f"{call} raised {r['error'][0]}: {r['error'][1]}"
        assert r["started"] == min(workers, n_chunks), \
            f"{call} started {r['started']} spawn worker processes; expected min(workers, chunks) = {min(workers, n_chunks)}"
        pid_of = {x: pid for x, pid in r["value"]}
        assert sorted(pid_of) == items and len(r["value"]) == len(items), \
            f"{call} gave back results for {sorted(x for x, _ in r['value'])}, not one for each of the items"
        assert got["caller"] not in pid_of.values(), f"{call} computed some items in the calling process, not in a worker"
        for start in range(0, len(items), chunksize):
            chunk = items[start:start + chunksize]
            assert len({pid_of[x] for x in chunk}) == 1, \
                (f"{call}: items {chunk[0]}..{chunk[-1]} form one chunk, but several processes computed them: "
                 "send each chunk as one task")
        assert r["alive_after"] == 0, f"{call} returned with worker processes still alive: join them"


@task("02.4")
def test_a_workers_exception_is_raised_in_the_caller(exercise):
    """If func raises in a worker, ordered_map raises it - the first failing item's - and leaves no worker behind"""
    items = [0, 1, -2, 3, -4, 5, 6, 7]
    calls = [["times_ten", items, 2, 1], ["times_ten", items, 2, 2]]
    for (_, items, workers, chunksize), r in zip(calls, run_map(exercise("ordered_map"), calls, gates=later_failure_first)["calls"]):
        call = f"ordered_map(times_ten, {items}, workers={workers}, chunksize={chunksize})"
        assert r["error"] == ["ValueError", "negative item -2"], \
            (f"{call}, where -4's failure reaches the caller before -2's, should raise ValueError('negative item -2'): "
             "the failure of the first failing item in the order of the items, whenever it arrives; "
             + (f"it raised {r['error'][0]}('{r['error'][1]}')" if r["error"] else f"it returned {r['value']}"))
        assert r["alive_after"] == 0, f"{call} raised with worker processes still alive: join them first"


@task("02.4")
def test_order_kept_when_chunks_finish_out_of_order(exercise):
    """The first chunk finishes last, yet the results come back in input order"""
    calls = [["tag", list(range(6)), 2, 1], ["tag", list(range(10)), 3, 2]]
    got = run_map(exercise("ordered_map"), calls, gates=first_chunk_last)
    for (_, items, workers, chunksize), r in zip(calls, got["calls"]):
        call = f"ordered_map(tag, range({len(items)}), workers={workers}, chunksize={chunksize})"
        assert r["error"] is None, f"{call} raised {r['error'][0]}: {r['error'][1]}"
        values = [x for x, _ in r["value"]]
        assert values == items, \
            (f"in {call} the first chunk finished only after every other chunk's results had reached ordered_map, "
             f"and the results came back as {values}: put each chunk's results back at the index it starts at")


# ---------------------------------------------------------------- 02.5 GIL hand-off simulation

def check_traces(impl, cases, what):
    """Each case is (threads, interval, force_switching, expected trace): compare event by event."""
    __tracebackhide__ = True
    got = impl.run(call_each, "simulate_gil", [list(case[:3]) for case in cases])
    for (threads, interval, force, expected), trace in zip(cases, got):
        call = f"simulate_gil({threads}, interval={interval}, force_switching={force})"
        expected = [list(e) for e in expected]
        if trace == expected:
            continue
        k = next((i for i, (a, b) in enumerate(zip(trace, expected)) if a != b), min(len(trace), len(expected)))
        shown = "\n".join(f"  {i:2}  {'->' if i == k else '  '} got {tuple(trace[i]) if i < len(trace) else '(nothing)'}"
                          f"   expected {tuple(expected[i]) if i < len(expected) else '(nothing)'}"
                          for i in range(max(0, k - 2), min(max(len(trace), len(expected)), k + 3)))
        raise AssertionError(f"{what}\n{call}: the traces differ from event {k} on:\n{shown}")


CPU2 = [[["cpu", 3]], [["cpu", 2]]]


@task("02.5")
def test_single_thread_never_waits(exercise):
    """One thread: it takes the GIL, releases it for I/O, takes it back after, and exits"""
    check_traces(exercise("gil_handoff"), [
        ([[["cpu", 3], ["io", 2], ["cpu", 1]]], 5, True,
         [(0, 0, "take"), (3, 0, "io"), (5, 0, "take"), (6, 0, "exit")]),
        ([[["cpu", 2], ["io", 4]]], 5, True,                 # after its last I/O it takes the GIL to exit
         [(0, 0, "take"), (2, 0, "io"), (6, 0, "take"), (6, 0, "exit")]),
        ([[["cpu", 2], ["cpu", 3]]], 1, True,                # two cpu bursts in a row are one
         [(0, 0, "take"), (5, 0, "exit")]),
        ([], 5, True, []),
    ], "with one thread there is nobody to wait for")


@task("02.5")
def test_two_cpu_threads_hand_over_after_one_interval(exercise):
    """Two CPU-bound threads: the waiter asks after one interval, the holder drops, the waiter takes"""
    check_traces(exercise("gil_handoff"), [
        (CPU2, 2, True, [(0, 0, "take"), (0, 1, "wait"), (2, 1, "request"), (2, 0, "drop"), (2, 1, "take"),
                         (2, 0, "wait"), (4, 1, "exit"), (4, 0, "take"), (5, 0, "exit")]),
        (CPU2, 5, True, [(0, 0, "take"), (0, 1, "wait"), (3, 0, "exit"), (3, 1, "take"), (5, 1, "exit")]),
        ([[["cpu", 12]], [["cpu", 3]]], 5, True,
         [(0, 0, "take"), (0, 1, "wait"), (5, 1, "request"), (5, 0, "drop"), (5, 1, "take"), (5, 0, "wait"),
          (8, 1, "exit"), (8, 0, "take"), (15, 0, "exit")]),
        ([[["cpu", 6]], [["cpu", 6]]], 4, True,             # each resumes where it was dropped
         [(0, 0, "take"), (0, 1, "wait"), (4, 1, "request"), (4, 0, "drop"), (4, 1, "take"), (4, 0, "wait"),
          (8, 0, "request"), (8, 1, "drop"), (8, 0, "take"), (8, 1, "wait"), (10, 0, "exit"), (10, 1, "take"),
          (12, 1, "exit")]),
    ], "take_gil() waits one interval, then sets the drop request; the holder drops at once")


@task("02.5")
def test_three_threads_take_turns(exercise):
    """Three threads: the longest waiter takes the GIL, and a waiter that saw a switch does not ask"""
    check_traces(exercise("gil_handoff"), [
        ([[["cpu", 7]]] * 3, 5, True,
         [(0, 0, "take"), (0, 1, "wait"), (0, 2, "wait"),
          (5, 1, "request"), (5, 2, "request"), (5, 0, "drop"), (5, 1, "take"), (5, 0, "wait"),
          (10, 0, "request"), (10, 1, "drop"), (10, 2, "take"), (10, 1, "wait"),
          (15, 1, "request"), (15, 2, "drop"), (15, 0, "take"), (15, 2, "wait"),
          (17, 0, "exit"), (17, 1, "take"), (19, 1, "exit"), (19, 2, "take"), (21, 2, "exit")]),
    ], "at 10, thread 2 (waiting since 0) has seen the switch at 5, so only thread 0 asks, "
       "and thread 2, first in line, takes the GIL")


@task("02.5")
def test_io_releases_the_gil(exercise):
    """A thread doing I/O releases the GIL; coming back, it waits a whole interval for a CPU-bound holder"""
    check_traces(exercise("gil_handoff"), [
        ([[["io", 1], ["cpu", 1]] * 3, [["cpu", 40]]], 5, True,
         [(0, 0, "take"), (0, 1, "wait"), (0, 0, "io"), (0, 1, "take"),
          (1, 0, "wait"), (6, 0, "request"), (6, 1, "drop"), (6, 0, "take"), (6, 1, "wait"),
          (7, 0, "io"), (7, 1, "take"),
          (8, 0, "wait"), (13, 0, "request"), (13, 1, "drop"), (13, 0, "take"), (13, 1, "wait"),
          (14, 0, "io"), (14, 1, "take"),
          (15, 0, "wait"), (20, 0, "request"), (20, 1, "drop"), (20, 0, "take"), (20, 1, "wait"),
          (21, 0, "exit"), (21, 1, "take"), (43, 1, "exit")]),
        ([[["cpu", 2], ["io", 3], ["cpu", 2]], [["cpu", 4]]], 10, True,    # I/O lets the other run, no request needed
         [(0, 0, "take"), (0, 1, "wait"), (2, 0, "io"), (2, 1, "take"), (5, 0, "wait"), (6, 1, "exit"),
          (6, 0, "take"), (8, 0, "exit")]),
    ], "the I/O burst releases the GIL (\"io\"), and the thread calls take_gil() when it ends")


@task("02.5")
def test_without_force_switching_the_dropper_takes_it_back(exercise):
    """Without FORCE_SWITCHING the dropper takes the GIL straight back: the waiter starves"""
    check_traces(exercise("gil_handoff"), [
        ([[["cpu", 12]], [["cpu", 3]]], 5, False,
         [(0, 0, "take"), (0, 1, "wait"), (5, 1, "request"), (5, 0, "drop"), (5, 0, "take"),
          (10, 1, "request"), (10, 0, "drop"), (10, 0, "take"), (12, 0, "exit"), (12, 1, "take"), (15, 1, "exit")]),
        ([[["cpu", 7]]] * 3, 5, False,
         [(0, 0, "take"), (0, 1, "wait"), (0, 2, "wait"), (5, 1, "request"), (5, 2, "request"), (5, 0, "drop"),
          (5, 0, "take"), (7, 0, "exit"), (7, 2, "take"), (14, 2, "exit"), (14, 1, "take"), (21, 1, "exit")]),
        # thread 2, woken for nothing at 3, starts a new wait there: it checks at 5 (and sees the switch
        # at 4), not at 4 and 6 as its first wait would have
        ([[["io", 1], ["cpu", 3]], [["cpu", 4]], [["cpu", 2]]], 2, False,
         [(0, 0, "take"), (0, 1, "wait"), (0, 2, "wait"), (0, 0, "io"), (0, 1, "take"), (1, 0, "wait"),
          (3, 0, "request"), (3, 1, "drop"), (3, 1, "take"), (4, 1, "exit"), (4, 0, "take"), (7, 0, "exit"),
          (7, 2, "take"), (9, 2, "exit")]),
    ], "without FORCE_SWITCHING the dropper wins the race to take_gil(); the woken waiter goes to the back "
       "of the line and begins a new wait, so its next check is one interval after the drop")


@task("02.5")
def test_each_check_compares_with_the_previous_one(exercise):
    """A waiter that saw a switch at one check asks at its next check if no switch came in between"""
    check_traces(exercise("gil_handoff"), [
        # thread 2 waits from 0; at 5 it sees the switch of 1 (0 -> 1); at 10 nothing has changed since 5
        ([[["cpu", 1]], [["cpu", 12]], [["cpu", 2]]], 5, True,
         [(0, 0, "take"), (0, 1, "wait"), (0, 2, "wait"), (1, 0, "exit"), (1, 1, "take"),
          (10, 2, "request"), (10, 1, "drop"), (10, 2, "take"), (10, 1, "wait"), (12, 2, "exit"), (12, 1, "take"),
          (15, 1, "exit")]),
        ([[["cpu", 1]], [["cpu", 12]], [["cpu", 2]]], 5, False,
         [(0, 0, "take"), (0, 1, "wait"), (0, 2, "wait"), (1, 0, "exit"), (1, 1, "take"),
          (10, 2, "request"), (10, 1, "drop"), (10, 1, "take"), (13, 1, "exit"), (13, 2, "take"), (15, 2, "exit")]),
        # a waiter whose request was not answered with a switch keeps checking, and asks again
        ([[["cpu", 5], ["cpu", 4]], [["cpu", 1]], [["cpu", 2]]], 3, False,
         [(0, 0, "take"), (0, 1, "wait"), (0, 2, "wait"), (3, 1, "request"), (3, 2, "request"), (3, 0, "drop"),
          (3, 0, "take"), (6, 1, "request"), (6, 2, "request"), (6, 0, "drop"), (6, 0, "take"), (9, 0, "exit"),
          (9, 1, "take"), (10, 1, "exit"), (10, 2, "take"), (12, 2, "exit")]),
    ], "rule 2: each check compares the switch count with the one seen at the thread's previous check "
       "(or at the start of its wait, if later), not with the count when the wait began; and a waiter "
       "keeps checking every interval, whether or not it asked before")


@task("02.5")
def test_every_thread_starts_in_take_gil(exercise):
    """Rule 1: every thread takes the GIL before its first burst, even one that starts with I/O"""
    check_traces(exercise("gil_handoff"), [
        ([[["cpu", 2]], [["io", 1]]], 3, True,
         [(0, 0, "take"), (0, 1, "wait"), (2, 0, "exit"), (2, 1, "take"), (2, 1, "io"), (3, 1, "take"),
          (3, 1, "exit")]),
    ], "at time 0 every thread calls take_gil(); thread 1 can start its I/O only once it holds the GIL")


@task("02.5")
def test_what_happens_at_one_instant_happens_in_order(exercise):
    """Rule 7: at one instant, the holder's burst ends, then I/O ends (in thread order), then checks"""
    check_traces(exercise("gil_handoff"), [
        # at 2 thread 1's burst ends (it exits) before thread 0's I/O ends: thread 0 finds the GIL free, no wait
        ([[["io", 2], ["cpu", 3]], [["cpu", 2]]], 2, True,
         [(0, 0, "take"), (0, 1, "wait"), (0, 0, "io"), (0, 1, "take"), (2, 1, "exit"), (2, 0, "take"), (5, 0, "exit")]),
        # at 5 thread 1's I/O ends (its "wait") before thread 0's check (its "request")
        ([[["io", 2], ["cpu", 1]], [["cpu", 1], ["io", 4], ["cpu", 1]], [["cpu", 10]]], 3, True,
         [(0, 0, "take"), (0, 1, "wait"), (0, 2, "wait"), (0, 0, "io"), (0, 1, "take"), (1, 1, "io"), (1, 2, "take"),
          (2, 0, "wait"), (5, 1, "wait"), (5, 0, "request"), (5, 2, "drop"), (5, 0, "take"), (5, 2, "wait"),
          (6, 0, "exit"), (6, 1, "take"), (7, 1, "exit"), (7, 2, "take"), (13, 2, "exit")]),
        # two I/O bursts end at 5 with the GIL free: thread 0's first, so thread 0 takes it
        ([[["io", 5], ["cpu", 1]], [["cpu", 3], ["io", 2], ["cpu", 5]]], 5, True,
         [(0, 0, "take"), (0, 1, "wait"), (0, 0, "io"), (0, 1, "take"), (3, 1, "io"), (5, 0, "take"), (5, 1, "wait"),
          (6, 0, "exit"), (6, 1, "take"), (11, 1, "exit")]),
        # at 4 thread 0 takes the GIL and starts its I/O at once; thread 1, waiting since that take, gets it back
        ([[["io", 1], ["io", 2], ["cpu", 1]], [["cpu", 8]]], 3, True,
         [(0, 0, "take"), (0, 1, "wait"), (0, 0, "io"), (0, 1, "take"), (1, 0, "wait"), (4, 0, "request"),
          (4, 1, "drop"), (4, 0, "take"), (4, 1, "wait"), (4, 0, "io"), (4, 1, "take"), (6, 0, "wait"),
          (8, 1, "exit"), (8, 0, "take"), (9, 0, "exit")]),
    ], "rule 7: at one instant the holder's cpu burst ends first, then I/O bursts end in thread order, "
       "then the checks due run, then the holder notices a request; a thread that takes the GIL goes on at once")


def convoy(module, cases):
    out = []
    for threads, interval, force in cases:
        out.append(module.total_waits(module.simulate_gil(threads, interval, force)))
    return out


@task("02.5")
def test_convoy_effect_costs_an_interval_per_io(exercise):
    """Convoy effect: next to a CPU-bound thread, an I/O thread waits one interval per I/O burst"""
    io10 = [["io", 1], ["cpu", 1]] * 10
    cases = [
        ([io10, [["cpu", 1000]]], 5, True, [50, 10]),     # 10 bursts x interval 5; the hog waits 1 per burst
        ([io10, [["cpu", 1000]]], 2, True, [20, 10]),
        ([io10, [["cpu", 1000]]], 1, True, [10, 10]),
        ([[["io", 3], ["cpu", 1]] * 4, [["cpu", 1000]]], 5, True, [20, 4]),   # whatever the length of the I/O
        ([io10], 5, True, [0]),                           # alone it never waits
        ([io10[:6], [["cpu", 40]]], 5, False, [39, 0]),   # no FORCE_SWITCHING: it waits until the hog ends
    ]
    got = exercise("gil_handoff").run(convoy, [case[:3] for case in cases])
    wrong = [f"simulate_gil({threads}, interval={interval}, force_switching={force}): total_waits "
             f"gave {waits}, expected {expected}" for (threads, interval, force, expected), waits in zip(cases, got)
             if waits != expected]
    assert not wrong, "\n".join(wrong)


@task("02.5")
def test_total_waits_adds_each_wait_to_the_next_take(exercise):
    """total_waits() adds up, per thread, the time from each "wait" to its next "take\""""
    check_table(exercise("gil_handoff"), "total_waits", [
        ([[0, 0, "take"], [0, 1, "wait"], [2, 1, "request"], [2, 0, "drop"], [2, 1, "take"], [2, 0, "wait"],
          [4, 1, "exit"], [4, 0, "take"], [5, 0, "exit"]], [2, 2]),
        ([[0, 0, "take"], [0, 1, "wait"], [0, 2, "wait"], [3, 0, "exit"], [3, 1, "take"], [4, 1, "io"],
          [4, 2, "take"], [6, 1, "wait"], [9, 2, "exit"], [9, 1, "take"], [10, 1, "exit"]], [0, 6, 4]),
        ([[0, 0, "take"], [1, 0, "exit"]], [0]),
        ([], []),
    ], "a thread's wait runs from its \"wait\" event to its next \"take\"")


@task("02.5")
def test_bad_input(exercise):
    """A non-positive interval or duration, an empty script or an unknown burst kind raise ValueError"""
    check_raises(exercise("gil_handoff"), "simulate_gil", [
        ([[["cpu", 1]]], 0), ([[["cpu", 1]]], -5), ([[]], 5), ([[["gpu", 1]]], 5),
        ([[["cpu", 0]]], 5), ([[["io", -1]]], 5), ([[["cpu", 1]], [["cpu", 2], ["io", 0]]], 5),
    ])


# ---------------------------------------------------------------- 02.6 pipeline bug hunt

def pipeline_census(module, cases):
    """census() for run_pipeline, with the work function made here."""
    import threading
    starts = []
    real_start = threading.Thread.start

    def counting_start(self):
        starts.append(self.name)
        return real_start(self)

    out = []
    for items, consumers in cases:
        before = set(threading.enumerate())
        starts.clear()
        threading.Thread.start = counting_start
        try:
            value = module.run_pipeline(items, lambda x: 3 * x + 1, consumers)
        finally:
            threading.Thread.start = real_start
        left = [t.name for t in threading.enumerate() if t not in before]
        out.append({"value": value, "starts": len(starts), "left_alive": left})
    return out


HANG_6 = ("run_pipeline() never returned, so it was stopped. In the stacks below, a thread waiting "
          "in join() waits for a thread that has not ended, and a consumer waiting in get() waits "
          "for something to be put on the queue: will it ever be?")


@task("02.6")
def test_every_consumer_stops(exercise):
    """run_pipeline returns, every consumer thread has ended, and the results are right; consumers < 1 raise"""
    impl = exercise("worker_pipeline")
    cases = [[list(range(10)), 3], [[], 2], [[5, 6], 4], [list(range(7)), 1]]
    with explained_hang(HANG_6):
        got = impl.run(pipeline_census, cases, timeout=hang_limit(impl))
    for (items, consumers), r in zip(cases, got):
        call = f"run_pipeline({items}, lambda x: 3 * x + 1, consumers={consumers})"
        assert r["value"] == [3 * x + 1 for x in items], f"{call} should be {[3 * x + 1 for x in items]}, got {r['value']}"
        assert r["starts"] == consumers, f"{call} started {r['starts']} threads, not {consumers} consumers"
        assert r["left_alive"] == [], f"{call} returned while consumers still ran: {r['left_alive']}"
    refused = impl.run(no_consumers, [0, -1])
    fail_if_any([f"run_pipeline([1, 2], work, consumers={c}) should raise ValueError, "
                 + (f"raised {r}" if r else "but returned") for c, r in zip([0, -1], refused) if r != "ValueError"])


def no_consumers(module, counts):
    out = []
    for consumers in counts:
        try:
            module.run_pipeline([1, 2], abs, consumers)
        except Exception as exc:
            out.append(type(exc).__name__)
        else:
            out.append(None)
    return out


def first_item_finishes_last(module):
    import threading
    last_started = threading.Event()
    items = [30, 10, 50, 0, 40, 20]

    def work(x):
        if x == items[-1]:
            last_started.set()
        if x == items[0]:
            last_started.wait()           # the first item finishes only after the last one started
        return x + 1

    return module.run_pipeline(items, work, 2)


@task("02.6")
def test_results_in_input_order_whoever_finishes_first(exercise):
    """The results come back in the order of the items, though the first item finishes last"""
    impl = exercise("worker_pipeline")
    with explained_hang(HANG_6 + " (Here the first item's work waits until the last item has started, "
                        "so that needs another consumer to be free.)"):
        got = impl.run(first_item_finishes_last, timeout=hang_limit(impl))
    assert got == [31, 11, 51, 1, 41, 21], \
        (f"run_pipeline([30, 10, 50, 0, 40, 20], lambda x: x + 1, consumers=2), where the first item finishes "
         f"last, returned {got}: the results must follow the order of the items, not the order they finish in")
