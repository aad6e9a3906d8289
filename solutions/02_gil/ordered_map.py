"""Task 02.4: a process pool of your own - a parallel map that survives spawn.

Threads cannot compute Python code in parallel under the GIL; processes can, each with
its own interpreter and its own GIL. Here you build the core of multiprocessing.Pool.map
from two queues and a few worker processes, so that you know what it has to get right:

- spawn (the default on Windows and macOS) and forkserver (Linux's default from 3.14)
  start each worker as a fresh interpreter that imports this module again. Everything a
  worker needs travels by pickle: the worker function must be a module-level function,
  and so must `func`.
- Workers finish in any order, so each chunk of work travels with the index where it
  starts, and the parent puts the results back in place.
- A worker stops when it takes a sentinel: one per worker (compare task 02.6).
- An exception inside a worker is an object like any other: send it back, raise it in
  the caller.

multiprocessing.Pool and concurrent.futures are off limits here: they would do it all
for you.
"""

import multiprocessing


def chunks(items: list, size: int) -> list[tuple[int, list]]:
    """Split `items` into runs of `size` consecutive items (the last may be shorter), each
    paired with the index of its first item. size < 1 raises ValueError.

    >>> chunks(["a", "b", "c", "d", "e"], 2)
    [(0, ['a', 'b']), (2, ['c', 'd']), (4, ['e'])]
    """
    ### BEGIN SOLUTION
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    return [(start, list(items[start:start + size])) for start in range(0, len(items), size)]
    ### END SOLUTION


def work_loop(func, tasks, results) -> None:
    """The body of each worker process. Take (start, chunk) tasks off `tasks` until the
    sentinel None arrives; for each, put on `results` either (start, [func(x) for x in
    chunk], None) or, if func raised, (start, None, the exception)."""
    ### BEGIN SOLUTION
    while (task := tasks.get()) is not None:
        start, chunk = task
        try:
            results.put((start, [func(x) for x in chunk], None))
        except Exception as exc:        # the exception object is pickled back to the caller
            results.put((start, None, exc))
    ### END SOLUTION


def ordered_map(func, items, workers: int = 2, chunksize: int = 1, start_method: str = "spawn") -> list:
    """Return [func(x) for x in items], computed in worker processes.

    - Starts min(workers, number of chunks) processes with
      multiprocessing.get_context(start_method), each running work_loop, and none for no
      items. `func` must be picklable: a module-level function.
    - Sends the work as chunks(items, chunksize) through ONE task queue that all workers
      share, so a free worker always takes the next chunk (a slow chunk never holds up
      the others), then one sentinel per worker.
    - Returns the results in the order of `items`, whatever order the chunks finish in.
    - If func raises, ordered_map raises that exception (same type and message) - for the
      first failing item in the order of `items` - once all the results are in.
    - Every worker process has ended when ordered_map returns or raises.
    - workers < 1 or chunksize < 1 raises ValueError, before any process starts.

    >>> ordered_map(abs, [-3, 1, -2], workers=2)
    [3, 1, 2]
    """
    ### BEGIN SOLUTION
    if workers < 1 or chunksize < 1:
        raise ValueError(f"workers and chunksize must be at least 1, got {workers} and {chunksize}")
    items = list(items)
    todo = chunks(items, chunksize)
    if not todo:
        return []
    ctx = multiprocessing.get_context(start_method)
    tasks, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=work_loop, args=(func, tasks, results)) for _ in range(min(workers, len(todo)))]
    for p in procs:
        p.start()
    try:
        for task in todo:
            tasks.put(task)
        for _ in procs:
            tasks.put(None)                   # one sentinel per worker
        out: list = [None] * len(items)
        failures = []
        for _ in todo:                        # exactly one reply per chunk, in any order
            start, values, exc = results.get()
            if exc is not None:
                failures.append((start, exc))
            else:
                out[start:start + len(values)] = values
    finally:
        for p in procs:
            p.join()                          # every reply was read first, so they can exit
    if failures:
        raise min(failures, key=lambda f: f[0])[1]
    return out
    ### END SOLUTION
