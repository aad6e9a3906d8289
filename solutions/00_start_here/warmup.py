"""Warm-up (task 00.1): split a list of jobs into n nearly equal batches.

Later lessons hand work to n workers - threads, processes, tasks - and the first
question is always how to share it out fairly. This task is also your first run of
check(): write the function, save the file, and run check("00.1") in the lesson.
"""


def split_evenly(items: list, n: int) -> list[list]:
    """Split `items` into `n` batches whose sizes differ by at most one.

    - The batches are contiguous and in order: joining them gives back `items`.
    - The first ``len(items) % n`` batches hold the one extra item each.
    - When n > len(items), the last batches are empty lists.
    - n < 1 raises ValueError.

    >>> split_evenly([1, 2, 3, 4, 5], 2)
    [[1, 2, 3], [4, 5]]
    >>> split_evenly(["a"], 3)
    [['a'], [], []]
    """
    ### BEGIN SOLUTION
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    size, extra = divmod(len(items), n)
    batches, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        batches.append(list(items[start:end]))
        start = end
    return batches
    ### END SOLUTION
