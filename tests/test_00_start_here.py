"""Graded tests of 00_start_here. The code under test runs in a child process (see
coursekit.runner); these functions only send inputs and judge the plain data that comes back.

PYTEST_DONT_REWRITE: a failing assert reads as its message alone, so every assert here has
one, written for the learner (see coursekit.testing).
"""

import pytest

from coursekit.testing import check_raises, check_table

task = pytest.mark.task


@pytest.fixture
def warmup(exercise):
    return exercise("warmup")


@task("00.1")
def test_even_split(warmup):
    """Six jobs for three workers: two each, in order"""
    check_table(warmup, "split_evenly", [([1, 2, 3, 4, 5, 6], 3, [[1, 2], [3, 4], [5, 6]])],
                "six items in three batches: two each, in the order of the items")


@task("00.1")
def test_extra_items_go_first(warmup):
    """The first len % n batches get one extra item"""
    check_table(warmup, "split_evenly", [(list(range(11)), 4, [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10]])],
                "11 items in 4 batches: 11 % 4 = 3, so the first three batches hold one extra item")


@task("00.1")
def test_more_workers_than_jobs(warmup):
    """More batches than items: the last batches are empty"""
    check_table(warmup, "split_evenly", [(["a"], 3, [["a"], [], []]), ([], 2, [[], []])],
                "with more batches than items, the last batches are empty lists")


@task("00.1")
def test_sizes_and_order_for_many_cases(warmup):
    """For every length 0..30 and n 1..8: n batches, sizes differ by at most one, order kept"""
    cases = [(length, n) for length in range(31) for n in range(1, 9)]
    got = warmup.run(split_many, cases)
    for (length, n), batches in zip(cases, got):
        sizes = [len(b) for b in batches]
        assert len(batches) == n, f"split_evenly(range({length}), {n}) made {len(batches)} batches, not {n}"
        assert [x for b in batches for x in b] == list(range(length)), \
            f"split_evenly(range({length}), {n}): joining the batches does not give back the items"
        assert max(sizes) - min(sizes) <= 1, \
            f"split_evenly(range({length}), {n}) made batches of sizes {sizes}: sizes may differ by one at most"
        assert sizes == sorted(sizes, reverse=True), \
            f"split_evenly(range({length}), {n}) made batches of sizes {sizes}: the bigger batches must come first"


def split_many(module, cases):
    return [module.split_evenly(list(range(length)), n) for length, n in cases]


@task("00.1")
def test_rejects_zero_batches(warmup):
    """n < 1 raises ValueError"""
    check_raises(warmup, "split_evenly", [([1, 2], 0), ([1, 2], -2)])
