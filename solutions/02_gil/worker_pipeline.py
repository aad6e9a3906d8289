"""Task 02.6 (bug hunt): a producer/consumer pipeline (生产者/消费者) that never returns.

run_pipeline() hands items to a few consumer threads through a queue.Queue and collects
what they compute. Run it with more than one consumer: it never returns. Find out why -
check("02.6") shows where every thread was waiting when it was stopped - and fix it.
Then make sure the results come back in the order of `items`: when the work of one item
takes longer than the next one's, the consumers do not finish in that order.
"""

import queue
import threading

STOP = object()     # the sentinel (哨兵值): a consumer that takes it off the queue stops


def run_pipeline(items: list, work, consumers: int = 3) -> list:
    """Return [work(x) for x in items], the calls made by `consumers` consumer threads.

    The calling thread is the producer: it starts the consumers, puts every item on one
    queue.Queue, tells the consumers to stop, and joins them. When run_pipeline returns,
    every consumer thread has ended. The results are in the order of `items`, whichever
    consumer finished first. consumers < 1 raises ValueError.

    >>> run_pipeline([1, 2, 3], lambda x: x * x, consumers=2)
    [1, 4, 9]
    """
    if consumers < 1:
        raise ValueError(f"consumers must be at least 1, got {consumers}")
    tasks: queue.Queue = queue.Queue()
    ### BEGIN SOLUTION
    results = [None] * len(items)     # slot i gets work(items[i]), whoever computes it

    def consume():
        while (job := tasks.get()) is not STOP:
            index, item = job
            results[index] = work(item)
    ### END SOLUTION
    ### BEGIN STUB
    # results: queue.Queue = queue.Queue()
    #
    # def consume():
    #     while (item := tasks.get()) is not STOP:
    #         results.put(work(item))
    ### END STUB

    threads = [threading.Thread(target=consume, name=f"consumer-{n}") for n in range(consumers)]
    for t in threads:
        t.start()
    ### BEGIN SOLUTION
    for job in enumerate(items):
        tasks.put(job)
    for _ in threads:
        tasks.put(STOP)               # one sentinel per consumer: each takes one, and stops
    for t in threads:
        t.join()
    return results
    ### END SOLUTION
    ### BEGIN STUB
    # for item in items:
    #     tasks.put(item)
    # tasks.put(STOP)                 # tell the consumers to stop
    # for t in threads:
    #     t.join()
    # return [results.get() for _ in items]
    ### END STUB
