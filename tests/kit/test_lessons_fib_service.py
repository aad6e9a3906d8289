"""Kit tests of lessons.fib_service: fib and the percentile, the accept counter, every mode
serving right answers from the workers it claims and stopping cleanly, the accept spread's
totals, a short measurement's shape, the free-threaded modes (skipped without 3.13t) and the plot.

Deterministic: readiness is the server's own JSON line, and the counter test steers a
non-blocking socket by hand; no sleeps. Numbers are never asserted here, only shapes.
"""

from __future__ import annotations

import os
import socket

import pytest

from lessons import fib_service as fs
from lessons import freethreaded

SAFETY = 30.0   # seconds: turns a hang into a failure, never a bound on speed


def test_fib_and_nearest_rank_percentile():
    assert [fs.fib(n) for n in range(10)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]
    assert fs.timed_fib(20)[0] == 6765
    values = [float(v) for v in range(1, 101)]
    assert fs.percentile(values, 50) == 50.0 and fs.percentile(values, 99) == 99.0
    assert fs.percentile([3.0], 99) == 3.0
    assert fs.percentile([], 50) != fs.percentile([], 50)      # NaN for no samples


def test_counting_socket_tells_an_empty_wake_up_from_the_end_of_a_batch():
    sock = fs.listener()
    sock.setblocking(False)
    with sock:
        with pytest.raises(BlockingIOError):
            sock.accept()                                   # woken for nothing
        assert (sock.accepted, sock.eagains, sock.empty_wakeups) == (0, 1, 1)
        with socket.create_connection(sock.getsockname(), timeout=SAFETY):
            sock.setblocking(True)                          # wait for the handshake: no race
            conn, _ = sock.accept()
            conn.close()
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.accept()                               # the end of a batch that got one
            assert (sock.accepted, sock.eagains, sock.empty_wakeups) == (1, 2, 1)
            with pytest.raises(BlockingIOError):
                sock.accept()
            assert sock.empty_wakeups == 2


def _serve_a_few(mode: fs.Mode, workers: int = 2, n: int = 12) -> fs.Server:
    with fs.Server(mode, workers) as server:
        for i in range(n):
            value, took = fs.request(server.port, i % 15, timeout=SAFETY)
            assert value == fs.fib(i % 15) and took >= 0
        assert server.info["ready"] and server.info["mode"] == mode.mode
    return server


@pytest.mark.parametrize("way", fs.modes(), ids=lambda m: m.label)
def test_every_mode_answers_and_reports_its_workers(way):
    server = _serve_a_few(way)
    stats = server.stats
    assert sum(w["requests"] for w in stats) == 12
    assert sum(w["accepted"] for w in stats) == 12          # one connection per request
    if way.mode == "prefork":
        pids = {w["pid"] for w in stats}
        assert len(stats) == 2 and len(pids) == 2 and server.proc.pid not in pids and os.getpid() not in pids
    else:
        assert len(stats) == 1 and stats[0]["pid"] == server.proc.pid
    assert server.proc.returncode == 0


def test_threads_mode_runs_one_loop_per_thread_in_one_process():
    for accept in ("shared", "reuseport"):
        stats = _serve_a_few(fs.Mode("threads", "threads", accept)).stats
        assert len(stats) == 2 and len({w["pid"] for w in stats}) == 1
        assert sorted(w["thread"] for w in stats) == ["loop-0", "loop-1"]


def test_pool_mode_computes_long_requests_in_the_pool_and_short_ones_on_the_loop():
    with fs.Server(fs.Mode("pool", "pool"), 2) as server:
        assert fs.request(server.port, fs.CUTOFF + 2, timeout=SAFETY)[0] == fs.fib(fs.CUTOFF + 2)
        assert fs.request(server.port, 1, timeout=SAFETY)[0] == 1
    (w,) = server.stats
    assert w["requests"] == 2 and len(w["long_compute_s"]) == 1     # only n >= CUTOFF is timed


@pytest.mark.parametrize("way", fs.modes()[2:], ids=lambda m: m.label)
def test_spread_counts_every_connection_once(way):
    rows = fs.spread(way, connections=40)
    assert [r["worker"] for r in rows] == [0, 1]
    assert sum(r["accepted"] for r in rows) == 40
    assert all(r["empty_wakeups"] >= 0 and r["sleeps"] >= 0 for r in rows)


def test_measure_returns_the_shapes_the_lesson_reads():
    r = fs.measure(fs.Mode("loop + process pool", "pool"), seconds=0.4, long_n=22)
    assert r["long_done"] >= 1 and r["short_done"] >= 1 and not r["errors"]
    assert r["short_p50"] <= r["short_p99"] <= r["short_max"]
    assert r["long_compute_p50"] > 0 and r["python"].startswith("3.")
    assert "loop + process pool" in fs.table([r])


def test_a_server_that_cannot_start_says_why():
    with pytest.raises(RuntimeError, match="did not answer"):
        with fs.Server(fs.Mode("broken", "nonsense"), 1):
            pass


needs_ft = pytest.mark.skipif(freethreaded.find() is None, reason="no free-threaded 3.13t here")


@needs_ft
def test_freethreaded_modes_run_without_and_with_the_gil():
    ways = fs.modes(str(freethreaded.find()))[-3:]
    assert [w.gil for w in ways] == [None, None, True]
    for way in (ways[0], ways[2]):
        server = _serve_a_few(way)
        assert server.info["python"].startswith("3.13")
        assert server.info["gil"] is bool(way.gil)


def test_plot_draws_two_panels():
    import matplotlib
    matplotlib.use("Agg")
    r = {"label": "x", "long_n": 22, "long_rps": 5.0, "short_p50": 1e-4, "short_p99": 1e-3}
    fig = fs.plot([r, {**r, "label": "y"}])
    assert len(fig.axes) == 2
    import matplotlib.pyplot as plt
    plt.close(fig)
