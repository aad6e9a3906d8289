"""Lesson 03's c10k measurement (lessons.c10k) at small sizes: shapes, not speeds.

What cannot vary with load: one row per (size, design) in order, the thread server has one
thread per connection and the selector server one thread in all, every active round trip is
measured, and the memory reserved per connection is far larger for a thread (its stack) than
for a selector key. No test has a time bound.
"""

import sys

import pytest

from lessons import c10k

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the servers' memory is read from Linux's /proc")


@pytest.fixture(scope="module")
def rows():
    return c10k.run_c10k(sizes=(20, 50), round_trips=50)


def test_one_row_per_size_and_design_in_order(rows):
    assert [(r["design"], r["n"]) for r in rows] == [
        ("threads", 20), ("selector", 20), ("threads", 50), ("selector", 50)]
    for r in rows:
        assert r["skipped"] is None, r
        assert r["somaxconn"] is None or r["somaxconn"] > 0
        assert r["rlimit_nofile_server"] is None or r["rlimit_nofile_server"] >= 50


def test_a_thread_per_connection_against_one_thread(rows):
    for r in rows:
        if r["design"] == "threads":
            assert r["threads"] >= r["n"] + 1, r   # the accept loop plus one per connection
            assert r["stack_size"] == 0             # the default stack size, as the brief says
        else:
            assert r["threads"] == 1, r


def test_active_round_trips_are_all_measured(rows):
    for r in rows:
        assert r["round_trips"] == r["active"] * 50
        assert r["throughput_rps"] > 0
        assert len(r["throughput_rps_all"]) == 3                      # three runs, the median kept
        assert r["throughput_rps"] == sorted(r["throughput_rps_all"])[1]
        assert 0 < r["p50_s"] <= r["p99_s"]


def test_threads_reserve_and_use_more_memory_per_connection(rows):
    by = {(r["design"], r["n"]): r for r in rows}
    threads, selector = by["threads", 50], by["selector", 50]
    assert threads["vmsize_per_conn_kib"] > selector["vmsize_per_conn_kib"]
    grew = {name: r["rss_kib"] - r["rss_kib_before"] for name, r in (("threads", threads),
                                                                     ("selector", selector))}
    assert grew["threads"] > grew["selector"], grew


def test_a_size_past_the_descriptor_limit_is_skipped_with_the_reason():
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY or hard > 10**6:
        pytest.skip(f"RLIMIT_NOFILE hard limit is {hard}: no size is too large to try here")
    (row,) = c10k.run_c10k(sizes=(hard,), designs=("selector",), round_trips=5)
    assert row["skipped"] and "RLIMIT_NOFILE" in row["skipped"] and str(hard) in row["skipped"]


def test_unknown_design_is_refused():
    with pytest.raises(ValueError):
        c10k.run_c10k(sizes=(5,), designs=("fibers",))


def test_plot_draws_three_panels(rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = c10k.plot_c10k(rows + [{"design": "threads", "n": 99, "skipped": "too many"}])
    assert len(fig.axes) == 3
    plt.close(fig)
