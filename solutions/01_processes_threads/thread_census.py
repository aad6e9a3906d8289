"""Task 01.3: count live threads (线程) without leaking one.

threading.active_count() is the number of Thread objects alive in this process, the
main thread included. A function that starts threads and returns before they end
"leaks" them: they keep running, and keep their stacks, after the caller moved on.
"""

import threading


def measure_live_threads(n: int) -> tuple[int, int]:
    """Start `n` threads and return how much threading.active_count() grew
    (while they are all alive, after they have all ended).

    Make the count exact, not lucky: each worker thread waits on a threading.Barrier
    shared with the main thread, so all n are alive when you count the first time; then
    the main thread passes the barrier too, joins every worker, and counts again.
    The answer is therefore (n, 0), and no thread outlives the call.
    n < 0 raises ValueError; n == 0 returns (0, 0) and starts nothing.
    """
    ### BEGIN SOLUTION
    if n < 0:
        raise ValueError(f"n must be 0 or more, got {n}")
    before = threading.active_count()
    barrier = threading.Barrier(n + 1)
    workers = [threading.Thread(target=barrier.wait, name=f"census-{i}") for i in range(n)]
    for w in workers:
        w.start()
    try:
        during = threading.active_count() - before
    finally:
        barrier.wait()          # the n + 1st party: everyone is released together
        for w in workers:
            w.join()
    return during, threading.active_count() - before
    ### END SOLUTION
