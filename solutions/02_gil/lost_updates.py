"""Task 02.1: lose updates on purpose, count them exactly, then stop losing them with a lock.

`counter += 1` is three steps: read the counter, add one, write it back (a read-modify-write).
The GIL makes each bytecode instruction atomic, not the three together: if another thread
writes between your read and your write, one of the two increments is lost (丢失更新).

Whether that happens by luck depends on the Python version: since 3.10 the eval loop only
drops the GIL at a few instructions (CHECK_EVAL_BREAKER in RESUME, JUMP_BACKWARD and the
CALL family), and a plain `counter += 1` loop happens to lose nothing on 3.10-3.13, while
3.9 and a free-threaded 3.13t lose plenty. A test cannot rely on luck either way, so here
the switch between read and write is forced: a threading.Barrier makes every thread read
before any thread writes. The count of lost updates is then exact, on every Python.
"""

import threading


def lost_updates(n_threads: int, rounds: int, locked: bool = False) -> int:
    """Start `n_threads` threads that each increment one shared counter `rounds` times,
    join them, and return how many increments were lost: n_threads * rounds - counter.

    locked=False: each increment reads the counter, waits on a threading.Barrier shared
        by all the threads (so every thread has read before any writes), then writes the
        value it read plus one. Each round all threads write the same value: the answer
        is exactly (n_threads - 1) * rounds.
    locked=True: each increment holds a threading.Lock from its read to its write. (The
        barrier cannot stay between read and write: a thread holding the lock would wait
        there for threads that wait for the lock. Put it before the read, so that all
        threads still arrive together.) The answer is 0.

    Every thread has ended when the function returns. n_threads < 1 or rounds < 0 raises
    ValueError.

    >>> lost_updates(4, 10)
    30
    >>> lost_updates(4, 10, locked=True)
    0
    """
    ### BEGIN SOLUTION
    if n_threads < 1 or rounds < 0:
        raise ValueError(f"need n_threads >= 1 and rounds >= 0, got {n_threads} and {rounds}")
    counter = [0]                       # a list, so the threads share one mutable cell
    barrier = threading.Barrier(n_threads)
    lock = threading.Lock()

    def racy():
        for _ in range(rounds):
            value = counter[0]          # read
            barrier.wait()              # the forced switch: everyone has read, nobody has written
            counter[0] = value + 1      # write: n threads write the same value

    def safe():
        for _ in range(rounds):
            barrier.wait()              # arrive together, then queue up for the lock
            with lock:                  # read and write as one step for the other threads
                value = counter[0]
                counter[0] = value + 1

    threads = [threading.Thread(target=safe if locked else racy) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return n_threads * rounds - counter[0]
    ### END SOLUTION
