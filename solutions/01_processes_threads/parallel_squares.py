"""Task 01.4 (bug hunt): a process pool that breaks under spawn.

sum_of_squares() shares its work out to worker processes started with the "spawn" start
method - the default on Windows and macOS, and the safe choice anywhere. Its worker,
square, sits at the top of this module where every process can import it... or does it?
Run it: it fails. Read the error, find out why spawn cannot send this worker to another
process, and fix it. The result must stay sum(x * x for x in numbers), computed in the
worker processes.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

### BEGIN SOLUTION


def square(x: int) -> int:
    """Runs in a worker process. pickle sends a function by reference, as module name plus
    __qualname__; the worker imports the module and looks that name up. A def's __qualname__
    is "square"; a lambda's is "<lambda>" whatever variable holds it, so no lookup finds it."""
    return x * x


### END SOLUTION
### BEGIN STUB
# square = lambda x: x * x   # the worker: runs in the worker processes
### END STUB


def sum_of_squares(numbers: list[int], workers: int = 2) -> int:
    """Return sum(x * x for x in numbers), with the squares computed by `workers` worker
    processes started with the "spawn" start method.

    >>> sum_of_squares([1, 2, 3])
    14
    """
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return sum(pool.map(square, numbers, chunksize=max(1, len(numbers) // (4 * workers))))
