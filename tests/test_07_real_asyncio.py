"""Graded tests of 07_real_asyncio. Scenarios are module-level functions sent to the child as
source, so each is self-contained; shared helpers travel as a string of source (KIT, plain
data) that the scenario execs.

Every scenario runs the learner's coroutines on real asyncio - its Tasks, TaskGroup, Lock,
Semaphore and timeout() - on the virtual-time loop of src/lessons/virtual_time.py, whose
source KIT carries (src/lessons is not importable in the sandboxed child). On that loop:

* Time is exact and costs nothing: the clock jumps to the next timer as soon as nothing else
  can run, so a 3600 s sleep under a 10 s deadline ends at exactly 10.0 virtual seconds, with
  no real sleeping, whatever the machine's load.
* "Wait until every other task is blocked" is one line: `await asyncio.sleep(1)` returns only
  once nothing else is ready (settle() below). The 07.1 tests steer each coroutine with its own
  asyncio.Event and count how many run at once after each settle(): the peak is counted, not
  timed.
* A wait that nothing can end raises NothingCanWake (a RuntimeError that says so) instead of
  hanging: a Semaphore(0), a Lock never released, an Event nobody sets.

07.3's scenarios start the virtual clock at 1e9 s: a deadline computed from time.monotonic()
instead of loop.time() is then already past on every machine, so it fails the same tests
everywhere (an uptime-dependent verdict would not be).

PYTEST_DONT_REWRITE: a failing assert reads as its message alone.
"""

from pathlib import Path

import pytest

from coursekit.testing import explained_hang

task = pytest.mark.task

VIRTUAL_TIME = (Path(__file__).resolve().parents[1] / "src" / "lessons" / "virtual_time.py").read_text(encoding="utf-8")

# Exec'd at the start of each scenario: loads virtual_time as the module `vt`, then the helpers.
KIT = f"VIRTUAL_TIME = {VIRTUAL_TIME!r}\n" + '''
import asyncio
import sys
import time
import types

vt = types.ModuleType("course_virtual_time")
sys.modules[vt.__name__] = vt
exec(compile(VIRTUAL_TIME, "virtual_time.py", "exec"), vt.__dict__)


def on_virtual_time(main, start=0.0):
    """Run main() on a fresh virtual-time loop whose clock starts at `start`: returns
    {"value" or "error", "elapsed" (virtual seconds), "wall" (real seconds)}."""
    clock = vt.VirtualClock(start)
    wall = time.perf_counter()
    out = {}
    try:
        with asyncio.Runner(loop_factory=lambda: vt.VirtualTimeLoop(clock)) as runner:
            out["value"] = runner.run(main())
    except NotImplementedError:
        raise
    except vt.NothingCanWake as exc:
        out["error"] = "NothingCanWake: " + str(exc)
    out["elapsed"] = clock.now - start
    out["wall"] = time.perf_counter() - wall
    return out


def describe(exc):
    if isinstance(exc, NotImplementedError):
        raise exc
    if isinstance(exc, BaseExceptionGroup):
        return f"{type(exc).__name__}{[describe(e) for e in exc.exceptions]}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def settle():
    """Return once every other task is blocked (the clock jumps only when nothing can run)."""
    await asyncio.sleep(1)


class Jobs:
    """n coroutine functions the test steers: job i counts itself running, waits for gates[i],
    then returns f"r{i}" (or raises fail[i]); a CancelledError it sees is recorded."""
    def __init__(self, n, fail=None):
        self.n, self.fail = n, fail or {}
        self.gates = [asyncio.Event() for _ in range(n)]
        self.running = self.peak = 0
        self.started, self.finished, self.cancelled = [], [], []

    def fns(self):
        return [self.make(i) for i in range(self.n)]

    def make(self, i):
        async def job():
            self.started.append(i)
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                await self.gates[i].wait()
                if i in self.fail:
                    raise self.fail[i]
                self.finished.append(i)
                return f"r{i}"
            except asyncio.CancelledError:
                self.cancelled.append(i)
                raise
            finally:
                self.running -= 1
        return job

    def waiting(self):
        return [i for i in self.started if not self.gates[i].is_set()]

    def report(self):
        return {"started": list(self.started), "finished": list(self.finished),
                "cancelled": sorted(self.cancelled), "running": self.running, "peak": self.peak}


class AuditFailed(Exception):
    pass


class Bank:
    """The bank transfer() is given: balances, and an audit that awaits (call n yields
    `yields(n)` times) and checks that nobody touches the bank while it runs."""
    def __init__(self, balances, yields=lambda n: 3, fail_on=None):
        self.balances = dict(balances)
        self.yields, self.fail_on = yields, fail_on
        self.calls, self.audited, self.problems = [], [], []

    async def audit(self, src, dst, amount):
        self.calls.append([src, dst, amount])
        n = len(self.calls)
        before = dict(self.balances)
        if before[src] < amount:
            self.problems.append(f"audit {n} ({src}->{dst} {amount}) began with {src} holding only "
                                 f"{before[src]}: the money had already moved, or the check had not held")
        for _ in range(self.yields(n)):
            await asyncio.sleep(0)
        if self.balances != before:
            self.problems.append(f"during audit {n} ({src}->{dst} {amount}) the balances changed from "
                                 f"{before} to {self.balances}")
        if n == self.fail_on:
            raise self.failure
        self.audited.append([src, dst, amount])

    failure = AuditFailed("the auditors refused this transfer")
'''


# ---------------------------------------------------------------- 07.1 bounded_gather

def gather_steered(module, kit, cases):
    """For each (n, limit): run bounded_gather over n steered jobs; after every settle, note how
    many run, then release the highest-numbered job that is waiting (finishing order is
    then far from input order). Returns per case: results, snapshots of `running`, peak."""
    exec(kit, globals())

    async def one(n, limit):
        jobs = Jobs(n)
        call = asyncio.ensure_future(module.bounded_gather(jobs.fns(), limit))
        snapshots = []
        stuck = False
        while True:
            await settle()
            if call.done():
                break
            snapshots.append(jobs.running)
            waiting = jobs.waiting()
            if not waiting:
                stuck = True
                call.cancel()
                break
            jobs.gates[max(waiting)].set()
        try:
            value = call.result()
        except BaseException as exc:
            value = describe(exc)
        return {"value": value, "snapshots": snapshots, "stuck": stuck, **jobs.report()}

    async def main():
        return [await one(n, limit) for n, limit in cases]

    return on_virtual_time(main)


def gathered(exercise, cases):
    with explained_hang("bounded_gather never returned, though every job it started was released."):
        got = exercise("bounded_gather").run(gather_steered, KIT, cases)
    assert "error" not in got, f"bounded_gather waited for something that can never happen: {got['error']}"
    return got["value"]


@task("07.1")
def test_results_come_back_in_input_order(exercise):
    """The results are in the order of coro_fns, whatever order the jobs finish in; [] for no jobs"""
    cases = [(5, 5), (6, 10), (0, 3)]
    for (n, limit), got in zip(cases, gathered(exercise, cases)):
        expected = [f"r{i}" for i in range(n)]
        assert got["value"] == expected, (
            f"bounded_gather over {n} jobs with limit={limit}: the test released the jobs highest number "
            f"first, so they finished in the order {got['finished']}; it should return {expected} (the "
            f"order of coro_fns), but returned {got['value']!r}. Keep the tasks in a list in input order "
            f"and read their results after the group exits")


@task("07.1")
def test_exactly_limit_jobs_run_at_once(exercise):
    """While at least `limit` jobs are unfinished, exactly `limit` run; never more"""
    cases = [(7, 3), (4, 10), (3, 1), (5, 2)]
    for (n, limit), got in zip(cases, gathered(exercise, cases)):
        expected = [min(limit, n - k) for k in range(n)]
        assert got["snapshots"] == expected and got["peak"] == min(limit, n), (
            f"bounded_gather over {n} jobs with limit={limit}: the test counted the jobs running after "
            f"everything settled, then let one finish, {n} times. Expected {expected} (exactly "
            f"min(limit, unfinished) at once, a new job starting as soon as one ends); counted "
            f"{got['snapshots']}, peak {got['peak']}. "
            + ("More than limit ran: every job must hold the Semaphore(limit) while it runs."
               if got["peak"] > min(limit, n) else
               "Fewer ran than the limit allows: start every job at once, each waiting on the semaphore."))


def gather_bad_limits(module, kit):
    exec(kit, globals())

    async def main():
        out = []
        for limit in (0, -1):
            jobs = Jobs(3)
            for gate in jobs.gates:
                gate.set()
            try:
                value = await asyncio.wait_for(module.bounded_gather(jobs.fns(), limit), 60)
            except BaseException as exc:
                value = describe(exc)
            out.append({"limit": limit, "value": value, "started": jobs.started})
        return out

    return on_virtual_time(main)


@task("07.1")
def test_limit_below_one_raises_value_error(exercise):
    """limit < 1 raises ValueError before any job starts"""
    got = exercise("bounded_gather").run(gather_bad_limits, KIT)
    assert "error" not in got, f"bounded_gather waited for something that can never happen: {got['error']}"
    for row in got["value"]:
        assert isinstance(row["value"], str) and row["value"].startswith("ValueError"), (
            f"bounded_gather(three jobs, limit={row['limit']}) should raise ValueError (no job could ever "
            f"run: a Semaphore(0) waits forever); it gave {row['value']!r}. Check the limit first")
        assert row["started"] == [], (
            f"bounded_gather(three jobs, limit={row['limit']}) started jobs {row['started']} before raising: "
            f"check the limit before you start anything")


def gather_with_a_failure(module, kit):
    """6 jobs, limit 4, job 0 raises when released: the others still running must be cancelled,
    those waiting for a slot never start (but the one handed job 0's slot may), and the caller
    gets an ExceptionGroup of exactly job 0's error."""
    exec(kit, globals())
    boom = ValueError("job 0 failed")

    async def main():
        jobs = Jobs(6, fail={0: boom})
        call = asyncio.ensure_future(module.bounded_gather(jobs.fns(), 4))
        await settle()
        before = list(jobs.started)
        jobs.gates[0].set()
        for _ in range(3):
            await settle()
        done = call.done()
        if not done:
            call.cancel()
            await asyncio.sleep(0)
        group = None
        try:
            value = call.result()
        except BaseException as exc:
            value = describe(exc)
            if isinstance(exc, BaseExceptionGroup):
                group = {"is_exception_group": isinstance(exc, ExceptionGroup), "count": len(exc.exceptions),
                         "same_object": len(exc.exceptions) == 1 and exc.exceptions[0] is boom}
        return {"done": done, "value": value, "group": group, "started_before": before, **jobs.report()}

    return on_virtual_time(main)


@task("07.1")
def test_first_failure_cancels_the_rest(exercise):
    """A job's exception cancels the running ones, starts no more, and arrives as ExceptionGroup([exc])"""
    with explained_hang("bounded_gather never returned after one of its jobs raised."):
        got = exercise("bounded_gather").run(gather_with_a_failure, KIT)
    assert "error" not in got, f"bounded_gather waited for something that can never happen: {got['error']}"
    got = got["value"]
    running = ", ".join(map(str, got["started_before"][1:])) or "none"
    assert got["done"], (
        f"6 jobs, limit=4; job 0 raised ValueError while jobs {running} waited: bounded_gather should have "
        f"ended, but was still waiting (the other jobs were never cancelled). It gave {got['value']!r} "
        "once the test cancelled it. Run the jobs in an asyncio.TaskGroup: its first failure cancels the rest")
    unfinished = sorted(set(got["started"]) - {0})
    assert got["cancelled"] == unfinished and got["running"] == 0, (
        f"job 0 raised while jobs {running} were running: each job still running should see CancelledError "
        f"at its await; the jobs that saw it were {got['cancelled']}, {got['running']} still running")
    late = [i for i in got["started"] if i not in got["started_before"]]
    assert len(late) <= 1, (
        f"after job 0 failed, jobs {late} started: the jobs waiting for a slot should never start (the one "
        f"handed job 0's slot may, and is then cancelled at once)")
    group = got["group"]
    assert group is not None and group["is_exception_group"] and group["count"] == 1 and group["same_object"], (
        f"bounded_gather should raise an ExceptionGroup holding exactly job 0's ValueError (the very "
        f"object raised), as TaskGroup does; it gave {got['value']!r}")


def gather_cancelled_from_outside(module, kit):
    exec(kit, globals())

    async def main():
        jobs = Jobs(5)
        call = asyncio.ensure_future(module.bounded_gather(jobs.fns(), 2))
        await settle()
        before = list(jobs.started)
        call.cancel()
        for _ in range(3):
            await settle()
        state = "cancelled" if call.cancelled() else "running" if not call.done() else (
            "raised " + describe(call.exception()) if call.exception() else f"returned {call.result()!r}")
        return {"state": state, "started_before": before, **jobs.report()}

    return on_virtual_time(main)


@task("07.1")
def test_cancelling_the_caller_cancels_every_job(exercise):
    """Cancelling the task that awaits bounded_gather cancels the running jobs, starts no more, and propagates"""
    with explained_hang("bounded_gather never returned after its task was cancelled."):
        got = exercise("bounded_gather").run(gather_cancelled_from_outside, KIT)
    assert "error" not in got, f"bounded_gather waited for something that can never happen: {got['error']}"
    got = got["value"]
    running = got["started_before"]
    assert got["state"] == "cancelled", (
        f"the task running bounded_gather(5 jobs, limit=2) was cancelled while jobs {running} ran: it should "
        f"end cancelled; it {got['state']}")
    assert got["cancelled"] == running and got["started"] == running and got["running"] == 0, (
        f"after the caller was cancelled, the running jobs {running} should each see CancelledError and no "
        f"other job start; cancelled: {got['cancelled']}, started: {got['started']}, still running: "
        f"{got['running']}")


# ---------------------------------------------------------------- 07.2 the bank transfer

def transfers(module, kit, balances, moves, yields_top=None, fail_on=None):
    """Start every transfer in `moves` at once (one Task each, one asyncio.Lock for all) on a
    test Bank; return each outcome, the balances, and what the audits saw. With yields_top, audit
    call n yields yields_top - n times: the first audits take longest."""
    exec(kit, globals())

    async def main():
        yields = (lambda n: max(1, yields_top - n)) if yields_top else (lambda n: 3)
        bank = Bank(balances, yields, fail_on)
        lock = asyncio.Lock()
        results = await asyncio.gather(*[module.transfer(bank, src, dst, amount, lock)
                                         for src, dst, amount in moves], return_exceptions=True)
        outcomes = []
        for r in results:
            if isinstance(r, NotImplementedError):
                raise r
            if r is None:
                outcomes.append("ok")
            elif type(r).__name__ == "InsufficientFunds" and type(r) is getattr(module, "InsufficientFunds", None):
                outcomes.append("InsufficientFunds")
            elif r is Bank.failure:
                outcomes.append("the audit's own exception")
            else:
                outcomes.append(describe(r))
        return {"outcomes": outcomes, "balances": bank.balances, "calls": bank.calls,
                "audited": bank.audited, "problems": bank.problems[:4],
                "is_exception": isinstance(getattr(module, "InsufficientFunds", None), type)
                and issubclass(module.InsufficientFunds, Exception)}

    return on_virtual_time(main)


def banked(exercise, *args):
    with explained_hang("transfer() never returned: is the lock released on every path?"):
        got = exercise("async_transfer").run(transfers, KIT, *args)
    assert "error" not in got, (f"the transfers waited for something that can never happen - a lock acquired "
                                f"and never released? {got['error']}")
    return got["value"]


def count(outcomes):
    return {o: outcomes.count(o) for o in sorted(set(outcomes))}


@task("07.2")
def test_fifty_transfers_move_exactly_the_money_there_is(exercise):
    """A=100, B=0, 50 concurrent transfers of 10: 10 succeed, 40 raise InsufficientFunds, A=0, B=100"""
    got = banked(exercise, {"A": 100, "B": 0}, [["A", "B", 10]] * 50)
    assert got["is_exception"], "async_transfer.py must define InsufficientFunds as a subclass of Exception"
    assert count(got["outcomes"]) == {"InsufficientFunds": 40, "ok": 10} and got["balances"] == {"A": 0, "B": 100}, (
        f"50 transfers of 10 from A=100 to B=0, started together: expected 10 to succeed and 40 to raise "
        f"InsufficientFunds, leaving A=0 and B=100; got {count(got['outcomes'])} and balances {got['balances']}. "
        f"Every transfer checked A while it still held 100, then awaited the audit, during which the others "
        f"ran: hold the lock across the check, the audit and the update")


@task("07.2")
def test_each_successful_transfer_is_audited_once(exercise):
    """bank.audit(src, dst, amount) is awaited once per successful transfer, never for a refused one"""
    got = banked(exercise, {"A": 100, "B": 0}, [["A", "B", 10]] * 50)
    assert got["audited"] == [["A", "B", 10]] * 10 and got["calls"] == [["A", "B", 10]] * 10, (
        f"50 transfers of 10 from A=100: the 10 that succeed must each await bank.audit('A', 'B', 10) once, "
        f"and the 40 refused ones must not be audited; the audit was called {len(got['calls'])} times and "
        f"ran to its end {len(got['audited'])} times"
        + (" (never: the audit must be awaited, not just called)" if not got["calls"] else ""))


@task("07.2")
def test_nobody_touches_the_bank_during_an_audit(exercise):
    """While an audit runs, no other transfer checks or moves money, across several accounts"""
    moves = [["A", "B", 10], ["B", "C", 20], ["C", "A", 5]] * 8
    got = banked(exercise, {"A": 50, "B": 50, "C": 0}, moves, 40)
    assert not got["problems"], (
        "transfers between A, B and C, the first audits taking longest; the auditors saw the bank change "
        "under them:\n" + "\n".join(got["problems"]) +
        "\nHold the lock from the check until the money has moved, with the audit inside")
    assert sum(got["balances"].values()) == 100 and min(got["balances"].values()) >= 0, (
        f"money was created, lost or overdrawn: the balances ended as {got['balances']} (total 100 at the start)")


@task("07.2")
def test_a_failed_audit_moves_no_money(exercise):
    """If the audit raises, transfer raises it and moves nothing; the other transfers carry on"""
    got = banked(exercise, {"A": 30, "B": 0}, [["A", "B", 10]] * 5, None, 3)
    assert count(got["outcomes"]) == {"InsufficientFunds": 1, "ok": 3, "the audit's own exception": 1} \
        and got["balances"] == {"A": 0, "B": 30} and len(got["calls"]) == 4, (
        f"5 transfers of 10 from A=30, the third audit raising AuditFailed: expected 3 successes, that "
        f"AuditFailed raised by its transfer (which moves no money), 1 InsufficientFunds, A=0, B=30 and 4 "
        f"audits; got {count(got['outcomes'])}, balances {got['balances']}, {len(got['calls'])} audits")


# ---------------------------------------------------------------- 07.3 with_deadline

START = 1e9     # the virtual clock's start in 07.3: far from any time.monotonic() reading


def deadlines(module, kit, start):
    """sleep(3600) under 7200 s and under 10 s, one after the other, on one virtual clock;
    the coroutine records what it saw."""
    exec(kit, globals())

    async def main():
        out = []
        loop = asyncio.get_running_loop()
        for seconds in (7200, 10):
            seen = []

            async def nap():
                try:
                    await asyncio.sleep(3600)
                    return "rested"
                except asyncio.CancelledError:
                    seen.append("cancelled")
                    raise
                finally:
                    seen.append("finally")

            t0 = loop.time()
            try:
                value = await module.with_deadline(nap(), seconds)
            except BaseException as exc:
                value = describe(exc)
            out.append({"seconds": seconds, "value": value, "took": loop.time() - t0, "seen": list(seen)})
        return out

    return on_virtual_time(main, start)


def deadlined(exercise, scenario, *args):
    with explained_hang("with_deadline never returned on the virtual-time loop."):
        got = exercise("deadline").run(scenario, KIT, *args)
    assert "error" not in got, f"with_deadline waited for something that can never happen: {got['error']}"
    return got


def no_list(value):
    return tuple(no_list(v) for v in value) if isinstance(value, list) else value


@task("07.3")
def test_ok_within_the_deadline_timeout_after_it(exercise):
    """sleep(3600) under 7200 s -> ("ok", value) after 3600 s; under 10 s -> ("timeout", None) after 10 s"""
    got = deadlined(exercise, deadlines, 0.0)
    ok, late = got["value"]
    assert no_list(ok["value"]) == ("ok", "rested") and ok["took"] == 3600, (
        f"with_deadline(a 3600 s sleep returning 'rested', 7200) should return ('ok', 'rested') after 3600 "
        f"virtual seconds; it returned {ok['value']!r} after {ok['took']}")
    assert no_list(late["value"]) == ("timeout", None) and late["took"] == 10, (
        f"with_deadline(a 3600 s sleep, 10) should return ('timeout', None) after 10 virtual seconds; it "
        f"returned {late['value']!r} after {late['took']}. The TimeoutError comes out of the "
        f"`async with asyncio.timeout(...)` block: catch it outside the block")
    assert got["elapsed"] == 3610 and got["wall"] < got["elapsed"] / 100, (
        f"the two calls should take 3610 virtual seconds and almost no real time; they took {got['elapsed']} "
        f"virtual and {got['wall']:.2f} real seconds")


@task("07.3")
def test_the_timed_out_coroutine_is_cancelled_before_return(exercise):
    """On timeout the coroutine sees CancelledError and its finally has run when with_deadline returns"""
    got = deadlined(exercise, deadlines, 0.0)
    ok, late = got["value"]
    assert ok["seen"] == ["finally"], f"the coroutine that finished in time saw {ok['seen']}, expected ['finally']"
    assert late["seen"] == ["cancelled", "finally"], (
        f"when with_deadline(a 3600 s sleep, 10) returned, the sleeping coroutine should already have seen "
        f"CancelledError and run its finally block (['cancelled', 'finally']); it had seen {late['seen']}. "
        f"A timed-out coroutine must be cancelled, and waited for, before you return")


@task("07.3")
def test_the_deadline_is_on_the_loop_clock(exercise):
    """The deadline is measured on loop.time(), here a virtual clock that starts at 1e9 s"""
    got = deadlined(exercise, deadlines, START)
    ok, late = got["value"]
    assert no_list(ok["value"]) == ("ok", "rested") and ok["took"] == 3600 \
        and no_list(late["value"]) == ("timeout", None) and late["took"] == 10, (
        f"on a loop whose clock (loop.time()) reads {START:.0f} s at the start, with_deadline(a 3600 s sleep, "
        f"7200) gave {ok['value']!r} after {ok['took']} s and with_deadline(a 3600 s sleep, 10) gave "
        f"{late['value']!r} after {late['took']} s; expected ('ok', 'rested') after 3600 and ('timeout', None) "
        f"after 10. Measure the deadline on the loop's clock (asyncio.timeout(seconds) does), not "
        f"time.monotonic() or time.time()")


def raising(module, kit, start):
    exec(kit, globals())
    problem = ValueError("the coroutine's own error")

    async def fails():
        await asyncio.sleep(1)
        raise problem

    async def main():
        try:
            value = await module.with_deadline(fails(), 10)
        except BaseException as exc:
            return {"same": exc is problem, "got": describe(exc)}
        return {"same": False, "got": f"returned {value!r}"}

    return on_virtual_time(main, start)


@task("07.3")
def test_the_coroutines_own_exception_propagates(exercise):
    """A ValueError raised by the coroutine within the deadline propagates unchanged"""
    got = deadlined(exercise, raising, START)["value"]
    assert got["same"], (f"the coroutine raised ValueError after 1 s, within its 10 s deadline: with_deadline "
                         f"should let that very exception through; it gave {got['got']}")


def cancelled_from_outside(module, kit, start, how):
    """Cancel the task running with_deadline from outside: "plain" (at 5 s, long before a 7200 s
    deadline), "same_pass" (at the very time a 10 s deadline is due, so both cancels arrive in one
    loop pass), "during_cleanup" (at 12 s, while the coroutine, cancelled by its 10 s deadline,
    still cleans up for 5 s)."""
    exec(kit, globals())

    async def main():
        loop = asyncio.get_running_loop()
        seen = []

        async def nap():
            try:
                await asyncio.sleep(3600)
                return "rested"
            except asyncio.CancelledError:
                seen.append("cancelled")
                if how == "during_cleanup":
                    await asyncio.sleep(5)
                    seen.append("cleaned up")
                raise

        seconds = 7200 if how == "plain" else 10
        at = {"plain": 5, "same_pass": 10, "during_cleanup": 12}[how]
        t0 = loop.time()
        call = asyncio.ensure_future(module.with_deadline(nap(), seconds))
        loop.call_at(t0 + at, call.cancel)
        while not call.done() and loop.time() < t0 + 7300:
            await settle()
        if call.cancelled():
            state = "cancelled"
        elif not call.done():
            state = "still running"
        elif call.exception() is not None:
            state = "raised " + describe(call.exception())
        else:
            state = f"returned {call.result()!r}"
        return {"state": state, "at": loop.time() - t0, "seen": seen}

    return on_virtual_time(main, start)


@task("07.3")
def test_an_outer_cancel_is_never_swallowed(exercise):
    """task.cancel() from outside ends the task cancelled: before the deadline, in its pass, during cleanup"""
    why = {"plain": "at 5 s, with a 7200 s deadline",
           "same_pass": "at 10 s, in the very loop pass where the 10 s deadline fired",
           "during_cleanup": "at 12 s, while the coroutine, cancelled by its 10 s deadline, was still "
                             "cleaning up"}
    problems = []
    for how, when in why.items():
        got = deadlined(exercise, cancelled_from_outside, START, how)["value"]
        if got["state"] != "cancelled":
            problems.append(f"cancelled from outside {when}: the task {got['state']} (the coroutine saw "
                            f"{got['seen']})")
    assert not problems, (
        "\n".join(problems) + "\nA cancel() from outside must end the task cancelled. Do not catch "
        "CancelledError: asyncio.timeout converts only its own cancellation into TimeoutError (it compares "
        "the task's cancelling() count), and lets anyone else's through")


def nested(module, kit, start):
    exec(kit, globals())

    async def main():
        loop = asyncio.get_running_loop()
        out = []
        for inner, outer in ((10, 7200), (7200, 10)):
            t0 = loop.time()
            try:
                value = await module.with_deadline(module.with_deadline(asyncio.sleep(3600, "rested"), inner), outer)
            except BaseException as exc:
                value = describe(exc)
            out.append({"inner": inner, "outer": outer, "value": value, "took": loop.time() - t0})
        return out

    return on_virtual_time(main, start)


@task("07.3")
def test_nested_deadlines_each_report_their_own(exercise):
    """with_deadline(with_deadline(c, 10), 7200) -> ("ok", ("timeout", None)); (c, 7200), 10 -> ("timeout", None)"""
    rows = deadlined(exercise, nested, START)["value"]
    expected = {(10, 7200): ("ok", ("timeout", None)), (7200, 10): ("timeout", None)}
    problems = [f"with_deadline(with_deadline(a 3600 s sleep, {r['inner']}), {r['outer']}) gave {r['value']!r} "
                f"after {r['took']} s; expected {expected[r['inner'], r['outer']]!r} after 10 s"
                for r in rows if no_list(r["value"]) != expected[r["inner"], r["outer"]] or r["took"] != 10]
    assert not problems, "\n".join(problems) + (
        "\nEach call reports only its own deadline: the inner one's timeout is the inner call's result, and "
        "the outer one's cancellation passes through the inner call untouched")


def cancel_counts(module, kit, start):
    exec(kit, globals())

    async def main():
        me = asyncio.current_task()
        counts = [me.cancelling()]
        first = await module.with_deadline(asyncio.sleep(3600), 10)
        counts.append(me.cancelling())
        second = await module.with_deadline(asyncio.sleep(1, "soon"), 5)
        counts.append(me.cancelling())
        try:
            async with asyncio.timeout(20):
                third = await module.with_deadline(asyncio.sleep(3600), 10)
        except TimeoutError:
            third = "the enclosing timeout fired"
        counts.append(me.cancelling())
        return {"counts": counts, "results": [first, second, third]}

    return on_virtual_time(main, start)


@task("07.3")
def test_the_cancellation_count_is_left_clean(exercise):
    """After with_deadline returns, current_task().cancelling() is what it was before"""
    got = deadlined(exercise, cancel_counts, START)["value"]
    assert got["counts"] == [0, 0, 0, 0], (
        f"asyncio.current_task().cancelling() read {got['counts']} before the calls and after each of three "
        f"(a timeout, an ok, a timeout inside an enclosing asyncio.timeout); it should stay 0. A deadline that "
        f"cancels the task must call task.uncancel() when it turns that cancellation into a timeout "
        f"(asyncio.timeout does), or later timeouts and TaskGroups in the task misjudge whose cancel it is")
    assert no_list(got["results"]) == (("timeout", None), ("ok", "soon"), ("timeout", None)), (
        f"the three calls returned {got['results']}; expected ('timeout', None), ('ok', 'soon'), ('timeout', None)")
