"""lessons.landscape_runs: every experiment of lesson 08's landscape part, by what it reports.

Each experiment runs in a fresh interpreter on loopback; these tests check the facts the lesson
states (the loop a handler runs on, tornado's IOLoop being asyncio's loop, curio failing on
3.12+, trio and TaskGroup ending children alike) and the module's handling of bad input. The
meinheld pip install itself is not run here (it compiles C for a minute): its cache, its
recorded fallback and the summary built from them are.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from lessons import landscape_runs as lr
from lessons import pythons


def test_uvloop_run_uses_uvloop_without_installing_a_policy() -> None:
    r = lr.uvloop_echo(20)
    assert r["echoed"] == r["rounds"] == 20
    assert r["loop"] == "uvloop.Loop"
    # uvloop.run is asyncio.Runner(loop_factory=uvloop.new_event_loop): the policy never changes
    assert r["policy_before"] == r["policy_inside"] == r["policy_after"]
    assert "uvloop" not in r["policy_after"]


def test_uvloop_speed_reports_both_loops_on_both_workloads() -> None:
    r = lr.uvloop_speed(1)
    assert [row["workload"] for row in r["rows"]] == ["call_soon chain", "echo, protocols"]
    for row in r["rows"]:
        assert row["asyncio"] > 0 and row["uvloop"] > 0 and row["ratio"] > 0


@pytest.mark.parametrize("use_uvloop, loop", [(True, "uvloop.Loop"),
                                              (False, "asyncio.unix_events._UnixSelectorEventLoop")])
def test_sanic_handler_runs_on_uvloop_only_when_allowed(use_uvloop: bool, loop: str) -> None:
    r = lr.sanic_app(use_uvloop)
    assert r["body"] == "hello from sanic" and r["stopped"] is True
    assert r["loop"] == loop and r["handler_thread_is_main"] is True


def test_tornado_ioloop_is_the_running_asyncio_loop() -> None:
    r = lr.tornado_ioloop()
    for under, loop in (("asyncio", "asyncio.unix_events._UnixSelectorEventLoop"), ("uvloop", "uvloop.Loop")):
        seen = r[under]
        assert seen["same_loop"] is True and seen["is_BaseAsyncIOLoop"] is True
        assert seen["asyncio_loop"] == loop
        assert seen["status"] == 200 and seen["body"] == f"hello from tornado on {loop}"


def test_curio_runs_on_the_venv_python() -> None:
    r = lr.curio_echo()
    assert r == {"ok": True, "python": r["python"], "curio": "1.6", "echoed": ["ping", "pong"]}


def _python_312_plus() -> str | None:
    for i in pythons.interpreters():
        if i.path != sys.executable and tuple(int(x) for x in i.label.rstrip("t").split(".")[:2]) >= (3, 12):
            return i.path
    return None


def test_curio_fails_on_python_312_plus_with_the_renamed_constant() -> None:
    python = _python_312_plus()
    if python is None:
        if os.environ.get("COURSEKIT_REQUIRE_NEWEST") == "1":
            pytest.fail("COURSEKIT_REQUIRE_NEWEST=1 but no Python 3.12+ was found: run `make newest-python`")
        pytest.skip("no Python 3.12+ here (make newest-python or make freethreaded makes one)")
    r = lr.curio_echo(python)
    assert r["ok"] is False
    assert "CHALLENGE" in r["error"] and r["error"].startswith("AttributeError")
    assert r["where"].startswith('File "curio/channel.py"')
    assert not any("curio-only-" in line for line in r["stderr_tail"])   # no temporary paths shown


def test_trio_and_taskgroup_end_every_child_alike() -> None:
    r = lr.trio_vs_taskgroup()
    assert lr.same_outcomes(r["rows"]) == {"deadline 5 s": True, "a child fails": True,
                                           "cancel, no checkpoint": True, "cancel, checkpoints": True}
    by = {(row["scenario"], row["framework"].split()[0]): row for row in r["rows"]}
    # the parents differ where the lesson says: move_on_after swallows, timeout() raises
    assert by[("deadline 5 s", "trio")]["parent"].startswith("went on")
    assert by[("deadline 5 s", "asyncio")]["parent"] == "TimeoutError"
    assert by[("a child fails", "trio")]["parent"] == by[("a child fails", "asyncio")]["parent"] \
        == "ExceptionGroup[ValueError]"
    # virtual clocks: the deadline is reached at exactly 5 s, the failure at exactly 1 s
    assert by[("deadline 5 s", "trio")]["virtual_s"] == by[("deadline 5 s", "asyncio")]["virtual_s"] == 5.0
    assert by[("a child fails", "asyncio")]["virtual_s"] == 1.0
    assert by[("cancel, checkpoints", "trio")]["children"]["loop"] == "ran 1 of 1000 steps"
    assert by[("cancel, no checkpoint", "asyncio")]["children"]["loop"] == "ran 1000 of 1000 steps"


def test_same_outcomes_sees_a_difference() -> None:
    rows = [{"scenario": "s", "children": {"a": "finished"}},
            {"scenario": "s", "children": {"a": "saw CancelledError"}},
            {"scenario": "t", "children": {"a": "saw Cancelled"}},
            {"scenario": "t", "children": {"a": "saw CancelledError"}},
            {"scenario": "u", "children": {"a": "finished"}}]          # only one framework ran
    assert lr.same_outcomes(rows) == {"s": False, "t": True, "u": False}


def test_error_lines_picks_compiler_errors_then_pips() -> None:
    log = "\n".join(["Collecting meinheld==1.0.2",
                     "  greenlet.c:176:21: error: no member named 'exc_type'",
                     "  greenlet.c:176:21: error: no member named 'exc_type'",
                     "  greenlet.c:492:52: error: no member named 'recursion_depth'",
                     "  warning: something harmless",
                     "ERROR: Failed building wheel for greenlet",
                     "ERROR: could not build wheels"])
    assert lr._error_lines(log) == ["greenlet.c:176:21: error: no member named 'exc_type'",
                                    "greenlet.c:492:52: error: no member named 'recursion_depth'",
                                    "ERROR: Failed building wheel for greenlet",
                                    "ERROR: could not build wheels"]
    assert lr._error_lines("all fine") == []


def test_meinheld_cached_only_never_runs_pip(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.setattr(lr.subprocess, "run", lambda *a, **k: pytest.fail("pip ran"))
    label = pythons.info(sys.executable).label
    got = lr.meinheld_try(deps=False, cached_only=True)
    assert got["recorded"] and got["cached"] is False and got["python"] == label
    # a cached answer wins over the recorded one; a torn cache file is not trusted
    key = tmp_path / "landscape_runs" / f"meinheld-1.0.2-{label}-nodeps.json"
    key.parent.mkdir()
    key.write_text(json.dumps({"python": label, "deps": False, "installed": True, "errors": [],
                               "run": {"ok": True, "body": "hello from meinheld"}}))
    assert lr.meinheld_try(deps=False, cached_only=True)["cached"] is True
    key.write_text('{"python": ')
    assert lr.meinheld_try(deps=False, cached_only=True)["cached"] is False
    assert not key.exists()


def _results(meinheld: list[dict]) -> dict:
    return {"uvloop": {"python": "3.11.7", "uvloop": "0.23.0", "echoed": 5, "rounds": 5, "loop": "uvloop.Loop"},
            "sanic": {"python": "3.11.7", "sanic": "25.12.1", "loop": "uvloop.Loop"},
            "tornado": {"python": "3.11.7", "tornado": "6.6.1", "asyncio": {"same_loop": True}},
            "curio": [{"python": "3.11.7", "ok": True}, {"python": "3.15.2", "ok": False,
                                                         "error": "AttributeError: ... 'CHALLENGE'"}],
            "trio": {"python": "3.11.7", "trio": "0.35.0",
                     "rows": [{"scenario": "s", "children": {"a": "saw Cancelled"}},
                              {"scenario": "s", "children": {"a": "saw CancelledError"}}]},
            "meinheld": meinheld}


def test_overview_has_a_row_per_system_with_what_ran() -> None:
    recorded = [{**lr._recorded(label, deps), "python": label, "deps": deps}
                for label in ("3.11.7", "3.13.5t") for deps in (True, False)]
    rows = lr.overview(_results(recorded))
    assert [r["system"] for r in rows] == ["uvloop", "Sanic", "tornado IOLoop", "curio", "trio",
                                           "meinheld (picoev)"]
    by = {r["system"]: r for r in rows}
    assert by["curio"]["runs here"] == "yes on 3.11.7; no on 3.15.2"
    assert "CHALLENGE" in by["curio"]["evidence"] and "1.6 (2022-10-25)" in by["curio"]["evidence"]
    assert "1 of 1 scenarios" in by["trio"]["evidence"]
    assert by["meinheld (picoev)"]["runs here"] == \
        "only with --no-deps, on 3.11.7; never with its greenlet<0.5 pin (recorded)"
    assert "0.23.0" in by["uvloop"]["evidence"] and "25.12.1" in by["Sanic"]["evidence"]


def test_overview_refuses_missing_results() -> None:
    results = _results([])
    del results["trio"]
    with pytest.raises(ValueError, match=r"missing: \['trio'\]"):
        lr.overview(results)


def test_a_hung_experiment_is_one_sentence() -> None:
    with pytest.raises(lr.ExperimentFailed, match=r"did not finish in 0 s: it hung"):
        lr._run(["trio"], timeout=0.01)


def test_unknown_experiment_and_no_arguments_are_one_line_errors() -> None:
    with pytest.raises(SystemExit, match="no experiment 'nope'; there are: uvloop_echo"):
        lr.main(["nope"])
    with pytest.raises(SystemExit, match="usage: python -m lessons.landscape_runs --warm"):
        lr.main([])


def test_warm_reads_a_full_cache_without_pip(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COURSEKIT_CACHE", str(tmp_path))
    monkeypatch.setattr(lr.subprocess, "run", lambda *a, **k: pytest.fail("pip ran"))
    targets = [sys.executable] + [p for p in [pythons.freethreaded()] if p]
    (tmp_path / "landscape_runs").mkdir()
    for python in targets:
        label = pythons.info(python).label
        for deps in (True, False):
            (tmp_path / "landscape_runs" / f"meinheld-1.0.2-{label}-{'deps' if deps else 'nodeps'}.json").write_text(
                json.dumps({"python": label, "deps": deps, "installed": not deps, "errors": [],
                            "run": {"ok": not deps}}))
    assert lr.warm() == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * len(targets) and all(line.endswith("(cached)") for line in lines)
    assert lines[0].endswith("with deps: failed to build (cached)")
    assert lines[1].endswith("without deps: installed, runs (cached)")


def test_failed_names_reads_old_and_new_pip() -> None:
    assert lr._failed_names("Failed to build greenlet\n") == ["greenlet"]
    assert lr._failed_names("ERROR: Failed to build installable wheels for some pyproject.toml based "
                            "projects (greenlet)\nFailed to build greenlet\n") == ["greenlet"]
    assert lr._failed_names("Successfully built meinheld") == []


def test_child_errors_come_back_without_colour_codes(monkeypatch) -> None:
    # 3.13+ colours tracebacks when asked to (FORCE_COLOR); the lesson must get plain text
    python = _python_312_plus()
    if python is None:
        pytest.skip("no Python 3.13+ here: no coloured tracebacks to strip")
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = lr.curio_echo(python)
    assert out["error"].startswith("AttributeError: module 'multiprocessing.connection'")
    assert not any("\x1b[" in line for line in out["stderr_tail"])
