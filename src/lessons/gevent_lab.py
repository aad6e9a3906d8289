"""gevent's hub, its monkey patching and the three ways to freeze it, each run in a subprocess.

Lesson 08 uses it like this::

    from lessons import gevent_lab as gl
    gl.hub()                      # the hub greenlet, its loop class and backend (libev, epoll)
    gl.hub(loop="libuv")          # the same program on gevent's libuv loop
    gl.sleepers(patched=True)     # N greenlets call time.sleep(d): serial unpatched, overlapping patched
    gl.switch_points()            # what monkey.patch_all() replaced
    gl.round_robin()              # the exact order of gevent.sleep(0) hand-offs
    gl.freeze()                   # heartbeats while a CPU loop runs: 0, or many with sleep(0)
    gl.c_sleep()                  # heartbeats while ctypes' libc usleep() runs: 0, even patched
    gl.monitor()                  # gevent's monitor thread reporting a CPU loop that froze the hub
    gl.lost_update(lock=False)    # a read-modify-write across a hidden switch point

Why a subprocess for everything. ``gevent.monkey.patch_all()`` replaces ``socket``, ``time.sleep``,
``threading``, ``select``, ... in the *whole* process, and there is no supported way back. The
notebook's kernel runs threads of its own (ipykernel's heartbeat and I/O threads) and must keep
its real ``threading`` and ``socket``; so this module never imports gevent at the top, each public
function runs ``main([...])`` in a fresh interpreter (``lessons.probe.run_json``) and reads back one
JSON line. Only the child imports gevent, and only the child patches.

Where the facts come from: gevent 26.9.0 as installed in the venv, and the tag ``26.5.0`` of
github:gevent/gevent (the newest tag in the course's mirror; of the files named here only
``hub.py`` differs from 26.9.0's, in two lines of ``Hub.destroy``):

- ``src/gevent/hub.py``, ``class Hub`` and ``Hub.run``: the hub is a greenlet (its class derives
  from ``greenlet.greenlet``) whose ``run()`` calls ``self.loop.run()`` in a loop that never
  returns. A greenlet that must wait calls ``hub.switch()``
  (``src/gevent/_greenlet_primitives.py``, ``SwitchOutGreenletWithLoop.switch``), and the loop
  switches back to it when its watcher fires. ``hub.py``, ``sleep()``: ``sleep(0)`` is
  ``loop.run_callback(waiter.switch, None)`` then ``waiter.get()``, so the caller goes to the
  back of the loop's callback queue.
- ``src/gevent/_config.py``, ``class Loop``: the loop comes from ``GEVENT_LOOP`` (or
  ``gevent.config.loop``). On POSIX the default is ``['libev-cext', 'libev-cffi', 'libuv-cffi']``,
  and the short names map ``libev-cext`` to ``gevent.libev.corecext.loop`` and ``libuv`` to
  ``gevent.libuv.loop.loop``.
- ``src/gevent/monkey/api.py``, ``patch_all()``; ``src/gevent/monkey/_state.py``,
  ``is_module_patched()``; ``src/gevent/_socketcommon.py``, ``SocketMixin.recv``: a patched
  socket is non-blocking underneath. On ``EWOULDBLOCK`` it calls ``self._wait(self._read_event)``
  (``_hub_primitives.wait_on_socket``), which switches to the hub. That is what makes every
  blocking call an implicit switch point (隐式切换点).

The measurements return orders and counts that do not depend on the machine (an order of
hand-offs, a count of heartbeats that is exactly 0) and ratios against a control measured in the
same child (the unpatched run of the same sleepers).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from lessons import probe

#: How long each sleeper sleeps in ``sleepers()`` (seconds), and how many there are.
SLEEP_S = 0.05
SLEEPERS = 8


def _run(args: list[str], env: dict[str, str] | None = None, timeout: float = 120.0) -> Any:
    """Run ``main(args)`` of this module in a fresh interpreter of this kernel's Python."""
    import subprocess

    done = subprocess.run(probe.command("gevent_lab", args), capture_output=True, text=True,
                          env=probe.child_env(**(env or {})), timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"gevent experiment {args!r} failed:\n{done.stderr.strip()}")
    return probe.last_json_line(done.stdout)


# ---------------------------------------------------------------------------------------------
# The parent's side: one function per experiment, each a subprocess.

def hub(loop: str | None = None) -> dict[str, Any]:
    """The hub in a fresh process on ``loop`` (None: gevent's default; "libuv"; "libev-cext").

    Returns the hub's class and whether it is a greenlet, its parent, the loop's module, class
    and backend, and the trace of the same three-greenlet program (``_same_program``)."""
    env = {"GEVENT_LOOP": loop} if loop else {}
    return _run(["hub"], env=env)


def sleepers(n: int = SLEEPERS, seconds: float = SLEEP_S) -> dict[str, Any]:
    """``n`` greenlets each call ``time.sleep(seconds)``: first unpatched, then (in the same
    child) after ``monkey.patch_time()``. Returns both wall times and their ratio."""
    return _run(["sleepers", str(n), repr(seconds)])


def switch_points() -> dict[str, Any]:
    """What ``monkey.patch_all()`` replaced: modules, ``socket.socket``, ``threading.Lock``,
    and what ``threading.get_ident()`` returns inside three greenlets before and after."""
    return _run(["switch_points"])


def round_robin(greenlets: int = 3, rounds: int = 3) -> dict[str, Any]:
    """The order in which ``greenlets`` greenlets run when each calls ``gevent.sleep(0)``
    ``rounds`` times: a list like ``["a0", "b0", "c0", "a1", ...]``."""
    return _run(["round_robin", str(greenlets), str(rounds)])


def freeze(iterations: int = 2_000_000, every: int = 10_000) -> dict[str, Any]:
    """A heartbeat greenlet counts while another greenlet runs a pure-Python loop of
    ``iterations`` steps: once without yielding, once with ``gevent.sleep(0)`` every ``every``
    steps. Returns the heartbeats seen during each burst."""
    return _run(["freeze", str(iterations), str(every)])


def c_sleep(seconds: float = 0.2) -> dict[str, Any]:
    """In a patched process, heartbeats during ``time.sleep(seconds)`` (gevent's) and during
    libc ``usleep()`` called through ctypes (a C call the hub never hears of)."""
    return _run(["c_sleep", repr(seconds)])


def monitor(max_blocking: float = 0.05) -> dict[str, Any]:
    """With ``gevent.config.monitor_thread`` on, a CPU loop spins (never switching) until the
    monitor thread has reported the hub blocked for ``max_blocking`` seconds. Returns whether it
    did, the heartbeats during the loop, and whether the report's stack names the loop."""
    return _run(["monitor", repr(max_blocking)])


def lost_update(workers: int = 5, lock: bool = False) -> dict[str, Any]:
    """``workers`` greenlets each add 1 to a shared counter ``rounds`` times with a
    ``time.sleep(0)`` (patched: a switch point) between the read and the write; with
    ``lock=True`` inside ``threading.Lock()`` (patched: gevent's lock)."""
    return _run(["lost_update", str(workers), "1" if lock else "0"])


# ---------------------------------------------------------------------------------------------
# The child's side. Everything below runs only in the subprocess, after ``main`` is called.

def _same_program() -> list[str]:
    """Three greenlets sleeping different times: the order they wake in, on any loop."""
    import gevent

    order: list[str] = []

    def nap(name: str, seconds: float) -> None:
        gevent.sleep(seconds)
        order.append(name)

    gevent.joinall([gevent.spawn(nap, n, s) for n, s in (("slow", 0.03), ("fast", 0.0), ("mid", 0.01))])
    return order


def _child_hub() -> dict[str, Any]:
    import gevent
    import greenlet

    h = gevent.get_hub()
    loop = h.loop
    return {
        "python": sys.version.split()[0],
        "gevent": gevent.__version__,
        "hub_class": f"{type(h).__module__}.{type(h).__qualname__}",
        "hub_is_greenlet": isinstance(h, greenlet.greenlet),
        "hub_parent_is_main": h.parent is greenlet.getcurrent(),
        "config_loop": f"{gevent.config.loop.__module__}.{gevent.config.loop.__qualname__}",
        "loop_module": type(loop).__module__,
        "backend": str(getattr(loop, "backend", "?")),
        "order": _same_program(),
    }


def _child_sleepers(n: int, seconds: float) -> dict[str, Any]:
    import gevent

    def wall() -> float:
        start = time.perf_counter()
        gevent.joinall([gevent.spawn(time.sleep, seconds) for _ in range(n)])
        return time.perf_counter() - start

    # The control: time.sleep is the real one, so each greenlet blocks the whole thread
    # (and with it the hub) until it wakes: the sleeps run one after another.
    unpatched = wall()
    from gevent import monkey

    monkey.patch_time()           # time.sleep is now gevent.sleep: a timer in the hub, a switch
    patched = wall()
    return {"n": n, "seconds": seconds, "unpatched_s": unpatched, "patched_s": patched,
            "ratio": unpatched / patched, "time_patched": monkey.is_module_patched("time")}


def _child_switch_points() -> dict[str, Any]:
    import threading

    import gevent

    def idents() -> list[int]:
        out: list[int] = []
        gevent.joinall([gevent.spawn(lambda: out.append(threading.get_ident())) for _ in range(3)])
        return out

    before_ids = idents()
    before_socket = __import__("socket").socket
    from gevent import monkey

    monkey.patch_all()
    import socket

    after_ids = idents()
    mods = ["socket", "time", "select", "threading", "_thread", "ssl", "subprocess", "os", "signal", "queue"]
    return {
        "before_socket": f"{before_socket.__module__}.{before_socket.__qualname__}",
        "after_socket": f"{socket.socket.__module__}.{socket.socket.__qualname__}",
        "lock_class": f"{type(threading.Lock()).__module__}.{type(threading.Lock()).__qualname__}",
        "sleep_is_gevent": time.sleep is gevent.sleep,
        "patched": {m: bool(monkey.is_module_patched(m)) for m in mods},
        "idents_before": len(set(before_ids)),
        "idents_after": len(set(after_ids)),
    }


def _child_round_robin(greenlets: int, rounds: int) -> dict[str, Any]:
    import gevent

    trace: list[str] = []

    def worker(name: str) -> None:
        for i in range(rounds):
            trace.append(f"{name}{i}")
            gevent.sleep(0)       # to the back of the hub's callback queue

    names = [chr(ord("a") + k) for k in range(greenlets)]
    gevent.joinall([gevent.spawn(worker, name) for name in names])
    return {"trace": trace, "expected": [f"{n}{i}" for i in range(rounds) for n in names]}


def _heartbeat(beats: list[int], stop: list[bool]) -> None:
    """Count as fast as the hub lets us: one count per turn of the callback queue."""
    import gevent

    while not stop:
        beats[0] += 1
        gevent.sleep(0)


def _child_freeze(iterations: int, every: int) -> dict[str, Any]:
    import gevent

    def burst(yield_every: int | None) -> int:
        beats, stop = [0], []
        hb = gevent.spawn(_heartbeat, beats, stop)
        gevent.sleep(0)                          # let the heartbeat start
        seen = beats[0]
        x = 0
        for i in range(iterations):
            x += i
            if yield_every and i % yield_every == 0:
                gevent.sleep(0)
        during = beats[0] - seen
        stop.append(True)
        hb.join()
        return during

    return {"iterations": iterations, "every": every,
            "beats_no_yield": burst(None), "beats_with_sleep0": burst(every),
            "yields": len(range(0, iterations, every))}


def _child_c_sleep(seconds: float) -> dict[str, Any]:
    from gevent import monkey

    monkey.patch_all()
    import ctypes
    import ctypes.util

    import gevent

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")

    def during(block: Any) -> int:
        beats, stop = [0], []
        hb = gevent.spawn(_heartbeat, beats, stop)
        gevent.sleep(0)
        seen = beats[0]
        block()
        n = beats[0] - seen
        stop.append(True)
        hb.join()
        return n

    return {
        "seconds": seconds,
        "beats_patched_sleep": during(lambda: time.sleep(seconds)),
        # usleep is C: it blocks the thread inside libc, and the hub (same thread) cannot run.
        "beats_libc_usleep": during(lambda: libc.usleep(int(seconds * 1_000_000))),
    }


def _child_monitor(max_blocking: float) -> dict[str, Any]:
    import gevent
    import gevent.events

    # Set before the hub first runs: Hub.run starts the monitoring thread (a real OS thread).
    gevent.config.monitor_thread = True
    gevent.config.max_blocking_time = max_blocking
    reports: list[Any] = []
    gevent.events.subscribers.append(
        lambda event: reports.append(event) if isinstance(event, gevent.events.EventLoopBlocked) else None)

    def spin_until_reported() -> int:
        # The loop ends on the report itself, not after a fixed time; 30 s is only a safety net.
        start, steps = time.monotonic(), 0
        while not reports and time.monotonic() - start < 30:
            steps += 1
        return steps

    beats, stop = [0], []
    hb = gevent.spawn(_heartbeat, beats, stop)
    gevent.sleep(0)
    seen = beats[0]
    spin_until_reported()
    during = beats[0] - seen
    stop.append(True)
    hb.join()
    first = reports[0] if reports else None
    return {"reported": first is not None, "beats_during_spin": during,
            "max_blocking_time": first.blocking_time if first else None,
            "report_names_the_loop": bool(first) and any("spin_until_reported" in line for line in first.info)}


def _child_lost_update(workers: int, lock: bool) -> dict[str, Any]:
    from gevent import monkey

    monkey.patch_all()
    import threading

    import gevent

    rounds = 20
    counter = [0]
    guard = threading.Lock()      # patched: gevent.thread.LockType, a lock between greenlets

    def back_off() -> None:
        time.sleep(0)             # patched: gevent.sleep(0), a switch point nobody sees here

    def add_one() -> None:
        value = counter[0]
        back_off()
        counter[0] = value + 1

    def worker() -> None:
        for _ in range(rounds):
            if lock:
                with guard:
                    add_one()
            else:
                add_one()

    gevent.joinall([gevent.spawn(worker) for _ in range(workers)])
    expected = workers * rounds
    return {"expected": expected, "got": counter[0], "lost": expected - counter[0], "lock": lock,
            "lock_class": f"{type(guard).__module__}.{type(guard).__qualname__}"}


def main(argv: list[str]) -> None:
    """Child entry point: ``main(["sleepers", "8", "0.05"])`` prints one JSON line."""
    what, args = argv[0], argv[1:]
    if what == "hub":
        result = _child_hub()
    elif what == "sleepers":
        result = _child_sleepers(int(args[0]), float(args[1]))
    elif what == "switch_points":
        result = _child_switch_points()
    elif what == "round_robin":
        result = _child_round_robin(int(args[0]), int(args[1]))
    elif what == "freeze":
        result = _child_freeze(int(args[0]), int(args[1]))
    elif what == "c_sleep":
        result = _child_c_sleep(float(args[0]))
    elif what == "monitor":
        result = _child_monitor(float(args[0]))
    elif what == "lost_update":
        result = _child_lost_update(int(args[0]), args[1] == "1")
    else:
        raise SystemExit(f"unknown experiment {what!r}")
    print(json.dumps(result))
