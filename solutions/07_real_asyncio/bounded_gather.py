"""Task 07.1: a bounded gather (有界并发) on asyncio.TaskGroup and asyncio.Semaphore.

asyncio.gather(*coros) starts everything at once, and when one coroutine fails it hands you
that exception while the others keep running, unwatched. Write the version a service needs:
at most `limit` at a time, and a failure that stops the whole batch.

async def bounded_gather(coro_fns, limit) -> list
  `coro_fns` is a list of coroutine functions taking no arguments (call one to get the
  coroutine to await). Rules, each one checked:
  1. The result is the list of their results in the order of `coro_fns`, whatever the order
     they finish in. An empty list gives [].
  2. At most `limit` of them are running at any moment (started and not finished), and the
     limit is used: while at least `limit` have not finished, exactly `limit` run
     (so the peak is min(limit, len(coro_fns))). A semaphore (信号量) does this.
  3. limit < 1 raises ValueError (before anything starts; Semaphore(0) would wait forever).
  4. TaskGroup semantics (任务组, Lib/asyncio/taskgroups.py): when one raises an exception,
     every other one is cancelled - each one running sees CancelledError at its await, and
     those waiting for a slot never start (the one that the failed job's slot was just handed
     to may start, and is then cancelled at once) - and bounded_gather raises an
     ExceptionGroup whose .exceptions holds exactly that one exception (the very object
     raised). When it has raised, none of the jobs is still running.
  5. If the task running bounded_gather is cancelled, every coroutine still running is
     cancelled too, none starts afterwards, and the cancellation propagates (the caller's
     task ends cancelled).
  The tests run it on a virtual-time loop (src/lessons/virtual_time.py) and steer every
  coroutine with asyncio.Event objects, so "running at once" is counted, not timed.

>>> import asyncio
>>> async def job(i):
...     await asyncio.sleep(3 - i)
...     return i * 10
>>> asyncio.run(bounded_gather([lambda i=i: job(i) for i in range(3)], limit=2))
[0, 10, 20]
"""

import asyncio


async def bounded_gather(coro_fns, limit):
    ### BEGIN SOLUTION 07.1
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    semaphore = asyncio.Semaphore(limit)

    async def one(fn):
        async with semaphore:           # the coroutine is created only once a slot is free
            return await fn()

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(fn)) for fn in coro_fns]
    return [task.result() for task in tasks]
    ### END SOLUTION
