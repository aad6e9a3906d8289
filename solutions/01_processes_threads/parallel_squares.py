"""Task 01.4 (bug hunt): a process pool that breaks under spawn.

sum_of_squares() shares its work out to worker processes started with the "spawn" start
method - the default on Windows and macOS, and the safe choice anywhere. Run it: it fails.
Read the error, find out why spawn cannot run this code, and fix it. The result must stay
sum(x * x for x in numbers), computed in the worker processes.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

### BEGIN SOLUTION


def square(x: int) -> int:
    """Runs in a worker process: under spawn the worker imports this module by name and
    finds `square` in it, which is why the function must live at module level."""
    return x * x


### END SOLUTION
### BEGIN STUB
### END STUB


def sum_of_squares(numbers: list[int], workers: int = 2) -> int:
    """Return sum(x * x for x in numbers), with the squares computed by `workers` worker
    processes started with the "spawn" start method.

    >>> sum_of_squares([1, 2, 3])
    14
    """
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        ### BEGIN SOLUTION
        return sum(pool.map(square, numbers, chunksize=max(1, len(numbers) // (4 * workers))))
        ### END SOLUTION
        ### BEGIN STUB
        # return sum(pool.map(lambda x: x * x, numbers))
        ### END STUB
