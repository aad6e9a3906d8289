"""Kit tests of lessons.asyncio_probe: asyncio and the teaching loop choose the same select
timeouts and run callbacks in the same order for the demo program; virtual time; the
stack-ripping tracebacks; the CPython map against the source mirror (skipped without it)."""

import selectors
import socket
import subprocess
from pathlib import Path

import pytest

from lessons.asyncio_probe import (CPYTHON_TAGS, RecordingSelector, asyncio_timeouts, cpython_map,
                                   equal_timer_order, stack_ripping_traceback, teaching_timeouts,
                                   virtual_sleep)

DEMO_TIMEOUTS = [0, 0, 1.0, 0.5, None, 86400, 43200.0]
DEMO_ORDER = ["first", "second", "at_one_a", "at_one_b", "feed", "on_readable:x", "finish"]


def test_asyncio_and_teaching_loop_agree():
    real, toy = asyncio_timeouts(), teaching_timeouts()
    assert real["timeouts"] == toy["timeouts"] == DEMO_TIMEOUTS
    assert real["order"] == toy["order"] == DEMO_ORDER
    assert real["calls"] == toy["calls"]              # same loop time and event count per select
    assert real["end_time"] == toy["end_time"] == 1.5 + 1.5 * 24 * 3600


def test_a_different_program_is_compared_too():
    def program(loop, log):
        def later():
            log.append("later")
            loop.call_soon(loop.stop)
        loop.call_later(7.25, later)
        loop.call_later(2.0, log.append, "early")
    real, toy = asyncio_timeouts(program), teaching_timeouts(program)
    assert real["timeouts"] == toy["timeouts"] == [2.0, 5.25, 0]
    assert real["order"] == toy["order"] == ["early", "later"]


def test_virtual_sleep_takes_loop_time_not_wall_time():
    out = virtual_sleep(3600)
    assert out["virtual"] == 3600.0
    assert 3600.0 in out["timeouts"]


def test_recording_selector_records_real_and_virtual_selects():
    a, b = socket.socketpair()
    try:
        with RecordingSelector() as sel:
            sel.register(a, selectors.EVENT_READ)
            b.send(b"x")
            assert len(sel.select(5)) == 1           # 5: a safety bound, data is already there
            assert sel.calls[0]["timeout"] == 5 and sel.calls[0]["events"] == 1
        with RecordingSelector(virtual=True, start=10.0) as sel:
            sel.register(a, selectors.EVENT_READ)
            assert len(sel.select(3)) == 1 and sel.now == 10.0   # ready: no time passes
            a.recv(1)
            assert sel.select(3) == [] and sel.now == 13.0        # idle: time jumps
            with pytest.raises(RuntimeError, match="forever"):
                sel.select(None)
    finally:
        a.close()
        b.close()


def test_stack_ripping():
    out = stack_ripping_traceback()
    cb, co = out["callbacks"], out["coroutines"]
    # callbacks: the earlier steps' frames are gone; only the loop's frames lie under read_reply
    assert cb["traceback_functions"] == ["_run", "read_reply", "parse"]
    for gone in ("fetch", "connect", "send_request"):
        assert gone not in cb["functions"], cb["stack"]
        assert f"in {gone}\n" not in cb["stack"]
    assert cb["functions"][-5:] == ["run_forever", "run_once", "_run", "read_reply", "parse"]
    # coroutines: the chain of awaits is there, in order
    chain = ["main_async", "fetch_async", "read_reply_async", "parse"]
    assert co["traceback_functions"] == chain
    assert co["functions"][-4:] == chain, co["stack"]
    assert "_run_once" in co["functions"]            # under the coroutines: asyncio's loop
    for text in (cb["stack"], co["stack"], cb["traceback"], co["traceback"]):
        assert "ParseError: cannot parse the reply b'not a number\\n'" in text
        assert "/work/" not in text and "File \"lessons/asyncio_probe.py\"" in text


MIRROR = Path("/work/.mirror/sailfishos-mirror+cpython/repo")


def _source(tag: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", str(MIRROR), "show", f"{tag}:{path}"],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(not MIRROR.exists(), reason="no CPython mirror on this machine")
def test_cpython_map_names_functions_that_exist_at_every_tag():
    import re
    rows = cpython_map()
    assert len(rows) >= 10
    for row in rows:
        assert set(row) == {"step", "teaching", "file", "function", "tags", "differs"}
        names = re.findall(r"(?:\w+\.)?(\w+)", row["function"].split("(")[0])
        for tag in CPYTHON_TAGS:
            text = _source(tag, row["file"])
            for name in names:
                assert re.search(rf"^\s+def {name}\(", text, re.M), (tag, row["file"], name)


@pytest.mark.skipif(not MIRROR.exists(), reason="no CPython mirror on this machine")
def test_cpython_map_differences_are_as_stated():
    base, sel, ev = "Lib/asyncio/base_events.py", "Lib/asyncio/selector_events.py", "Lib/asyncio/events.py"
    claims = [   # (file, needle, tags where it must be present; absent at the others)
        (base, "end_time = now + max(self._clock_resolution, math.ulp(now))", {"v3.15.0rc1"}),
        (base, "end_time = self.time() + self._clock_resolution", {"v3.11.9", "v3.13.9", "v3.14.0"}),
        (base, "timeout = min(max(0, when - self.time()), MAXIMUM_SELECT_TIMEOUT)", {"v3.11.9"}),
        (base, "events._ThreadSafeHandle(", {"v3.14.0", "v3.15.0rc1"}),
        (base, "def _run_forever_setup(", {"v3.13.9", "v3.14.0", "v3.15.0rc1"}),
        (sel, "def _add_reader(self, fd, callback, *args, context=None):", {"v3.15.0rc1"}),
        (sel, "self._add_callback(reader)", set(CPYTHON_TAGS)),
        (ev, "return self._when < other._when", set(CPYTHON_TAGS)),
        (base, "_MIN_SCHEDULED_TIMER_HANDLES = 100", set(CPYTHON_TAGS)),
        (base, "_MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5", set(CPYTHON_TAGS)),
        (base, "ntodo = len(self._ready)", set(CPYTHON_TAGS)),
    ]
    for path, needle, present in claims:
        for tag in CPYTHON_TAGS:
            assert (needle in _source(tag, path)) == (tag in present), (tag, path, needle)
    assert "def _run_forever_setup(" not in _source("v3.12.0", base)


def test_equal_timers_fifo_on_the_toy_not_on_asyncio():
    out = equal_timer_order(8)
    assert out["teaching"] == list(range(8))
    assert sorted(out["asyncio"]) == list(range(8)) and out["asyncio"] != list(range(8))
    assert equal_timer_order(2)["asyncio"] == [0, 1]   # why the demo program uses two


def test_the_asyncio_experiments_run_where_a_loop_is_already_running() -> None:
    """A Jupyter kernel's thread runs ipykernel's asyncio loop; the probes must work there too."""
    import asyncio

    from lessons import asyncio_probe

    async def inside_a_running_loop() -> tuple:
        return (asyncio_probe.asyncio_timeouts()["timeouts"], asyncio_probe.virtual_sleep(60)["virtual"],
                asyncio_probe.stack_ripping_traceback()["coroutines"]["traceback_functions"][-1])

    timeouts, slept, last = asyncio.run(inside_a_running_loop())
    assert timeouts == asyncio_probe.teaching_timeouts()["timeouts"]
    assert slept == 60 and last == "parse"
