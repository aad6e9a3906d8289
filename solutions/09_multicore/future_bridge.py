"""Task 09.2: a bridge (桥接) from a concurrent.futures.Future to the event loop, without polling.

A thread pool, a process pool or any other thread hands you a concurrent.futures.Future. A
coroutine wants to await it. asyncio.wrap_future (Lib/asyncio/futures.py, wrap_future and
_chain_future, CPython v3.11.7) does this; write the mechanism yourself, so you know what it
costs and why it is safe.

async def await_cf(cf)
  Rules, each one checked:
  1. It returns cf's result once another thread sets it.
  2. An exception set on cf propagates out of await_cf: the very exception object.
  3. The thread that completes cf runs cf's done callbacks, and it must not touch the loop or
     its futures directly: from a callback, reach the loop only through
     loop.call_soon_threadsafe (or a byte written to a socket the loop watches). The tests
     catch loop.call_soon, future.set_result and the like called from another thread.
  4. No polling (轮询): while cf is pending and nothing else is scheduled, the loop sleeps in
     select() with no timeout (None) until it is woken. No asyncio.sleep loop, no timer.
  5. Cancelling the task that awaits await_cf(cf) cancels cf too if cf has not started running
     (cf.cancel()), and the task ends cancelled either way.
  6. A cf that is already done gives its result (or raises its exception) at once: the loop never
     goes to sleep for it.
  7. Write the bridge yourself: asyncio.wrap_future, asyncio.to_thread and loop.run_in_executor
     are off limits (the tests make them raise).

>>> import asyncio, concurrent.futures
>>> async def main():
...     with concurrent.futures.ThreadPoolExecutor() as pool:
...         return await await_cf(pool.submit(pow, 2, 10))
>>> asyncio.run(main())
1024
"""

import asyncio


async def await_cf(cf):
    ### BEGIN SOLUTION 09.2
    loop = asyncio.get_running_loop()
    if cf.done():
        return cf.result()               # rule 6: nothing to wait for
    waiter = loop.create_future()

    def settle(_):
        # Runs in the loop's thread: the only place the asyncio future may be touched.
        if not waiter.done():
            waiter.set_result(None)

    def on_done(_):
        # Runs in whichever thread completed cf. call_soon_threadsafe appends to the loop's
        # ready queue under its rules and writes a byte to the loop's self-pipe, which wakes
        # its select() (Lib/asyncio/base_events.py, call_soon_threadsafe; selector_events.py,
        # _write_to_self; CPython v3.11.7). A closed loop cannot be woken any more: nobody is waiting then.
        try:
            loop.call_soon_threadsafe(settle, None)
        except RuntimeError:
            pass

    cf.add_done_callback(on_done)
    try:
        await waiter
    except asyncio.CancelledError:
        cf.cancel()                       # rule 5: a no-op once cf runs or is done
        raise
    return cf.result()
    ### END SOLUTION
