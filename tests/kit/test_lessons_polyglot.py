"""lessons.polyglot: lesson 12's two experiments in every runtime, or a skip that says why.

A runtime that is not installed (no `make runtimes`, not root, another OS) skips with its
reason, unless COURSEKIT_REQUIRE_RUNTIMES=1 (CI), which turns the skip into a failure. Each
available runtime runs each experiment once (the `runs` fixture keeps the result), and the
tests check the shape the lesson states, never a speed:

- pipeline: the forced trace (produce 0, consume 0, ...) exactly, and a hand-off cost > 0;
- starve: a runtime that cannot preempt the hog has no beat strictly inside the hog's window
  (the heartbeat and the hog share one thread, so a beat inside it is impossible, not merely
  rare); one that preempts has beats inside and a longest silence far below the hog's length
  (< hog_ms / 3: measured 5-30 ms for a 300 ms hog, with two busy loops on this 2-core machine).
"""

import subprocess
import sys

import pytest

from lessons import polyglot

HOG_MS = 300
TRACE_N = 5
SILENT = {"python_asyncio", "python_gevent", "python_generators", "python_greenlet", "lua54", "luajit",
          "rust_async", "java_virtual", "go_noasyncpreempt", "kotlin", "scala_actors"}
PREEMPTED = {"python_threads", "go", "erlang", "rust_threads", "java_platform", "scala_actors_pool"}


def need(key):
    reason = polyglot.skip_reason(key)
    if reason:
        if polyglot.required():
            pytest.fail(f"COURSEKIT_REQUIRE_RUNTIMES=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def runs():
    """runs(key, experiment): that experiment's parsed run, made once per test module."""
    done = {}

    def get(key, experiment):
        if (key, experiment) not in done:
            done[key, experiment] = (polyglot.pipeline(key, TRACE_N) if experiment == "pipeline"
                                     else polyglot.starve(key, HOG_MS))
        return done[key, experiment]

    return get


def test_the_table_has_every_runtime_once_and_the_lessons_expectation():
    assert polyglot.keys() == [
        "python_generators", "python_greenlet", "python_asyncio", "python_threads", "python_gevent",
        "go", "go_noasyncpreempt", "erlang", "lua54", "luajit", "rust_async", "rust_threads",
        "java_platform", "java_virtual", "kotlin", "scala_actors", "scala_actors_pool"]
    assert {k for k in polyglot.keys() if not polyglot.get(k).preempts} == SILENT
    assert {k for k in polyglot.keys() if polyglot.get(k).preempts} == PREEMPTED
    assert "go_noasyncpreempt" not in polyglot.keys("pipeline")
    assert "scala_actors_pool" not in polyglot.keys("pipeline")
    assert polyglot.keys("starve") == polyglot.keys()  # every runtime runs the starvation experiment


def test_describe_gives_every_runtime_a_row_of_words():
    for key in polyglot.keys():
        row = polyglot.describe(key)
        assert set(row) == {"key", "label", "found", "build", "run", "single", "version"}
        assert "taskset -c <cpu>" in row["run"] and all(row.values()), row


@pytest.mark.parametrize("key", polyglot.keys())
def test_every_runtime_runs_or_skips_with_its_reason(key):
    reason = polyglot.skip_reason(key)
    if reason:
        assert reason.startswith("skipped: ") and "make " in reason, reason
    need(key)
    assert polyglot.version(key)


def test_a_missing_runtime_is_a_sentence_naming_the_make_target(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))          # nothing on PATH: no erl, no luajit
    for key in ("erlang", "luajit"):
        reason = polyglot.skip_reason(key)
        assert reason.startswith("skipped: ") and "make runtimes" in reason, reason
        result = polyglot.run(key, "pipeline", 1, 1)
        assert not result.ok and result.error == reason and result.why() == reason
    with pytest.raises(polyglot.PolyglotError, match="skipped: "):
        polyglot.pipeline("erlang")
    rows = polyglot.compare_starvation(["erlang"])
    assert isinstance(rows[0], polyglot.Skipped) and rows[0].reason.startswith("skipped: ")


@pytest.mark.parametrize("key", polyglot.keys("pipeline"))
def test_every_pipeline_prints_the_forced_trace_and_a_cost(key, runs):
    need(key)
    run = runs(key, "pipeline")
    assert run.trace == polyglot.expected_trace(TRACE_N), f"{key} printed the trace {run.trace}"
    assert run.handoff_ns > 0, f"{key}: handoff_ns {run.handoff_ns}"
    assert run.runtime.strip(), f"{key}: an empty runtime line"


@pytest.mark.parametrize("key", sorted(SILENT))
def test_a_runtime_that_cannot_preempt_leaves_the_heartbeat_silent(key, runs):
    need(key)
    run = runs(key, "starve")
    assert run.hog_end - run.hog_start >= HOG_MS, f"{key}: the hog ran {run.hog_end - run.hog_start} ms"
    assert run.beats_during == [], (f"{key}: {len(run.beats_during)} beats inside the hog's window "
                                    f"({run.hog_start}, {run.hog_end}): {run.beats_during[:5]}")
    assert run.longest_gap >= HOG_MS, f"{key}: longest gap {run.longest_gap} ms"
    assert len([b for b in run.beats if b > run.hog_end]) >= 20, f"{key}: fewer than 20 beats after the hog"


@pytest.mark.parametrize("key", sorted(PREEMPTED))
def test_a_preempting_runtime_keeps_the_heartbeat_going(key, runs):
    need(key)
    run = runs(key, "starve")
    assert run.hog_end - run.hog_start >= HOG_MS, f"{key}: the hog ran {run.hog_end - run.hog_start} ms"
    assert run.beats_during, f"{key}: no beat inside the hog's window ({run.hog_start}, {run.hog_end})"
    assert run.longest_gap < HOG_MS / 3, (f"{key}: the heartbeat was silent {run.longest_gap:.1f} ms "
                                          f"(from {run.gap[0]} to {run.gap[1]}) of a {HOG_MS} ms hog")


def test_the_gap_is_measured_across_the_window_from_the_beats_around_it():
    run = polyglot.StarveRun("x", "x", [1.0, 2.0, 10.5, 11.0, 13.0, 14.0], 3.0, 12.0, "r", 9.0, 0.0)
    assert run.beats_during == [10.5, 11.0]
    assert run.gap == (2.0, 10.5) and run.longest_gap == 8.5
    silent = polyglot.StarveRun("x", "x", [1.0, 2.0, 13.0], 3.0, 12.0, "r", 9.0, 0.0)
    assert silent.beats_during == [] and silent.gap == (2.0, 13.0)


def test_programs_run_pinned_to_one_cpu_and_a_hung_one_is_killed():
    # a 100 s hog with a 2 s timeout: the Result says so, nothing raises
    result = polyglot.run("python_asyncio", "starve", 100_000, timeout=2)
    assert result.timed_out and not result.ok and "timeout" in result.why()
    assert "hog_start" in result.stdout                  # flushed line by line: seen before the kill
    if polyglot.pin_cpu() is not None:
        assert result.command[result.command.index("-c") + 1] == str(polyglot.pin_cpu()) \
            or "sched_setaffinity" in " ".join(result.command)


def test_a_program_that_does_not_exist_is_an_error_not_a_traceback():
    need("lua54")
    result = polyglot.run("lua54", "no_such_program")
    assert not result.ok and "does not exist" in result.error


def test_the_python_models_refuse_bad_arguments_with_one_line():
    done = subprocess.run([sys.executable, "-m", "lessons.polyglot", "python_threads", "pipeline", "x"],
                          capture_output=True, text=True, env=polyglot._clean_env(), timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("usage: ") and len(done.stderr.splitlines()) == 1


def test_both_plots_render_whatever_subset_ran(runs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = [k for k in ("python_generators", "python_threads", "rust_async") if polyglot.available(k)]
    skipped = polyglot.Skipped("erlang", "Erlang processes", "skipped: a test")
    ax = polyglot.plot_handoffs([runs(k, "pipeline") for k in keys] + [skipped])
    assert [t.get_text() for t in ax.get_yticklabels()] == [polyglot.get(k).label for k in keys]
    ax2 = polyglot.plot_starvation([runs(k, "starve") for k in keys] + [skipped])
    assert [t.get_text() for t in ax2.get_yticklabels()] == [polyglot.get(k).label for k in keys]
    assert any("longest gap" in t.get_text() for t in ax2.texts)
    empty = polyglot.plot_starvation([skipped])
    assert any("no runtime ran" in t.get_text() for t in empty.texts)
    plt.close("all")


DEMOS = [("erlang", p.stem) for p in sorted(polyglot.PROGRAMS.glob("*.erl"))] + \
        [(key, p.stem) for p in sorted(polyglot.PROGRAMS.glob("*.lua")) for key in ("lua54", "luajit")]


@pytest.mark.parametrize(("key", "program"), [d for d in DEMOS if d[1] not in polyglot.EXPERIMENTS])
def test_the_other_programs_beside_the_experiments_run_through_run(key, program):
    need(key)
    result = polyglot.run(key, program)
    assert result.ok, result.why()
    assert result.stdout.splitlines()[-1].startswith("runtime "), result.stdout[-300:]


# Task 12.3's reference answers for hog_starves must agree with what the runtimes do here: the
# tests above hold each runtime's `preempts` to the measured starvation run, so a key that
# disagrees with `preempts` disagrees with the measurement (and would grade learners wrongly).
AXES_TO_POLYGLOT = {
    "python_threads": ("python_threads",), "python_generators": ("python_generators",),
    "asyncio": ("python_asyncio",), "greenlet": ("python_greenlet",), "gevent": ("python_gevent",),
    "lua": ("lua54", "luajit"), "go": ("go",), "erlang": ("erlang",), "rust_async": ("rust_async",),
    "java_platform": ("java_platform",), "java_virtual": ("java_virtual",), "kotlin": ("kotlin",),
    "scala_actors": ("scala_actors",),
}


def test_task_12_3s_key_for_a_hog_agrees_with_the_measured_runtimes():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "solutions" / "12_coroutine_models" / "runtime_axes.py"
    spec = importlib.util.spec_from_file_location("runtime_axes_reference", path)
    axes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(axes)
    assert sorted(axes.RUNTIMES) == sorted(AXES_TO_POLYGLOT)
    wrong = [(name, key) for name, keys in AXES_TO_POLYGLOT.items() for key in keys
             if axes.classify(name)["hog_starves"] == polyglot.get(key).preempts]
    assert not wrong, f"12.3's hog_starves contradicts polyglot's measured expectation for {wrong}"
