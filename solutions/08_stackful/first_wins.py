"""Task 08.3: structured concurrency (结构化并发) - a race whose losers are cancelled and awaited.

Trio's nursery and asyncio's TaskGroup (3.11+; Lib/asyncio/taskgroups.py, the `while
self._tasks` loop of TaskGroup.__aexit__ at v3.11.9, of TaskGroup._aexit at v3.14.0) share one
promise: when the block ends, every task started in it has finished - none is left
running behind your back. A race ("happy eyeballs", a request sent to two replicas) is the
classic place where the losers get forgotten: asyncio.wait(..., return_when=FIRST_COMPLETED)
hands back the pending ones and leaves their cleanup to you.

async def first_wins(coro_fns) -> tuple[int, object]
  `coro_fns` is a list of coroutine functions taking no argument (the contenders). Rules, each
  one checked:
  1. An empty list raises ValueError.
  2. Every contender is started at once as its own task: they run concurrently (contenders
     that sleep 5, 1 and 3 seconds before succeeding make first_wins return after 1 second).
  3. The first contender to succeed (return without raising) wins: first_wins returns
     (its index in coro_fns, the value it returned). (Tests never let two finish at the same
     moment.)
  4. Every other contender still running is cancelled and awaited before first_wins returns:
     each sees a CancelledError at its await, and its except/finally blocks have run when
     first_wins returns; no task first_wins started is left in asyncio.all_tasks().
  5. A contender that fails (raises an Exception) does not win and does not stop the others:
     they go on running, and a later success still wins.
  6. If every contender fails, first_wins raises an ExceptionGroup whose .exceptions are
     exactly the contenders' exceptions, the same objects, each once (in any order), after
     all of them have finished.
  7. Cancelling the task that awaits first_wins cancels every contender still running, waits
     for them to finish, and the CancelledError propagates out of first_wins: never
     swallowed, never turned into a result or another exception.
"""

import asyncio


async def first_wins(coro_fns):
    ### BEGIN SOLUTION 08.3
    if not coro_fns:
        raise ValueError("first_wins needs at least one contender")
    winner = None
    failures = []
    tasks = []

    async def contend(i, fn):
        nonlocal winner
        try:
            value = await fn()
        except Exception as exc:        # a failure is kept, and stops nobody
            failures.append(exc)
            return
        if winner is None:
            winner = (i, value)
            for task in tasks:          # cancelling a finished task (or itself, now) is a no-op
                if task is not asyncio.current_task():
                    task.cancel()

    # The group does not exit until every child has finished: the losers' CancelledError
    # handlers have run by then. A cancel() of this task cancels the children, and
    # TaskGroup.__aexit__ re-raises the CancelledError once they have finished.
    async with asyncio.TaskGroup() as group:
        for i, fn in enumerate(coro_fns):
            tasks.append(group.create_task(contend(i, fn)))
    if winner is None:
        raise ExceptionGroup("every contender of first_wins failed", failures)
    return winner
    ### END SOLUTION
