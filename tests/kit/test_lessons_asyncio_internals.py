"""Kit tests of lessons.asyncio_internals: the live call trace (sys.setprofile on 3.11,
sys.monitoring on 3.12+, the same seed names in the same order), the EMFILE back-off and the
backlog loop of _accept_connection, the live names against the policy history, and the
version map and the history re-read from the CPython source mirror (skipped without it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from lessons import asyncio_internals as ai
from lessons import pythons

MIRROR = Path("/work/.mirror/sailfishos-mirror+cpython/repo")
needs_mirror = pytest.mark.skipif(not MIRROR.exists(), reason="no CPython mirror on this machine")


def _other_pythons() -> list[str]:
    """Interpreters 3.12+ on this machine (for sys.monitoring): the free-threaded 3.13t the
    course builds and the newest CPython (``make newest-python``), when present. Under
    ``COURSEKIT_REQUIRE_NEWEST=1`` (CI) a missing 3.14+ one fails the test instead."""
    found = [(path, version) for path, version in ai.interpreters() if version[:2] >= (3, 12)]
    if pythons.required() and not any(version[:2] >= (3, 14) for _path, version in found):
        pytest.fail(pythons.skip_reason((3, 14)))
    return [path for path, _version in found]


def _skip_without_newer() -> None:
    pytest.skip(pythons.skip_reason((3, 12), "sys.monitoring"))


# ---------------------------------------------------------------------- pure helpers

def test_seed_names_and_policy_calls_read_a_trace_in_order():
    trace = {"calls": [
        ["_UnixDefaultEventLoopPolicy.__init__", "asyncio/unix_events.py", 6, "_init_event_loop_policy", "start"],
        ["_UnixSelectorEventLoop.__init__", "asyncio/unix_events.py", 5, "BaseDefaultEventLoopPolicy.new_event_loop", "start"],
        ["BaseSelectorEventLoop._add_reader", "asyncio/selector_events.py", 8, "BaseSelectorEventLoop._make_self_pipe", "start"],
        ["_UnixSelectorEventLoop.create_unix_server", "asyncio/unix_events.py", 7, "main", "resume"],
        ["BaseSelectorEventLoop._accept_connection", "asyncio/selector_events.py", 6, "Handle._run", "start"],
    ]}
    rows = ai.seed_names(trace)
    assert [r["name"] for r in rows] == ["_UnixSelectorEventLoop.__init__", "BaseSelectorEventLoop._add_reader",
                                        "BaseSelectorEventLoop._accept_connection"]   # resumes left out
    assert rows[-1] == {"index": 4, "name": "BaseSelectorEventLoop._accept_connection",
                        "file": "asyncio/selector_events.py", "depth": 6, "caller": "Handle._run"}
    assert ai.policy_calls(trace) == ["_UnixDefaultEventLoopPolicy.__init__"]
    assert ai.call_counts(trace)["BaseSelectorEventLoop._add_reader"] == 1


def test_expected_backlog_split_follows_the_source():
    assert ai.expected_backlog_split((3, 11), 4, 5) == [4, 1]
    assert ai.expected_backlog_split((3, 13), 4, 9) == [4, 4, 1]
    assert ai.expected_backlog_split((3, 14), 4, 5) == [5]
    assert ai.expected_backlog_split((3, 15), 1, 2) == [2]
    assert ai.tag_for((3, 11, 7)) == "v3.11.9" and ai.tag_for((3, 10)) is None


# ---------------------------------------------------------------------- the live call trace

def _check_trace(trace: dict) -> None:
    where = f"on Python {trace['python']} ({trace['tool']})"
    assert trace["echoed"] == "hello\n", where
    rows = ai.seed_names(trace)
    names = [r["name"] for r in rows]
    for name in ai.SEED_NAMES:
        assert name in names, f"{name} never started {where}: {names}"
    first = {name: names.index(name) for name in ai.SEED_NAMES}
    # the loop is made, then the server: create_unix_server -> Server._start_serving ->
    # the loop's _start_serving -> _add_reader; accepting is a callback of a later pass
    assert (first["_UnixSelectorEventLoop.__init__"] < first["_UnixSelectorEventLoop.create_unix_server"]
            < first["BaseSelectorEventLoop._start_serving"]
            < first["BaseSelectorEventLoop._accept_connection"]), (where, names)
    by_name = {r["name"]: r for r in rows}
    assert by_name["BaseSelectorEventLoop._start_serving"]["caller"] == "Server._start_serving", where
    assert by_name["BaseSelectorEventLoop._accept_connection"]["caller"] == "Handle._run", where
    assert by_name["_UnixSelectorEventLoop.create_unix_server"]["file"] == "asyncio/unix_events.py", where
    server_reader = [r for r in rows if r["name"] == "BaseSelectorEventLoop._add_reader"
                     and r["caller"] == "BaseSelectorEventLoop._start_serving"]
    assert len(server_reader) == 1, (where, rows)
    assert (by_name["BaseSelectorEventLoop._start_serving"]["index"] < server_reader[0]["index"]
            < by_name["BaseSelectorEventLoop._accept_connection"]["index"]), where
    # _accept_connection runs from the loop (Handle._run), so it sits shallower than the
    # create_unix_server call chain that registered it
    assert (by_name["BaseSelectorEventLoop._accept_connection"]["depth"]
            < server_reader[0]["depth"]), where
    policy = ai.policy_calls(trace)
    if tuple(trace["version"]) <= (3, 13):
        assert "_UnixDefaultEventLoopPolicy.__init__" in policy, (where, policy)
    assert any(p.endswith(".new_event_loop") for p in policy), (where, policy)


def test_trace_on_this_interpreter():
    trace = ai.trace_server()
    assert trace["tool"] == ("sys.monitoring" if sys.version_info >= (3, 12) else "sys.setprofile")
    _check_trace(trace)
    assert len(trace["calls"]) > 100
    assert all(c[1].startswith("asyncio/") or c[1] == "selectors.py" for c in trace["calls"])
    # the listening socket's reader is registered with the selector (epoll on Linux)
    registered = [c for c in trace["calls"] if c[1] == "selectors.py" and c[0].endswith(".register")
                  and c[3] == "BaseSelectorEventLoop._add_reader"]
    assert registered, "no selector register() under _add_reader"


@pytest.mark.parametrize("force_setprofile", [False, True])
def test_trace_on_newer_interpreters_agrees_between_tools(force_setprofile):
    others = _other_pythons()
    if not others:
        _skip_without_newer()
    for python in others:
        trace = ai.trace_server(python, force_setprofile=force_setprofile)
        assert trace["tool"] == ("sys.setprofile" if force_setprofile else "sys.monitoring")
        _check_trace(trace)


def test_both_tools_give_the_same_seed_sequence():
    others = _other_pythons()
    if not others:
        _skip_without_newer()
    python = others[0]
    by_tool = [[(r["name"], r["caller"]) for r in ai.seed_names(ai.trace_server(python, force_setprofile=f))]
               for f in (False, True)]
    assert by_tool[0] == by_tool[1]


# ---------------------------------------------------------------------- EMFILE and the backlog

def _check_emfile(result: dict, delay: float) -> dict:
    facts = ai.emfile_summary(result)
    where = f"on Python {result['python']}"
    assert result["accept_retry_delay"] == 1, where           # asyncio.constants, as read
    assert result["retry_delay_used"] == delay, where
    assert facts["errnos"] == ["EMFILE"], (where, facts)
    assert facts["messages"] == ["socket.accept() out of system resource"], (where, facts)
    assert "socket.accept() out of system resource" in result["log"], (where, result["log"])
    assert facts["reader_removed"], where
    # before gh-151615 (CPython main, 2026-07; in no tag read) the loop goes on after a
    # failure: each remaining try fails, logs and schedules a retry of its own
    assert facts["failures"] in (1, facts["loop_bound"]), (where, facts)
    assert facts["retries"] == facts["failures"], (where, facts)
    assert delay - 0.01 <= facts["retry_in"] <= delay, (where, facts)
    assert facts["waited"] >= delay - 0.01, (where, facts)
    assert facts["accepted_after_free"], where
    return facts


def test_emfile_backoff_with_asyncio_s_own_delay():
    facts = _check_emfile(ai.emfile_backoff(), 1)
    assert facts["failures"] == 3                               # backlog=3, range(3), no early return


@pytest.mark.parametrize("backlog", [1, 5])
def test_emfile_backoff_with_a_shortened_delay(backlog):
    result = ai.emfile_backoff(0.05, backlog=backlog)
    assert result["backlog"] == backlog
    _check_emfile(result, 0.05)


def test_emfile_backoff_on_newer_interpreters():
    others = _other_pythons()
    if not others:
        _skip_without_newer()
    for python in others:
        _check_emfile(ai.emfile_backoff(0.05, python=python), 0.05)


@pytest.mark.parametrize("backlog", [1, 4, 8])
def test_backlog_loop_accepts_up_to_its_bound_per_readiness_event(backlog):
    for python in [sys.executable, *_other_pythons()]:
        out = ai.backlog_accepts(backlog, python=python)
        assert out["clients"] == backlog + 1
        accepted = [n for n in out["per_call"] if n]
        assert accepted == ai.expected_backlog_split(out["version"], backlog, out["clients"]), (python, out)
        assert sum(out["per_call"]) == out["clients"]


# ---------------------------------------------------------------------- live names, C Task

def test_live_names_agree_with_the_history():
    for python in [sys.executable, *_other_pythons()]:
        live = ai.live_names(python)
        assert ai.live_mismatches(live) == [], live
        assert live["task_is_c"] and live["future_is_c"], live
        tag = ai.tag_for(live["version"])
        if tag is not None:
            assert live["names"]["_UnixDefaultEventLoopPolicy"]["doc"] == ai.POLICY_DOCSTRINGS[tag]


def test_c_task_speed_measures_both_workloads():
    out = ai.c_task_speed(n=200, k=3, repeat=2)
    for label in ("at_once", "sleep0"):
        row = out[label]
        assert row["c_seconds"] > 0 and row["py_seconds"] > 0
        assert row["ratio"] == pytest.approx(row["py_seconds"] / row["c_seconds"])


def test_interpreters_are_found_and_sorted(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_PYTHONS", f"{sys.executable}{__import__('os').pathsep}{tmp_path / 'none'}")
    found = ai.interpreters()
    assert [v for _p, v in found] == sorted(v for _p, v in found)
    assert tuple(sys.version_info[:3]) in [v for _p, v in found]      # a missing path is left out
    newest = ai.newest_python((3, 11))
    assert newest is not None and ai.newest_python((9, 0)) is None


# ---------------------------------------------------------------------- against the mirror

def _source(tag: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", str(MIRROR), "show", f"{tag}:{path}"],
                          capture_output=True, text=True, check=True).stdout


def _names(cell: str) -> list[str]:
    """Function names in a map cell: 'Task.__step -> Task.__step_run_and_handle_result (x)'."""
    cell = re.sub(r"\(.*?\)", "", cell)
    return [part.split(".")[-1] for part in re.findall(r"[\w.]+", cell)]


_ELSEWHERE = {   # functions a row names that live in another file than the row's own
    "_write_to_self": "Lib/asyncio/selector_events.py",
    "_process_events": "Lib/asyncio/selector_events.py",
    "cancel": "Lib/asyncio/futures.py",
}


@needs_mirror
def test_version_map_names_functions_that_exist_at_every_tag():
    assert len(ai.VERSION_MAP) >= 11
    for row in ai.VERSION_MAP:
        assert set(row) == {"toy", "file", "python", "c", "note"}
        for tag in ai.TAGS:
            for name in _names(row["python"][tag]):
                files = {row["file"], _ELSEWHERE.get(name, row["file"])}
                assert any(re.search(rf"^\s*(async )?def {re.escape(name)}\(", _source(tag, f), re.M)
                           for f in files), (tag, row["toy"], name)
            c_source = _source(tag, "Modules/_asynciomodule.c")
            for name in _names(row["c"][tag]):
                assert re.search(rf"^{re.escape(name)}\(", c_source, re.M), (tag, row["toy"], name)


@needs_mirror
def test_version_map_differences_are_as_stated():
    ft, tk = "Lib/asyncio/futures.py", "Lib/asyncio/tasks.py"
    base, sel, c = "Lib/asyncio/base_events.py", "Lib/asyncio/selector_events.py", "Modules/_asynciomodule.c"
    later = {"v3.12.0", "v3.13.0", "v3.14.0", "v3.15.0rc1"}
    claims = [   # (file, needle, tags where present; absent at the others)
        (tk, "def __step_run_and_handle_result(", later),
        (c, "\ntask_step_handle_result_impl(", later),
        (c, "\ntask_wakeup_lock_held(", {"v3.14.0", "v3.15.0rc1"}),
        (base, "events._ThreadSafeHandle(", {"v3.14.0", "v3.15.0rc1"}),
        (sel, "def _add_reader(self, fd, callback, *args, context=None):", {"v3.15.0rc1"}),
        (base, "self._ready = collections.deque()", set(ai.TAGS)),
        (base, "heapq.heappush(self._scheduled, timer)", set(ai.TAGS)),
        (base, "ntodo = len(self._ready)", set(ai.TAGS)),
        (ft, "self._loop.call_soon(callback, self, context=ctx)", set(ai.TAGS)),
        (ft, "yield self  # This tells Task to wait for completion.", set(ai.TAGS)),
        (tk, "Task = _CTask = _asyncio.Task", set(ai.TAGS)),
        (ft, "Future = _CFuture = _asyncio.Future", set(ai.TAGS)),
        (c, "task_call_step_soon(", set(ai.TAGS)),
    ]
    for path, needle, present in claims:
        for tag in ai.TAGS:
            assert (needle in _source(tag, path)) == (tag in present), (tag, path, needle)
    for tag in ai.TAGS:   # FutureIter fills the am_send slot: a static type to 3.11, a heap type after
        assert re.search(r"\(sendfunc\)FutureIter_am_send,\s+/\* am_send|\{Py_am_send, (\(sendfunc\))?FutureIter_am_send\}",
                         _source(tag, c)), tag
    for tag in ai.TAGS:   # sleep(0) is a bare yield
        assert re.search(r"def __sleep0\(\):\n(.*\n)*?\s+yield\n", _source(tag, tk)), tag


@needs_mirror
def test_accept_connection_facts_at_every_tag():
    for tag in ai.TAGS:
        sel = _source(tag, "Lib/asyncio/selector_events.py")
        assert "ACCEPT_RETRY_DELAY = 1\n" in _source(tag, "Lib/asyncio/constants.py"), tag
        body = sel[sel.index("    def _accept_connection("):sel.index("    async def _accept_connection2(")]
        bound = "range(backlog + 1)" if tag >= "v3.14" else "range(backlog)"
        assert f"for _ in {bound}:" in body, (tag, bound)
        assert "'socket.accept() out of system resource'" in body, tag
        retry = body[body.index("self.call_later(constants.ACCEPT_RETRY_DELAY,"):]
        retry = retry[:retry.index("else:")]
        assert "self._start_serving" in retry and "return" not in retry, tag   # gh-151615 not in
        assert "self._remove_reader(sock.fileno())" in body, tag


def _derive(tag: str, name: str) -> str:
    """A POLICY_HISTORY state, derived from the source at ``tag``."""
    unix = _source(tag, "Lib/asyncio/unix_events.py")
    events = _source(tag, "Lib/asyncio/events.py")
    init = _source(tag, "Lib/asyncio/__init__.py")

    def block(text: str, head: str) -> str | None:
        m = re.search(rf"^{head}.*\n((?:[ \t].*\n|\n)*)", text, re.M)
        return m.group(1) if m else None

    def exported(module_text: str) -> bool:
        return re.search(rf"['\"]{name}['\"]", module_text[:module_text.index(")")]) is not None

    if name == "_UnixDefaultEventLoopPolicy":
        body = block(unix, r"class _UnixDefaultEventLoopPolicy\b")
        assert body is not None
        return "class" if "def get_child_watcher" in body else "class (no child watcher)"
    if name == "DefaultEventLoopPolicy":
        if re.search(r"^DefaultEventLoopPolicy = ", unix, re.M) and exported(unix[unix.index("__all__"):]):
            return "public"
        case = init[init.index('case "DefaultEventLoopPolicy":'):]
        assert "warnings._deprecated(" in case.split("case ")[1]
        return "deprecated (module __getattr__ warns)"
    if name == "get_child_watcher":
        if not re.search(r"^def get_child_watcher\(", events, re.M):
            return "removed"
        body = block(unix, r"    def get_child_watcher\(")
        return "deprecated (calling warns)" if body and "warnings._deprecated(" in body else "public"
    body = block(unix, rf"class {name}\b")
    if body is None:
        return f"removed (private _{name} remains)" if block(unix, rf"class _{name}\b") else "removed"
    assert exported(unix[unix.index("__all__"):]), (tag, name)
    sub = re.search(r"def __init_subclass__.*\n((?:\s{8}.*\n|\n)*)", body)
    if sub and "warnings._deprecated(" in sub.group(1):
        return "deprecated (subclassing warns)"
    own_init = re.search(r"    def __init__\(self.*\n((?:\s{8}.*\n|\n)*)", body)
    if own_init and "warnings._deprecated(" in own_init.group(1):
        return "deprecated (instantiation warns)"
    return "public"


@needs_mirror
def test_policy_history_is_what_the_source_says():
    for name in ai.POLICY_NAMES:
        for tag in ai.TAGS:
            assert _derive(tag, name) == ai.POLICY_HISTORY[name][tag], (tag, name)
    for tag in ai.TAGS:
        unix = _source(tag, "Lib/asyncio/unix_events.py")
        doc = re.search(r'class _UnixDefaultEventLoopPolicy\b.*\n\s+"""(.*?)"""', unix).group(1)
        assert doc == ai.POLICY_DOCSTRINGS[tag], tag
        # the seed's quote; v3.15.0rc1 wraps the line after "to"
        assert re.search(r"Adds signal handling and UNIX Domain Socket support to\s+SelectorEventLoop\.", unix), tag


@needs_mirror
def test_whats_new_says_the_same():
    w312 = _source("v3.15.0rc1", "Doc/whatsnew/3.12.rst")
    w314 = _source("v3.15.0rc1", "Doc/whatsnew/3.14.rst")
    assert re.search(r"MultiLoopChildWatcher`,\s+:class:`!asyncio.FastChildWatcher`, "
                     r":class:`!asyncio.AbstractChildWatcher`\s+and :class:`!asyncio.SafeChildWatcher` "
                     r"are deprecated", w312)
    assert re.search(r":func:`!asyncio.set_child_watcher`, :func:`!asyncio.get_child_watcher`", w312)
    removed = w314[w314.index("* :class:`!AbstractChildWatcher`") - 600:][:1200]
    for name in ("AbstractChildWatcher", "FastChildWatcher", "MultiLoopChildWatcher", "PidfdChildWatcher",
                 "SafeChildWatcher", "ThreadedChildWatcher"):
        assert f"* :class:`!{name}`" in removed, name
    assert "* :func:`!get_child_watcher`" in removed
    assert "policy system is deprecated" in w314
    assert ":class:`asyncio.DefaultEventLoopPolicy`" in w314
