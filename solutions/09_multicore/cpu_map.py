"""Task 09.1: an order-keeping CPU map (保持顺序的并行映射) over a process pool, awaited from a live loop.

One event loop runs on one core: a CPU-bound function called inside a coroutine freezes every
other task of that loop until it returns. Send the work to other processes instead and await it,
so the loop keeps serving while the pool computes.

async def cpu_map(fn, items, workers=2) -> list
  Rules, each one checked:
  1. The result is [fn(x) for x in items], in the order of `items` whatever order the workers
     finish in; no items gives [].
  2. The calls run in worker processes (进程池, concurrent.futures.ProcessPoolExecutor), never in
     the caller's process, and at most `workers` worker processes exist at any moment. The pool
     is used: while at least `workers` items are left, `workers` calls are in progress at once
     (submit every item before awaiting any result).
  3. The workers are started by spawn or forkserver, never fork (the loop's process has threads;
     fork copies their locks in whatever state they are: see "Contexts and start methods" in the
     multiprocessing docs, and What's New in Python 3.12: os.fork() in a process with threads
     now warns with a DeprecationWarning). So `fn` must be a module-level function: spawn sends it by name.
  4. The event loop stays live while the pool works: another task of the same loop runs while
     fn is in progress (the tests make fn wait until such a task lets it go).
  5. An exception raised by fn propagates out of cpu_map with its own type and message.
  6. A function pickle cannot send by name, such as a lambda, makes cpu_map raise
     pickle.PicklingError (the error ProcessPoolExecutor reports for it), without hanging.
  7. When cpu_map returns or raises, the pool is shut down: no worker process is left. A with
     block (or shutdown(wait=True)) does it; not shutdown(cancel_futures=True), which can
     deadlock after a job failed to pickle (Lib/concurrent/futures/process.py at v3.11.7 to
     v3.15.0rc1: flag_executor_shutting_down rebinds pending_work_items while
     _SafeQueue._on_queue_feeder_error pops the job from the old dict; CPython gh-116685).

>>> import asyncio, math
>>> asyncio.run(cpu_map(math.factorial, [5, 3, 1]))
[120, 6, 1]
"""

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor


async def cpu_map(fn, items, workers=2):
    ### BEGIN SOLUTION 09.1
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")      # portable: a module-level fn is found by name
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # gather keeps the order of its arguments, whatever order the futures finish in.
        return list(await asyncio.gather(*[loop.run_in_executor(pool, fn, item) for item in items]))
    ### END SOLUTION
