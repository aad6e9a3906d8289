"""Lesson 03's readiness measurements (lessons.readiness): what they report, not how fast.

The demos are deterministic (every poll has timeout 0 and the data is queued before it), so
their counts are exact. The timed probes are checked for shape only: every row present, the
select row past FD_SETSIZE refused with its reason, and orders wide enough (a factor of ~100
on this kind of machine) that a loaded machine cannot flip them. No test has a time bound.
"""

import sys

import pytest

from lessons import readiness

LINUX = sys.platform.startswith("linux")
pytestmark = pytest.mark.skipif(not LINUX,
                                reason="epoll and strace are Linux's; lesson 03 measures on Linux")


@pytest.fixture(scope="module")
def costs():
    return readiness.selector_costs(sizes=(10, 2000), repeat=3)


def test_selector_costs_has_a_row_per_kind_and_size(costs):
    rows = {(r["kind"], r["n"]): r for r in costs["rows"]}
    assert set(rows) == {(k, n) for k in readiness.KINDS for n in (10, 2000)}
    for (kind, n), r in rows.items():
        if (kind, n) == ("select", 2000):
            continue
        assert r["possible"] and r["seconds"] > 0, f"{kind} with {n} descriptors: {r}"
        assert r["max_fd"] >= n - 1
    assert rows["select", 10]["register_seconds"] == 0     # nothing registered: passed each call
    assert rows["poll", 2000]["register_seconds"] > 0 and rows["epoll", 2000]["register_seconds"] > 0
    assert costs["fd_setsize"] == 1024
    assert costs["rlimit_nofile"]["soft"] is None or costs["rlimit_nofile"]["soft"] >= 2000


def test_select_cannot_watch_a_descriptor_past_fd_setsize(costs):
    row = next(r for r in costs["rows"] if r["kind"] == "select" and r["n"] == 2000)
    assert row["max_fd"] >= 1024
    assert row["possible"] is False and row["seconds"] is None
    assert "FD_SETSIZE" in row["reason"] and "ValueError" in row["reason"]


def test_poll_grows_with_the_set_and_epoll_does_not(costs):
    t = {(r["kind"], r["n"]): r["seconds"] for r in costs["rows"]}
    assert t["poll", 2000] > t["poll", 10]
    assert t["epoll", 2000] < t["poll", 2000]


def test_level_triggered_reports_until_drained_and_edge_triggered_once():
    demo = readiness.level_triggered_demo(total=2000, per_read=100)
    assert demo["level"] == {"wakeups": 20, "bytes_read": 2000, "left_behind": 0, "recv_calls": 20}
    assert demo["edge"]["wakeups"] == 1 and demo["edge"]["left_behind"] == 1900
    assert demo["edge_drained"]["wakeups"] == 1 and demo["edge_drained"]["left_behind"] == 0
    # draining reads 20 chunks, and one more recv to learn that nothing is left
    assert demo["edge_drained"]["recv_calls"] == 21


def test_level_triggered_demo_refuses_nonsense():
    with pytest.raises(ValueError):
        readiness.level_triggered_demo(total=10, per_read=0)


def test_a_regular_file_is_always_ready_and_epoll_refuses_it():
    ev = readiness.file_always_ready()
    assert ev["select_readable"] and ev["select_writable"]
    assert "POLLIN" in ev["poll_events"] and "POLLOUT" in ev["poll_events"]
    assert ev["read_returns"] == "b''"
    assert ev["epoll_errno"] == "EPERM", ev["epoll"]


def test_non_blocking_connect_reports_through_writability():
    ev = readiness.connect_in_progress()
    ok, refused = ev["listening"], ev["closed"]
    assert ok["raised"] == "BlockingIOError" and ok["errno"] == "EINPROGRESS"
    assert ok["writable"] and ok["so_error"] == 0
    assert refused["writable"] and refused["so_error_name"] == "ECONNREFUSED"


def test_busy_waiting_uses_cpu_and_a_selector_does_not():
    res = readiness.busy_vs_select_cpu(delay=0.05)
    assert res["busy"]["got"] == res["selector"]["got"] == "reply"
    assert res["busy"]["recv_calls"] > 1          # it found nothing, and tried again
    assert res["selector"]["select_calls"] == 1   # one wait, woken by the reply
    assert res["busy"]["cpu_s"] > res["selector"]["cpu_s"]


def test_parse_strace_summary_reads_both_table_shapes():
    text = """% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 60.00    0.000600          10        60        50 recvfrom
 40.00    0.000400          20        20           sendto
------ ----------- ----------- --------- --------- ----------------
100.00    0.001000          12        80        50 total
"""
    assert readiness._parse_strace_summary(text) == {
        "recvfrom": {"calls": 60, "errors": 50}, "sendto": {"calls": 20, "errors": 0}}


needs_strace = pytest.mark.skipif(bool(readiness.syscall_counts_unavailable()),
                                  reason=str(readiness.syscall_counts_unavailable()))


@needs_strace
@pytest.mark.parametrize("design", readiness.DESIGNS)
def test_syscall_counts_shape(design):
    res = readiness.syscall_counts(design, clients=2, messages=10)
    calls = res["calls"]
    assert res["total"] >= sum(calls.values()) > 0
    # each echo is one recv and one send, plus one recv per client for the EOF
    assert calls.get("recvfrom", 0) >= 2 * 10 + 2 and calls.get("sendto", 0) >= 2 * 10
    waits = calls.get("epoll_wait", 0) + calls.get("epoll_pwait", 0)
    if design == "selector":
        assert waits > 0
    else:
        assert waits == 0
    if design == "busy":   # it tries while the clients think: recv fails with EAGAIN
        assert res["errors"].get("recvfrom", 0) > 0
    else:
        assert res["errors"].get("recvfrom", 0) == 0


def test_syscall_counts_without_strace_says_why(monkeypatch):
    monkeypatch.setattr(readiness.shutil, "which", lambda name: None)
    assert "strace is not installed" in readiness.syscall_counts_unavailable()
    assert readiness.syscall_counts("selector") is None
    with pytest.raises(ValueError):
        readiness.syscall_counts("fibers")


def test_plots_draw(costs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = readiness.plot_selector_costs(costs)
    assert ax.get_xscale() == "log" and len(ax.get_lines()) >= 3
    plt.close("all")
    fake = [{"design": d, "clients": 2, "messages": 10,
             "calls": {"recvfrom": 22, "sendto": 20, "futex": 0}} for d in readiness.DESIGNS]
    readiness.plot_syscall_counts(fake)
    plt.close("all")
