"""Graded tests of 01_processes_threads. The code under test runs in a child process (see
coursekit.runner); scenarios are module-level functions sent to it as source code.

PYTEST_DONT_REWRITE: a failing assert reads as its message alone, so every assert here has
one, written for the learner (see coursekit.testing).
"""

import random
import sys

import pytest

from coursekit.testing import check_raises, check_table

task = pytest.mark.task


@pytest.fixture
def cost(exercise):
    return exercise("cost_model")


# ---------------------------------------------------------------- 01.1 makespan

FOUR_CPU = [[0, 1]] * 4           # four jobs that only compute for 1 s
FOUR_IO = [[1, 0]] * 4            # four jobs that only wait for 1 s
MIXED = [[3, 1], [0, 2], [1, 1], [0, 1]]


@task("01.1")
def test_sequential_adds_everything(cost):
    """Sequential: the makespan is the sum of every wait and every computation"""
    check_table(cost, "makespan", [
        (FOUR_CPU, "seq", 2, 0, 4.0),
        (FOUR_IO, "seq", 2, 0, 4.0),
        (MIXED, "seq", 4, 0, 9.0),
        (FOUR_CPU, "seq", 2, 0.5, 4.0),      # spawn_cost is for "procs" only
    ], "one thread adds up every wait and every computation")


@task("01.1")
def test_gil_threads_overlap_waits_not_computation(cost):
    """GIL threads: waits overlap, but only one thread computes at a time"""
    check_table(cost, "makespan", [
        (FOUR_CPU, "threads_gil", 2, 4.0),          # one computes at a time, however many cores
        (FOUR_IO, "threads_gil", 1, 1.0),           # waits overlap
        (MIXED, "threads_gil", 4, 5.0),             # [0,2] 0-2, [0,1] 2-3, [1,1] 3-4, [3,1] 4-5
        ([[2, 1], [0, 1]], "threads_gil", 2, 3.0),  # the CPU idles from 1 to 2 waiting for the first job
        (FOUR_CPU, "threads_gil", 2, 0.5, 4.0),     # spawn_cost is for "procs" only
    ], "under the GIL waits overlap but computations take turns")


@task("01.1")
def test_free_threads_compute_in_parallel(cost):
    """Free-threaded: up to `cores` threads compute at once"""
    check_table(cost, "makespan", [
        (FOUR_CPU, "threads_ft", 2, 2.0),
        (FOUR_CPU, "threads_ft", 4, 1.0),
        (FOUR_CPU, "threads_ft", 8, 1.0),
        (MIXED, "threads_ft", 2, 4.0),    # core A: [0,2] 0-2, [3,1] 3-4; core B: [0,1] 0-1, [1,1] 1-2
        (FOUR_IO, "threads_ft", 1, 1.0),
        # all ready at 0: they take the cores in list order; A: [0,3] 0-3; B: [0,1] x 3, 0-3
        ([[0, 3], [0, 1], [0, 1], [0, 1]], "threads_ft", 2, 3.0),
        (FOUR_CPU, "threads_ft", 2, 0.5, 2.0),      # spawn_cost is for "procs" only
    ], "without a GIL up to `cores` threads compute at once; ready jobs take a free core in the order "
       "they became ready, ties in list order")


@task("01.1")
def test_process_pool_pays_for_its_workers(cost):
    """Processes: a pool of min(cores, jobs) workers, started one after another"""
    check_table(cost, "makespan", [
        (FOUR_CPU, "procs", 2, 0.0, 2.0),
        (FOUR_CPU, "procs", 2, 0.5, 3.0),    # workers ready at 0.5 and 1.0; each runs two jobs
        (FOUR_IO, "procs", 2, 0.0, 2.0),     # a worker's wait blocks that worker
        ([[0, 1]], "procs", 4, 0.25, 1.25),  # one job needs one worker
        (MIXED, "procs", 2, 0.0, 5.0),       # w0: [3,1] 0-4, [0,1] 4-5; w1: [0,2] 0-2, [1,1] 2-4
        ([[0, 1]], "procs", 4, 0.5, 1.5),    # min(cores, jobs) = 1 worker is started, ready at 0.5
        ([[0, 1], [0, 1], [0, 2]], "procs", 2, 0.0, 3.0),   # in list order: [0,2] goes last, to w0 at 1
    ], "a process pool of min(cores, jobs) workers runs one job per worker at a time, handed out in list "
       "order, after paying to start its workers")


@task("01.1")
def test_models_agree_where_they_must(cost):
    """On 200 random job lists: seq >= GIL >= free threads, 1 core = GIL, a core per job = longest job"""
    rng = random.Random(20261127)
    cases = [[[rng.choice([0, 0.5, 1, 2, 3]), rng.choice([0, 0.5, 1, 2])] for _ in range(rng.randint(1, 7))]
             for _ in range(200)]
    for jobs, (seq, gil, ft1, ft2, ft_many) in zip(cases, cost.run(all_models, cases)):
        assert seq >= gil - 1e-9 >= ft2 - 2e-9, f"for {jobs}: expected seq >= threads_gil >= threads_ft, got {seq}, {gil}, {ft2}"
        assert ft1 == pytest.approx(gil), f"for {jobs}: threads_ft on 1 core should equal threads_gil ({gil}), got {ft1}"
        longest = max(io + cpu for io, cpu in jobs)
        assert ft_many == pytest.approx(longest), f"for {jobs}: with a core per job, threads_ft is the longest job ({longest}), got {ft_many}"
        assert gil >= sum(cpu for _, cpu in jobs) - 1e-9, f"for {jobs}: under the GIL the computations cannot overlap, got {gil}"


def all_models(module, cases):
    out = []
    for jobs in cases:
        m = module.makespan
        out.append([m(jobs, "seq", 2), m(jobs, "threads_gil", 2), m(jobs, "threads_ft", 1),
                    m(jobs, "threads_ft", 2), m(jobs, "threads_ft", len(jobs))])
    return out


@task("01.1")
def test_empty_and_bad_input(cost):
    """No jobs take 0 s; unknown models, cores < 1 and negative times raise ValueError"""
    check_table(cost, "makespan", [([], model, 2, 1.0, 0.0) for model in ("seq", "threads_gil", "threads_ft", "procs")],
                "an empty job list takes no time")
    check_raises(cost, "makespan", [([[0, 1]], "green_threads", 1, 0), ([[0, 1]], "seq", 0, 0),
                                    ([[-1, 1]], "seq", 1, 0), ([[1, -1]], "seq", 1, 0), ([[0, 1]], "procs", 1, -0.5)])


# ---------------------------------------------------------------- 01.2 start methods

TABLE = [
    ("linux", (3, 8), ["fork", "spawn", "forkserver"]),
    ("linux", (3, 13), ["fork", "spawn", "forkserver"]),
    ("linux", (3, 14), ["forkserver", "fork", "spawn"]),
    ("linux", (3, 15), ["forkserver", "fork", "spawn"]),
    ("freebsd14", (3, 12), ["fork", "spawn", "forkserver"]),
    ("freebsd14", (3, 14), ["forkserver", "fork", "spawn"]),
    ("darwin", (3, 8), ["spawn", "fork", "forkserver"]),
    ("darwin", (3, 14), ["spawn", "fork", "forkserver"]),
    ("win32", (3, 9), ["spawn"]),
    ("win32", (3, 14), ["spawn"]),
]


@task("01.2")
def test_all_start_methods_table(exercise):
    """all_start_methods() matches CPython's context.py, default first, on every platform and version"""
    check_table(exercise("start_methods"), "all_start_methods", TABLE,
                "all_start_methods() must list what multiprocessing.get_all_start_methods() gives there")


@task("01.2")
def test_default_start_method_table(exercise):
    """default_start_method() is the first of all_start_methods()"""
    check_table(exercise("start_methods"), "default_start_method", [(p, v, e[0]) for p, v, e in TABLE],
                "default_start_method() must give multiprocessing's default there")


@task("01.2")
def test_agrees_with_this_python(exercise):
    """On the Python running the check, the answer equals multiprocessing's own"""
    got, real = exercise("start_methods").run(compare_with_multiprocessing)
    assert got == real, (f"on this Python ({sys.platform}, {sys.version_info[0]}.{sys.version_info[1]}), "
                         f"multiprocessing says {real} but all_start_methods() says {got}")


def compare_with_multiprocessing(module):
    import multiprocessing
    import sys
    return module.all_start_methods(sys.platform, tuple(sys.version_info[:2])), multiprocessing.get_all_start_methods()


@task("01.2")
def test_old_versions_are_out_of_scope(exercise):
    """Versions before 3.8 raise ValueError"""
    check_raises(exercise("start_methods"), "all_start_methods", [("linux", (3, 7)), ("darwin", (2, 7)), ("win32", (3, 7))])


# ---------------------------------------------------------------- 01.3 thread census

@task("01.3")
@pytest.mark.parametrize("n", [1, 4, 25])
def test_counts_exactly_and_leaks_nothing(exercise, n):
    """Returns (n, 0), starts exactly n threads, and none outlives the call"""
    result = exercise("thread_census").run(census, n)
    assert result["starts"] == n, f"measure_live_threads({n}) started {result['starts']} threads, not {n}"
    assert result["value"] == [n, 0], f"measure_live_threads({n}) returned {result['value']}, expected ({n}, 0)"
    assert result["left_alive"] == [], f"measure_live_threads({n}) left threads running: {result['left_alive']}"


def census(module, n):
    """Count Thread.start calls during the call and list the threads still alive after it."""
    import threading
    starts = []
    real_start = threading.Thread.start

    def counting_start(self):
        starts.append(self.name)
        return real_start(self)

    before = set(threading.enumerate())
    threading.Thread.start = counting_start
    try:
        value = module.measure_live_threads(n)
    finally:
        threading.Thread.start = real_start
    left = [t.name for t in threading.enumerate() if t not in before]
    return {"value": list(value), "starts": len(starts), "left_alive": left}


@task("01.3")
def test_zero_and_negative(exercise):
    """n == 0 starts nothing and returns (0, 0); n < 0 raises ValueError"""
    result = exercise("thread_census").run(census, 0)
    assert result == {"value": [0, 0], "starts": 0, "left_alive": []}, f"measure_live_threads(0) gave {result}"
    check_raises(exercise("thread_census"), "measure_live_threads", [(-1,)])


# ---------------------------------------------------------------- 01.4 spawn bug hunt

@task("01.4")
def test_sum_of_squares_under_spawn(exercise):
    """sum_of_squares() gives the right sum with a spawn pool"""
    numbers = list(range(-50, 200))
    got = exercise("parallel_squares").call("sum_of_squares", numbers, 2, timeout=60)
    assert got == sum(x * x for x in numbers), f"sum_of_squares(range(-50, 200)) should be {sum(x * x for x in numbers)}, got {got}"


@task("01.4")
def test_squares_are_computed_in_worker_processes(exercise):
    """The squares are computed by spawned worker processes, not by the caller"""
    result = exercise("parallel_squares").run(count_spawned_workers, timeout=60)
    assert result["value"] == 14, f"sum_of_squares([1, 2, 3], workers=2) should be 14, got {result['value']}"
    assert 1 <= result["spawned"] <= 2, \
        f"expected 1 or 2 spawned worker processes for workers=2, saw {result['spawned']}"


def count_spawned_workers(module):
    import multiprocessing.context as context
    spawned = []
    real = context.SpawnProcess._Popen

    def counting(process_obj):
        spawned.append(1)
        return real(process_obj)

    context.SpawnProcess._Popen = staticmethod(counting)
    try:
        value = module.sum_of_squares([1, 2, 3], 2)
    finally:
        context.SpawnProcess._Popen = staticmethod(real)
    return {"value": value, "spawned": len(spawned)}
