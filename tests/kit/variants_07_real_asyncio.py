"""Alternative correct and plausible wrong solutions of lesson 07's tasks (07.1-07.3).

tests/kit/test_variants_07_real_asyncio.py grades each against tests/test_07_real_asyncio.py:
every alternative must pass every test of its task, and every wrong one must fail, with the
tests named here (those of the rule it breaks) among the failures. Each wrong solution is an
alternative (or the reference's shape) with one rule broken, so what it loses is that rule's
doing.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
"""


from variant_grading import changed as _changed


# ---------------------------------------------------------------- 07.1 bounded_gather

GATHER_TG = '''
import asyncio


async def bounded_gather(coro_fns, limit):
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    semaphore = asyncio.Semaphore(limit)

    async def one(fn):
        async with semaphore:
            return await fn()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(fn)) for fn in coro_fns]
    return [task.result() for task in tasks]
'''

# asyncio.wait(FIRST_EXCEPTION) and cancelling by hand instead of a TaskGroup.
GATHER_WAIT = '''
import asyncio


async def bounded_gather(coro_fns, limit):
    if limit < 1:
        raise ValueError("limit < 1")
    if not coro_fns:
        return []
    slots = asyncio.Semaphore(limit)

    async def run(fn):
        async with slots:
            return await fn()

    tasks = [asyncio.ensure_future(run(fn)) for fn in coro_fns]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    errors = [t.exception() for t in done if not t.cancelled() and t.exception() is not None]
    if errors:
        raise ExceptionGroup("a job of bounded_gather failed", errors[:1])
    return [t.result() for t in tasks]
'''

# A pool of min(limit, n) workers taking jobs from one iterator: no semaphore at all.
GATHER_POOL = '''
import asyncio


async def bounded_gather(coro_fns, limit):
    if limit < 1:
        raise ValueError("limit must be >= 1")
    results = [None] * len(coro_fns)
    jobs = iter(enumerate(coro_fns))

    async def worker():
        for i, fn in jobs:
            results[i] = await fn()

    async with asyncio.TaskGroup() as tg:
        for _ in range(min(limit, len(coro_fns))):
            tg.create_task(worker())
    return results
'''

GATHER_WRONG = {
    "plain_gather": (_changed(GATHER_TG, [(
        "    async with asyncio.TaskGroup() as group:\n        tasks = [group.create_task(one(fn)) for fn in coro_fns]\n"
        "    return [task.result() for task in tasks]\n",
        "    return list(await asyncio.gather(*[one(fn) for fn in coro_fns]))\n")]),
        {"test_first_failure_cancels_the_rest"}),
    "no_limit": (_changed(GATHER_TG, [("            return await fn()", "            pass\n        return await fn()")]),
                 {"test_exactly_limit_jobs_run_at_once"}),
    "limit_plus_one": (_changed(GATHER_TG, [("asyncio.Semaphore(limit)", "asyncio.Semaphore(limit + 1)")]),
                       {"test_exactly_limit_jobs_run_at_once"}),
    "one_at_a_time": (_changed(GATHER_TG, [(
        "    async with asyncio.TaskGroup() as group:\n        tasks = [group.create_task(one(fn)) for fn in coro_fns]\n"
        "    return [task.result() for task in tasks]\n",
        "    return [await one(fn) for fn in coro_fns]\n")]),
        {"test_exactly_limit_jobs_run_at_once"}),
    "completion_order": (_changed(GATHER_TG, [
        ("            return await fn()", "            done.append(await fn())"),
        ("    semaphore = asyncio.Semaphore(limit)\n", "    semaphore = asyncio.Semaphore(limit)\n    done = []\n"),
        ("    return [task.result() for task in tasks]", "    return done")]),
        {"test_results_come_back_in_input_order"}),
    "no_limit_check": (_changed(GATHER_TG, [("    if limit < 1:\n        raise ValueError(f\"limit must be at least 1, got {limit}\")\n", "")]),
                       {"test_limit_below_one_raises_value_error"}),
    "unwrapped_error": (_changed(GATHER_TG, [(
        "    async with asyncio.TaskGroup() as group:\n        tasks = [group.create_task(one(fn)) for fn in coro_fns]\n",
        "    try:\n        async with asyncio.TaskGroup() as group:\n"
        "            tasks = [group.create_task(one(fn)) for fn in coro_fns]\n"
        "    except ExceptionGroup as group_error:\n        raise group_error.exceptions[0] from None\n")]),
        {"test_first_failure_cancels_the_rest"}),
    "leaks_when_cancelled": (_changed(GATHER_WAIT, [(
        "    try:\n        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)\n"
        "    finally:\n        for t in tasks:\n            t.cancel()\n        await asyncio.gather(*tasks, return_exceptions=True)\n",
        "    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)\n"
        "    for t in pending:\n        t.cancel()\n    await asyncio.gather(*pending, return_exceptions=True)\n")]),
        {"test_cancelling_the_caller_cancels_every_job"}),
}


# ---------------------------------------------------------------- 07.2 bank_transfer

BANK_ALT = '''
import asyncio


class InsufficientFunds(Exception):
    pass


async def transfer(bank, src, dst, amount, lock):
    await lock.acquire()
    try:
        balance = bank.balances[src]
        if balance < amount:
            raise InsufficientFunds(src, balance, amount)
        await bank.audit(src, dst, amount)
        bank.balances[src] = balance - amount
        bank.balances[dst] = bank.balances[dst] + amount
    finally:
        lock.release()
'''

BANK_REF = '''
import asyncio


class InsufficientFunds(Exception):
    pass


async def transfer(bank, src, dst, amount, lock):
    async with lock:
        if bank.balances[src] < amount:
            raise InsufficientFunds(src)
        await bank.audit(src, dst, amount)
        bank.balances[src] -= amount
        bank.balances[dst] += amount
'''

BANK_WRONG = {
    "audit_not_awaited": (_changed(BANK_REF, [("        await bank.audit(src, dst, amount)\n", "        bank.audit(src, dst, amount)\n")]),
                          {"test_each_successful_transfer_is_audited_once"}),
    "audit_dropped": (_changed(BANK_REF, [("        await bank.audit(src, dst, amount)\n", "")]),
                      {"test_each_successful_transfer_is_audited_once"}),
    "lock_of_its_own": (_changed(BANK_REF, [("    async with lock:\n", "    async with asyncio.Lock():\n")]),
                        {"test_fifty_transfers_move_exactly_the_money_there_is"}),
    "audit_after_the_lock": (_changed(BANK_REF, [
        ("        await bank.audit(src, dst, amount)\n        bank.balances[src] -= amount\n        bank.balances[dst] += amount\n",
         "        bank.balances[src] -= amount\n        bank.balances[dst] += amount\n    await bank.audit(src, dst, amount)\n")]),
        {"test_nobody_touches_the_bank_during_an_audit"}),
    "audit_before_the_check": (_changed(BANK_REF, [
        ("        if bank.balances[src] < amount:\n            raise InsufficientFunds(src)\n        await bank.audit(src, dst, amount)\n",
         "        await bank.audit(src, dst, amount)\n        if bank.balances[src] < amount:\n            raise InsufficientFunds(src)\n")]),
        {"test_each_successful_transfer_is_audited_once"}),
    "lock_kept_on_refusal": (_changed(BANK_ALT, [
        ("    await lock.acquire()\n    try:\n        balance = bank.balances[src]\n        if balance < amount:\n            raise InsufficientFunds(src, balance, amount)\n",
         "    await lock.acquire()\n    balance = bank.balances[src]\n    if balance < amount:\n        raise InsufficientFunds(src, balance, amount)\n    try:\n")]),
        {"test_fifty_transfers_move_exactly_the_money_there_is"}),
    # Reserve the money first (check and debit with no await between), audit, then credit:
    # no money is lost, but the auditors see other transfers move money meanwhile.
    "debit_then_audit_unlocked": ('''
import asyncio


class InsufficientFunds(Exception):
    pass


async def transfer(bank, src, dst, amount, lock):
    if bank.balances[src] < amount:
        raise InsufficientFunds(src)
    bank.balances[src] -= amount
    try:
        await bank.audit(src, dst, amount)
    except BaseException:
        bank.balances[src] += amount
        raise
    bank.balances[dst] += amount
''', {"test_nobody_touches_the_bank_during_an_audit"}),
    "moves_money_when_the_audit_fails": (_changed(BANK_REF, [
        ("        await bank.audit(src, dst, amount)\n        bank.balances[src] -= amount\n        bank.balances[dst] += amount\n",
         "        try:\n            await bank.audit(src, dst, amount)\n        finally:\n"
         "            bank.balances[src] -= amount\n            bank.balances[dst] += amount\n")]),
        {"test_a_failed_audit_moves_no_money"}),
}


# ---------------------------------------------------------------- 07.3 with_deadline

DEADLINE_AT = '''
import asyncio


async def with_deadline(coro, seconds):
    loop = asyncio.get_running_loop()
    deadline = asyncio.timeout_at(loop.time() + seconds)
    try:
        async with deadline:
            result = await coro
        return ("ok", result)
    except TimeoutError:
        if deadline.expired():
            return ("timeout", None)
        raise
'''

DEADLINE_REF = '''
import asyncio


async def with_deadline(coro, seconds):
    try:
        async with asyncio.timeout(seconds):
            value = await coro
    except TimeoutError:
        return ("timeout", None)
    return ("ok", value)
'''

# A deadline by hand: a timer that cancels the task, and uncancel() when it was ours.
DEADLINE_MANUAL = '''
import asyncio


async def with_deadline(coro, seconds):
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    fired = []
    base = task.cancelling()

    def expire():
        fired.append(True)
        task.cancel()

    timer = loop.call_later(seconds, expire)
    try:
        value = await coro
    except asyncio.CancelledError:
        if fired and task.uncancel() <= base:
            return ("timeout", None)
        raise
    finally:
        timer.cancel()
    if fired and task.uncancel() > base:
        raise asyncio.CancelledError
    return ("ok", value)
'''

# asyncio.wait_for (on 3.12+ itself built on timeout(); on 3.11 a task of its own, cancelled and
# awaited on timeout): written on another API, graded the same.
DEADLINE_WAIT_FOR = '''
import asyncio


async def with_deadline(coro, seconds):
    try:
        return ("ok", await asyncio.wait_for(coro, seconds))
    except TimeoutError:
        return ("timeout", None)
'''

DEADLINE_WRONG = {
    "catches_cancelled_error": (_changed(DEADLINE_REF, [
        ("        async with asyncio.timeout(seconds):\n            value = await coro\n",
         "        async with asyncio.timeout(seconds):\n            try:\n                value = await coro\n"
         "            except asyncio.CancelledError:\n                return (\"timeout\", None)\n")]),
        {"test_an_outer_cancel_is_never_swallowed", "test_nested_deadlines_each_report_their_own"}),
    "catches_timeout_inside_the_block": (_changed(DEADLINE_REF, [
        ("    try:\n        async with asyncio.timeout(seconds):\n            value = await coro\n    except TimeoutError:\n        return (\"timeout\", None)\n",
         "    async with asyncio.timeout(seconds):\n        try:\n            value = await coro\n        except TimeoutError:\n            return (\"timeout\", None)\n")]),
        {"test_ok_within_the_deadline_timeout_after_it"}),
    "monotonic_deadline": (_changed(DEADLINE_REF, [
        ("import asyncio\n", "import asyncio\nimport time\n"),
        ("asyncio.timeout(seconds)", "asyncio.timeout_at(time.monotonic() + seconds)")]),
        {"test_the_deadline_is_on_the_loop_clock"}),
    "expired_means_timeout": (_changed(DEADLINE_AT, [
        ("    except TimeoutError:\n", "    except (TimeoutError, asyncio.CancelledError):\n")]),
        {"test_an_outer_cancel_is_never_swallowed"}),
    "never_uncancels": (_changed(DEADLINE_MANUAL, [
        ("        if fired and task.uncancel() <= base:\n", "        if fired and task.cancelling() <= base + 1:\n"),
        ("    if fired and task.uncancel() > base:\n", "    if fired and task.cancelling() > base + 1:\n")]),
        {"test_the_cancellation_count_is_left_clean"}),
    "leaves_it_running": ('''
import asyncio


async def with_deadline(coro, seconds):
    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        return ("timeout", None)
    return ("ok", task.result())
''', {"test_the_timed_out_coroutine_is_cancelled_before_return"}),
    "cancels_without_waiting": ('''
import asyncio


async def with_deadline(coro, seconds):
    task = asyncio.ensure_future(coro)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        return ("timeout", None)
    return ("ok", task.result())
''', {"test_the_timed_out_coroutine_is_cancelled_before_return"}),
    "every_error_is_a_timeout": (_changed(DEADLINE_REF, [("    except TimeoutError:\n", "    except Exception:\n")]),
                                 {"test_the_coroutines_own_exception_propagates"}),
}

# None of these waits out a safety net: every hang ends as NothingCanWake on virtual time.
SLOW: set = set()

VARIANTS = (
    [("alt_wait", "bounded_gather.py", GATHER_WAIT, None), ("alt_pool", "bounded_gather.py", GATHER_POOL, None)]
    + [(n, "bounded_gather.py", src, must) for n, (src, must) in GATHER_WRONG.items()]
    + [("alt", "async_transfer.py", BANK_ALT, None)]
    + [(n, "async_transfer.py", src, must) for n, (src, must) in BANK_WRONG.items()]
    + [("alt_timeout_at", "deadline.py", DEADLINE_AT, None), ("alt_manual", "deadline.py", DEADLINE_MANUAL, None),
       ("alt_wait_for", "deadline.py", DEADLINE_WAIT_FOR, None)]
    + [(n, "deadline.py", src, must) for n, (src, must) in DEADLINE_WRONG.items()]
)
