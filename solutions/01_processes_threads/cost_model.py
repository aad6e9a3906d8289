"""Task 01.1: model the makespan of the same jobs run four ways.

The makespan (完工时间) is the wall-clock time from the start of the first job to the end
of the last. Each job first WAITS for `io` seconds (a download, a disk read: the CPU is
free meanwhile) and then COMPUTES for `cpu` seconds. The four ways to run them:

"seq"         one thread runs the jobs one after another.
"threads_gil" one thread per job, all started at time 0, under the GIL: waits overlap
              freely, but only one thread computes at any moment.
"threads_ft"  one thread per job, all started at time 0, on free-threaded Python (or
              any runtime without a GIL): waits overlap, and up to `cores` threads
              compute at the same moment.
"procs"       a pool of min(cores, len(jobs)) worker processes. The parent starts the
              workers one after another, each start taking `spawn_cost` seconds, so
              worker k (counting from 0) is ready at (k + 1) * spawn_cost. Jobs are handed
              out in list order, each to the worker that is free first (on a tie, the lowest
              k). A worker runs one job at a time, its wait included.

In "threads_gil" and "threads_ft", a job is ready to compute when its wait ends; ready
jobs take a free core in the order they became ready (ties: list order) and keep it until
they finish. (The real GIL hands over every 5 ms, sharing the CPU more finely; with all
waits first, the makespan comes out the same.)
"""

MODELS = ("seq", "threads_gil", "threads_ft", "procs")


def makespan(jobs: list[tuple[float, float]], model: str, cores: int = 1, spawn_cost: float = 0.0) -> float:
    """Return the makespan in seconds of `jobs`, a list of (io_seconds, cpu_seconds),
    run the way `model` says (one of MODELS, see the module docstring).

    `cores` (>= 1) is the number of CPU cores; `spawn_cost` (>= 0) the seconds it takes to
    start one worker process (used by "procs" only). An empty job list takes 0.0 s.
    Raise ValueError for an unknown model, cores < 1, or a negative duration or cost.

    >>> makespan([(0, 1), (0, 1), (0, 1), (0, 1)], "threads_gil", cores=2)
    4.0
    >>> makespan([(0, 1), (0, 1), (0, 1), (0, 1)], "threads_ft", cores=2)
    2.0
    """
    ### BEGIN SOLUTION
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    if cores < 1:
        raise ValueError(f"cores must be at least 1, got {cores}")
    if spawn_cost < 0 or any(io < 0 or cpu < 0 for io, cpu in jobs):
        raise ValueError("durations and costs cannot be negative")
    if not jobs:
        return 0.0
    if model == "seq":
        return float(sum(io + cpu for io, cpu in jobs))
    if model == "procs":
        free_at = [(k + 1) * spawn_cost for k in range(min(cores, len(jobs)))]
        for io, cpu in jobs:
            k = min(range(len(free_at)), key=lambda w: (free_at[w], w))
            free_at[k] += io + cpu
        return float(max(free_at))
    # Threads: every wait starts at 0; a job then queues for one of the lanes that compute.
    lanes = [0.0] * (1 if model == "threads_gil" else cores)
    end = 0.0
    for io, cpu in sorted(jobs, key=lambda job: job[0]):   # sorted() is stable: ties keep list order
        k = min(range(len(lanes)), key=lambda c: lanes[c])
        lanes[k] = max(lanes[k], io) + cpu
        end = max(end, lanes[k])
    return float(end)
    ### END SOLUTION
