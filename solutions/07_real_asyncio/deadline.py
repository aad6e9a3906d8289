"""Task 07.3: a deadline helper on asyncio.timeout that never swallows an outer cancellation.

asyncio.timeout(delay) (Python 3.11+, Lib/asyncio/timeouts.py) cancels the task when the
deadline passes and, as it leaves the block, turns that CancelledError into TimeoutError -
but only if the cancellation was its own: Timeout.__aexit__ calls task.uncancel() and raises
TimeoutError only when no other cancel() is pending (v3.11.9 and v3.15.0rc1). A helper that
catches CancelledError itself loses that distinction and swallows a cancel() meant for the
whole task: the task then runs on after its owner asked it to stop.

async def with_deadline(coro, seconds) -> tuple
  `coro` is a coroutine object; `seconds` a number of seconds on the running loop's clock.
  Rules, each one checked:
  1. If coro finishes within `seconds`, return ("ok", its result).
  2. If it does not, it is cancelled (its CancelledError handlers and finally blocks have run
     when with_deadline returns) and with_deadline returns ("timeout", None).
  3. The deadline is `seconds` after the call on the loop's clock, loop.time(), as asyncio's
     timers are: the tests run on a virtual-time loop whose clock is not time.monotonic().
  4. Any other exception coro raises (a ValueError, say) propagates unchanged.
  5. A cancellation from outside is never swallowed: if the task running with_deadline is
     cancelled (task.cancel()), the task ends cancelled - also when that cancel() arrives in
     the same loop pass as the deadline, and when it arrives while coro is still cleaning up
     after the deadline.
  6. Nested calls: with_deadline(with_deadline(c, 10), 7200) gives ("ok", ("timeout", None))
     - the inner deadline is reported only by the inner call - and
     with_deadline(with_deadline(c, 7200), 10) gives ("timeout", None) from the outer call.
  7. The task's cancellation count is left as found: after with_deadline returns,
     asyncio.current_task().cancelling() is what it was before the call (Task.cancelling and
     Task.uncancel, 3.11+), so a later asyncio.timeout or TaskGroup in the same task works.
"""

import asyncio


async def with_deadline(coro, seconds):
    ### BEGIN SOLUTION 07.3
    try:
        async with asyncio.timeout(seconds):
            value = await coro
    except TimeoutError:            # raised by the timeout's __aexit__, outside the block
        return ("timeout", None)
    return ("ok", value)
    ### END SOLUTION
