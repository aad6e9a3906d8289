"""Kit tests of lessons.gevent_lab and lessons.both_ways: each experiment, run in its subprocess,
gives the shape lesson 08 asserts (orders, exact counts, a ratio against the same run's control),
and importing either module leaves gevent out of the importing process."""

import subprocess
import sys

import pytest

from lessons import both_ways as bw
from lessons import gevent_lab as gl
from lessons import probe


def test_importing_the_modules_does_not_import_gevent():
    code = ("import sys; import lessons.gevent_lab, lessons.both_ways; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'gevent'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=probe.child_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"the kernel would import gevent: {done.stdout.strip()}"


@pytest.mark.parametrize("loop, module, backend", [(None, "gevent.libev.corecext", "epoll"),
                                                   ("libuv", "gevent.libuv.loop", None)])
def test_hub_is_a_greenlet_on_either_loop(loop, module, backend):
    h = gl.hub(loop)
    assert h["hub_is_greenlet"] and h["hub_parent_is_main"], h
    assert h["loop_module"] == module, h
    if backend:
        assert h["backend"] == backend, h
    assert h["order"] == ["fast", "mid", "slow"], "the same program wakes in the same order on both loops"


def test_patched_sleepers_overlap_unpatched_run_in_series():
    r = gl.sleepers(6, 0.04)
    assert r["time_patched"]
    assert r["unpatched_s"] >= 6 * 0.04 * 0.95, f"real time.sleep blocks the thread: {r}"
    assert r["ratio"] > 2, f"patched sleeps should overlap, several times faster than the control: {r}"


def test_switch_points_after_patch_all():
    r = gl.switch_points()
    assert r["before_socket"] == "socket.socket" and r["after_socket"] == "gevent._socket3.socket"
    assert r["lock_class"] == "gevent.thread.LockType" and r["sleep_is_gevent"]
    assert all(r["patched"][m] for m in ("socket", "time", "select", "threading", "ssl")), r["patched"]
    assert (r["idents_before"], r["idents_after"]) == (1, 3), "get_ident names the greenlet once patched"


def test_round_robin_is_exact():
    r = gl.round_robin(3, 4)
    assert r["trace"] == r["expected"]


def test_cpu_loop_freezes_the_hub_and_sleep0_unfreezes_it():
    r = gl.freeze(300_000, 10_000)
    assert r["beats_no_yield"] == 0, r
    assert r["beats_with_sleep0"] == r["yields"] == 30, "one heartbeat per sleep(0), in strict turn"


def test_c_sleep_bypasses_the_hub():
    r = gl.c_sleep(0.05)
    assert r["beats_libc_usleep"] == 0 and r["beats_patched_sleep"] > 0, r


@pytest.mark.parametrize("lock", [False, True])
def test_lost_update_at_a_hidden_switch_point(lock):
    r = gl.lost_update(4, lock)
    assert r["lock_class"] == "gevent.thread.LockType"
    assert (r["lost"] == 0) if lock else (r["lost"] > 0), r


def test_colouring_counts():
    c = bw.colouring()
    assert c["became_async"] == c["functions"] == ["crawl", "fetch_page", "http_get"]
    assert c["awaits"] == 5 and c["added_lines"] == 11 and c["removed_lines"] == 11
    assert "+    stats[\"bytes\"] += len(await http_get(url))" in c["diff"]


@pytest.mark.parametrize("mode", bw.MODES)
def test_one_program_each_way(mode):
    r = bw.run(mode)
    assert r["slow_requested"] and r["stats"]["pages"] == len(bw.PATHS) == r["done"], r
    if mode in ("serial", "gevent_c"):
        assert r["others_while_slow_held"] == 0 and r["lost_bytes"] == 0, r
    else:
        assert r["others_while_slow_held"] == len(bw.PATHS) - 1, r
        assert r["lost_bytes"] > 0, f"{mode}: the read-before-call in += should lose bytes: {r}"
    assert (r["socket_class"] == "gevent._socket3") == (mode == "gevent"), r


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        bw.run("fibers")


def test_monitor_thread_reports_a_frozen_hub():
    r = gl.monitor()
    assert r["reported"] and r["report_names_the_loop"], r
    assert r["beats_during_spin"] == 0, r
