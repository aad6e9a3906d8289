"""`python -m coursekit grade`: scores, formats, hidden tests, time bounds and bad input.

The hostile submissions live in tests/redteam; these tests pin the grader's contract on
honest and broken ones. Each runs the real command, as an instructor would.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import psutil
import pytest

from coursekit.manifest import load_course
from coursekit.quota import cgroup_support

ROOT = Path(__file__).resolve().parents[2]
COURSE = load_course(ROOT)
TASKS = [t for m in COURSE.modules for t in m.tasks]
FULL = sum(t.points for t in TASKS)


def grade(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coursekit", "grade", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as f:
        return {r["submission"]: r for r in csv.DictReader(f)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    """Solutions, stubs and a zip of the solutions, graded in one run with JUnit output."""
    tmp = tmp_path_factory.mktemp("graded")
    with zipfile.ZipFile(tmp / "zipped.zip", "w") as zf:
        for f in sorted((ROOT / "solutions").rglob("*.py")):
            zf.write(f, Path("exercises") / f.relative_to(ROOT / "solutions"))   # wrapped in one folder
    done = grade(ROOT / "solutions", ROOT / "exercises", tmp / "zipped.zip", "--out", tmp / "out", "--junit", "--jobs", "2")
    return tmp / "out", done


def test_solutions_earn_every_point_and_stubs_none(graded):
    out, done = graded
    assert done.returncode == 0, done.stderr
    table = rows(out)
    assert set(table) == {"solutions", "exercises", "zipped"}
    for name, expected in (("solutions", FULL), ("zipped", FULL), ("exercises", 0)):
        assert float(table[name]["total"]) == expected, (name, table[name])
        assert float(table[name]["max_total"]) == FULL
    assert list(table["solutions"])[1:-3] == [t.id for t in TASKS], "a column per task, in course order"


def test_results_json_has_one_entry_per_task_in_gradescope_form(graded):
    out, _ = graded
    for name in ("solutions", "exercises"):
        data = json.loads((out / name / "results.json").read_text())
        assert set(data) >= {"score", "execution_time", "tests", "output"}
        assert [t["name"].split()[0] for t in data["tests"]] == [t.id for t in TASKS]
        for entry, task in zip(data["tests"], TASKS):
            assert entry["max_score"] == task.points
            assert entry["status"] in ("passed", "failed")
            assert entry["visibility"] == "visible"
            assert (entry["score"] == task.points) == (entry["status"] == "passed")
        assert data["score"] == sum(t["score"] for t in data["tests"])
    stub = json.loads((out / "exercises" / "results.json").read_text())
    assert "not implemented yet" in stub["tests"][0]["output"], "every lost point has its reason"
    assert (out / "exercises" / "feedback.md").read_text().startswith("# Feedback for exercises")


def test_junit_has_a_suite_per_submission_and_a_case_per_task(graded):
    out, _ = graded
    tree = ET.parse(out / "junit.xml")
    suites = {s.get("name"): s for s in tree.getroot().iter("testsuite")}
    assert set(suites) == {"solutions", "exercises", "zipped"}
    assert suites["solutions"].get("failures") == "0"
    assert int(suites["exercises"].get("failures")) == len(TASKS)
    assert len(list(suites["exercises"].iter("testcase"))) == len(TASKS)


HIDDEN = '''
import pytest

@pytest.mark.task("00.1")
def test_secret_requirement_xyzzy(exercise):
    """Zero batches of nothing is plugh"""
    assert exercise("warmup").call("split_evenly", [1, 2, 3], 3) == "plugh", "the secret answer is plugh"


@pytest.mark.task("00.1")
def test_secret_that_passes(exercise):
    assert exercise("warmup").call("split_evenly", [1, 2], 2) == [[1], [2]]
'''


def test_instructor_tests_count_but_never_show(tmp_path):
    extra = tmp_path / "instructor"
    extra.mkdir()
    (extra / "test_00_start_here_hidden.py").write_text(HIDDEN)
    done = grade(ROOT / "solutions", "--out", tmp_path / "out", "--tests", extra)
    assert done.returncode == 0, done.stderr
    task = COURSE.task("00.1")
    data = json.loads((tmp_path / "out" / "solutions" / "results.json").read_text())
    entry = data["tests"][0]
    visible = len([ln for ln in entry["output"].splitlines() if ln.startswith("- ✓")])
    assert entry["score"] == round(task.points * (visible + 1) / (visible + 2), 2), "1 of 2 hidden tests fails"
    assert "Instructor tests (not shown): 1 of 2 pass." in entry["output"]
    for f in ("results.json", "feedback.md"):
        text = (tmp_path / "out" / "solutions" / f).read_text()
        for secret in ("xyzzy", "plugh", "secret"):
            assert secret not in text, f"{f} shows the hidden test ({secret})"


def test_a_hanging_submission_is_bounded_and_costs_no_one_else(tmp_path):
    # lessons 00 and 01 only, so that the honest submission is quick even on a busy machine
    lean = [m.id for m in COURSE.modules[:2]]
    lean_points = sum(t.points for m in COURSE.modules[:2] for t in m.tasks)
    for name in ("hang", "honest"):
        for module in lean:
            shutil.copytree(ROOT / "solutions" / module, tmp_path / name / module)
    # a hang that waits (a deadlock): stopped at the time-out on any machine, so some tests of
    # it finish before the submission's bound however busy the machine is (a spinning hang is
    # stopped after 3 s of its own running, which load stretches: tests/kit/test_runner.py)
    for f in (tmp_path / "hang").rglob("*.py"):
        f.write_text(f.read_text() + "\nimport threading\nthreading.Event().wait()\n")
    done = grade(tmp_path / "hang", tmp_path / "honest", "--out", tmp_path / "out", "--timeout", "3",
                 "--submission-timeout", "8", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    table = rows(tmp_path / "out")
    assert float(table["hang"]["total"]) == 0
    assert "time bound (8 s)" in table["hang"]["error"]
    assert float(table["honest"]["total"]) == lean_points, table["honest"]
    data = json.loads((tmp_path / "out" / "hang" / "results.json").read_text())
    assert "time bound" in data["output"]
    assert data["execution_time"] < 30


def test_unusable_input_is_one_line_and_the_rest_are_graded(tmp_path):
    (tmp_path / "corrupt.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    (tmp_path / "empty").mkdir()
    done = grade(tmp_path / "corrupt.zip", tmp_path / "empty", tmp_path / "missing", ROOT / "solutions",
                 "--out", tmp_path / "out")
    assert done.returncode == 2
    errors = [ln for ln in done.stderr.splitlines() if ln.startswith("coursekit grade: error:")]
    assert len(errors) == 3, done.stderr
    assert "Traceback" not in done.stderr
    table = rows(tmp_path / "out")
    assert float(table["solutions"]["total"]) == FULL
    assert table["corrupt"]["total"] == "0" and "zip" in table["corrupt"]["error"]
    assert "wrong layout" in table["empty"]["error"]
    assert json.loads((tmp_path / "out" / "corrupt" / "results.json").read_text())["score"] == 0


def test_bad_options_are_one_line_errors(tmp_path):
    done = grade(ROOT / "solutions", "--out", tmp_path / "out", "--tests", tmp_path / "nope")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--tests" in done.stderr


def test_without_the_sandbox_it_still_grades(tmp_path):
    done = grade(ROOT / "solutions", "--out", tmp_path / "out", "--no-sandbox")
    assert done.returncode == 0, done.stderr
    assert float(rows(tmp_path / "out")["solutions"]["total"]) == FULL
    data = json.loads((tmp_path / "out" / "solutions" / "results.json").read_text())
    assert data["extra_data"]["sandboxed"] is False


def test_memory_option_bounds_a_call(tmp_path):
    sub = tmp_path / "hungry"
    shutil.copytree(ROOT / "solutions" / "00_start_here", sub / "00_start_here")
    warmup = sub / "00_start_here" / "warmup.py"
    warmup.write_text("BALLAST = b'x' * (200 << 20)   # 200 MiB at import\n" + warmup.read_text())
    task = COURSE.task("00.1")
    for memory, expected in (("128", 0), ("1024", task.points)):
        out = tmp_path / f"out-{memory}"
        done = grade(sub, "--out", out, "--memory", memory)
        assert done.returncode == 0, done.stderr
        entry = json.loads((out / "hungry" / "results.json").read_text())["tests"][0]
        assert entry["score"] == expected, (memory, entry["output"][:500])
        if expected == 0:
            assert "MemoryError" in entry["output"]
    bad = grade(sub, "--out", tmp_path / "x", "--memory", "1")
    assert bad.returncode == 2 and "--memory" in bad.stderr and "Traceback" not in bad.stderr


FORK_FOREVER = '''
import os as _bomb_os, time as _bomb_time
_bomb_end = _bomb_time.monotonic() + 600          # self-limiting: ten minutes at most
while _bomb_time.monotonic() < _bomb_end:
    try:
        if _bomb_os.fork() == 0:
            _bomb_time.sleep(600)
            _bomb_os._exit(0)
    except OSError:
        _bomb_time.sleep(0.01)                    # the budget is spent: keep it spent
'''


@pytest.mark.skipif(os.getuid() != 0 and cgroup_support()[0] is None,
                    reason="not root and no delegated cgroup v2: sandboxes share their user's process budget here")
def test_a_hostile_grader_beside_an_honest_one_costs_it_nothing(graded, tmp_path):
    """Two graders on one host: one grades a submission whose every module file forks until it
    is stopped; while it does, another grades a copy of solutions/ and gets what it gets alone."""
    hostile = tmp_path / "batch" / "hostile"
    shutil.copytree(ROOT / "solutions", hostile, ignore=shutil.ignore_patterns("__pycache__"))
    for f in hostile.rglob("*.py"):
        f.write_text(FORK_FOREVER + f.read_text())
    honest = tmp_path / "honest"
    shutil.copytree(ROOT / "solutions", honest, ignore=shutil.ignore_patterns("__pycache__"))
    bomber = subprocess.Popen([sys.executable, "-m", "coursekit", "grade", "--batch", str(tmp_path / "batch"),
                               "--out", str(tmp_path / "out-hostile")], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.monotonic() + 120
        while len(descendants(bomber.pid)) < 100 and bomber.poll() is None and time.monotonic() < end:
            time.sleep(0.05)
        assert len(descendants(bomber.pid)) >= 100, "the hostile submission's fork bomb did not get going"
        done = grade(honest, "--out", tmp_path / "out")
        assert bomber.poll() is None, "the hostile grader must still be running: the runs overlapped throughout"
    finally:
        os.killpg(bomber.pid, signal.SIGTERM)   # the grader we started: it kills its workers and sandboxes
        bomber.wait(60)
    assert done.returncode == 0, done.stderr
    beside = json.loads((tmp_path / "out" / "honest" / "results.json").read_text())
    alone = json.loads((graded[0] / "solutions" / "results.json").read_text())
    assert {t["name"]: t["score"] for t in beside["tests"]} == {t["name"]: t["score"] for t in alone["tests"]}
    assert beside["score"] == FULL, [(t["name"], t["score"], t["output"][:300]) for t in beside["tests"]
                                     if t["score"] != t["max_score"]]


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
