"""Kit tests of lessons.capstone, the capstone's measuring harness (not graded).

On solutions/: every way answers every request of a short load, closes cleanly, and shows
what its design guarantees - a thread per connection and no worker process for the threads
way, more threads than the one-thread ways, worker processes for the pool ways. On the stubs
in exercises/: a row per way that says "not written yet (12.k)". A half-written module (one
that fails some other way) gets a row saying how. Numbers are never asserted, only shapes.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lessons import capstone

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions" / "12_coroutine_models"
EXERCISES = ROOT / "exercises" / "12_coroutine_models"


@pytest.fixture(scope="module")
def rows():
    return capstone.compare(SOLUTIONS, seconds=1.0, short_clients=4, long_clients=2, long_n=24)


def test_every_way_answers_every_request_and_closes(rows):
    assert [r["way"] for r in rows] == list(capstone.FOUR)
    assert [r["task"] for r in rows] == ["12.4", "12.5", "12.6", "12.7"]
    for r in rows:
        assert r["status"] == "ok", (r["way"], r["status"])
        assert r["short_done"] >= 1 and r["long_done"] >= 1 and not r["errors"]
        assert r["short_p50"] <= r["short_p99"] <= r["short_max"]
        assert r["close_s"] >= 0 and r["python"].startswith("3.")


def test_the_design_shows_in_threads_and_processes(rows):
    by = {r["way"]: r for r in rows}
    # 12.4: a thread per connection (6 here) plus the accept thread; no worker process
    assert by["threads"]["threads_peak"] >= 1 + 1 + 6 and by["threads"]["processes_peak"] == 1
    # one serving thread (and the pool's two) against one per connection
    for way in ("loop", "asyncio"):
        assert by[way]["threads_peak"] < by["threads"]["threads_peak"]
    # every compute in worker processes; two long clients keep both workers busy
    for way in ("pool", "loop", "asyncio"):
        assert by[way]["processes_peak"] >= 2


def test_stubs_give_a_row_that_says_not_written_yet():
    got = capstone.compare(EXERCISES, seconds=0.2)
    assert [r["status"] for r in got] == [f"not written yet ({t})" for t in ("12.4", "12.5", "12.6", "12.7")]
    assert all(math.isnan(r["short_p50"]) and r["short_done"] == 0 for r in got)
    assert "not written yet (12.6)" in capstone.table(got)


def test_a_broken_way_gives_a_row_that_says_why(tmp_path):
    (tmp_path / "fib_loop.py").write_text("def start(port=0, **kwargs):\n    raise OSError('no socket today')\n")
    (row,) = capstone.compare(tmp_path, ways=["loop"], seconds=0.2)
    assert row["status"] == "failed: start() raised OSError: no socket today"


def test_table_and_plot(rows):
    text = capstone.table(rows)
    assert all(r["way"] in text for r in rows) and len(text.splitlines()) == 1 + len(rows)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = capstone.plot(rows)
    try:
        assert len(fig.axes) == 3
    finally:
        plt.close(fig)
