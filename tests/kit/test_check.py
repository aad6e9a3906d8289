"""check(): learner-facing results, bounded time on hanging code, progress recorded; one count
and one line per test case, the same in check, feedback.md and results.json."""

import shutil
import subprocess
import sys
import time

import pytest

from coursekit.checking import load_progress, run_check
from coursekit.manifest import load_course



@pytest.fixture
def course_copy(course_root):
    """A copy of the course whose calls time out after 1.5 s."""
    path = course_root / "course.yml"
    path.write_text(path.read_text().replace("call_timeout: 10 ", "call_timeout: 1.5 "))
    return load_course(course_root)


def test_stub_reads_as_not_started(course_copy):
    [result] = run_check(["00.1"], course_copy)
    text = result.render()
    assert not result.solved and "Not started yet" in text and 'hint("00.1")' in text
    assert "✗" in text and "✓" not in text
    assert load_progress(course_copy)["00.1"]["status"] == "unsolved"


def test_solution_reads_as_solved_and_is_recorded(course_copy):
    shutil.copy(course_copy.root / "solutions/00_start_here/warmup.py", course_copy.root / "exercises/00_start_here/warmup.py")
    [result] = run_check(["00.1"], course_copy)
    assert result.solved and "task 00.1 is solved" in result.render()
    assert load_progress(course_copy)["00.1"]["status"] == "solved"


def test_partial_solution_names_the_failing_test(course_copy):
    path = course_copy.root / "exercises/00_start_here/warmup.py"
    path.write_text("def split_evenly(items, n):\n    return [list(items)] + [[] for _ in range(n - 1)]\n")
    [result] = run_check(["00.1"], course_copy)
    text = result.render(hint=True)
    assert 0 < result.passed < len(result.lines), text
    assert "these should raise ValueError: split_evenly([1, 2], 0), split_evenly([1, 2], -2)" in text
    assert "Hint: divmod" in text


@pytest.mark.parametrize("body", [
    "    while True:\n        pass\n",
    "    import threading\n    lock = threading.Lock()\n    lock.acquire()\n    lock.acquire()\n",
])
def test_hanging_code_costs_about_one_timeout(course_copy, body):
    path = course_copy.root / "exercises/00_start_here/warmup.py"
    start = time.monotonic()
    run_check(["00.1"], course_copy)   # the control: the same tests on the stub, nothing hangs
    control = time.monotonic() - start
    path.write_text(f"def split_evenly(items, n):\n{body}")
    start = time.monotonic()
    [result] = run_check(["00.1"], course_copy)
    elapsed = time.monotonic() - start
    # one 1.5 s time-out beyond the control, which a busy machine may stretch (a spinning call's
    # limit counts its CPU time); the "not run" line below is what shows only one was waited for
    assert elapsed - control < 1.5 * 4, f"check took {elapsed:.1f} s, {control:.1f} s without the hang"
    text = result.render()
    assert "timed out after 1.5 s" in text and "in split_evenly" in text
    assert "(not run: an earlier test of this task timed out)" in text


def test_a_timeout_in_one_task_leaves_the_others_true(course_copy):
    root = course_copy.root
    shutil.copy(root / "solutions/01_processes_threads/start_methods.py", root / "exercises/01_processes_threads/start_methods.py")
    path = root / "exercises/01_processes_threads/cost_model.py"
    path.write_text(path.read_text().replace('raise NotImplementedError("01.1', 'while True: pass  # ("01.1'))
    results = {r.task.id: r for r in run_check(["01.1", "01.2", "01.3"], course_copy)}
    assert "timed out" in results["01.1"].render() and not results["01.1"].solved
    assert results["01.2"].solved, results["01.2"].render()
    assert "Not started yet" in results["01.3"].render()
    progress = load_progress(course_copy)
    assert progress["01.2"]["status"] == "solved" and progress["01.1"]["status"] == "unsolved"


def test_exit_at_import_is_explained(course_copy):
    (course_copy.root / "exercises/00_start_here/warmup.py").write_text("import os\nos._exit(3)\n")
    [result] = run_check(["00.1"], course_copy)
    assert "exited with status 3 before it returned a result" in result.render()


def test_cli_check_exit_codes(course_copy):
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "coursekit", *args], cwd=course_copy.root, capture_output=True, text=True)
    assert cli("check", "00.1").returncode == 1
    solved = cli("check", "00.1", "--target", "solutions")
    assert solved.returncode == 0 and "solved" in solved.stdout
    bad = cli("check", "09.9")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no task or module '09.9'" in bad.stderr
    table = cli("syllabus")
    assert "00.1" in table.stdout and "unsolved" in table.stdout


def test_a_skipped_test_counts_neither_way(course_copy):
    from coursekit.checking import Line, TaskResult
    task = course_copy.task("00.1")
    only_skipped = TaskResult(task, [Line("needs 3.14", False, skipped="Python 3.14 only")])
    assert not only_skipped.solved and "· needs 3.14 (skipped: Python 3.14 only)" in only_skipped.render()
    mixed = TaskResult(task, [Line("works", True), Line("needs 3.14", False, skipped="Python 3.14 only")])
    assert mixed.solved and "The test passes: task 00.1 is solved." in mixed.render()


# Graded tests of 00.1 with parametrized cases of every kind of id, and a warm-up that is right
# for n <= 2 only: each case must be one line and one count, named by its case.
CASES = '''import pytest

task = pytest.mark.task


@task("00.1")
@pytest.mark.parametrize("n", [1, 2, 3])
def test_batches(exercise, n):
    """Gives n batches"""
    got = exercise("warmup").call("split_evenly", [1, 2, 3, 4], n)
    assert len(got) == n, f"split_evenly([1, 2, 3, 4], {n}) gave {len(got)} batches"


@task("00.1")
@pytest.mark.parametrize("items, n", [((1, 2), 1), ((1, 2, 3), 3)])
def test_sizes(exercise, items, n):
    """Keeps every item"""
    got = exercise("warmup").call("split_evenly", list(items), n)
    assert sorted(sum(got, [])) == list(items), f"split_evenly({list(items)}, {n}) gave {got}"


@task("00.1")
@pytest.mark.parametrize("n", [2], ids=["two workers"])
def test_named(exercise, n):
    """Named case"""
    assert len(exercise("warmup").call("split_evenly", [1], n)) == n, "wrong"


@task("00.1")
@pytest.mark.parametrize("order", [sorted])
def test_object(exercise, order):
    """Object parameter"""
    assert order(exercise("warmup").call("split_evenly", [2, 1], 1)[0]) == [1, 2], "wrong"


@task("00.1")
def test_plain(exercise):
    """Plain test"""
    assert exercise("warmup").call("split_evenly", [], 1) == [[]], "wrong"
'''
HALF_RIGHT = "def split_evenly(items, n):\n    k = min(n, 2)\n    return [list(items[i::k]) for i in range(k)]\n"
EXPECTED = ["✓ Gives n batches [n=1]", "✓ Gives n batches [n=2]", "✗ Gives n batches [n=3]",
            "✓ Keeps every item [items=(1, 2), n=1]", "✓ Keeps every item [items=(1, 2, 3), n=3]",
            "✓ Named case [two workers]", "✓ Object parameter [sorted]", "✓ Plain test"]


@pytest.fixture
def course(course_root):
    """A copy of the course with those tests of 00.1 and that warm-up (its own call time-out:
    these tests time nothing)."""
    (course_root / "tests/test_00_start_here.py").write_text(CASES)
    (course_root / "exercises/00_start_here/warmup.py").write_text(HALF_RIGHT)
    return load_course(course_root)


def _marked(text: str) -> list[str]:
    """The ✓/✗/· lines of a check() block or a feedback list, without their indent or bullet."""
    lines = (ln.strip().removeprefix("- ") for ln in text.splitlines())
    return [ln for ln in lines if ln[:1] in ("✓", "✗", "·") and ln]


def test_each_case_of_a_parametrized_test_is_one_line_and_one_count(course):
    [result] = run_check(["00.1"], course)
    text = result.render()
    assert _marked(text) == EXPECTED, text
    assert len(result.counted) == len(EXPECTED) and "7 of 8 tests pass" in text, text
    assert "split_evenly([1, 2, 3, 4], 3) gave 2 batches" in text
    progress = load_progress(course)["00.1"]
    assert (progress["passed"], progress["total"]) == (7, 8)


def test_feedback_and_results_json_show_the_lines_check_shows(course, tmp_path):
    import json
    [checked] = run_check(["00.1"], course)
    submission = tmp_path / "learner"
    (submission / "00_start_here").mkdir(parents=True)
    shutil.copy(course.root / "exercises/00_start_here/warmup.py", submission / "00_start_here")
    done = subprocess.run([sys.executable, "-m", "coursekit", "grade", str(submission), "--out", str(tmp_path / "out")],
                          cwd=course.root, capture_output=True, text=True, timeout=600)
    assert (tmp_path / "out/learner/results.json").is_file(), done.stderr
    entry = next(t for t in json.loads((tmp_path / "out/learner/results.json").read_text())["tests"]
                 if t["number"] == "00.1")
    feedback = (tmp_path / "out/learner/feedback.md").read_text()
    section = feedback.split("### 00.1", 1)[1].split("\n### ", 1)[0]
    assert _marked(entry["output"]) == _marked(section) == _marked(checked.render()) == EXPECTED, entry["output"]
    assert "split_evenly([1, 2, 3, 4], 3) gave 2 batches" in entry["output"]
    assert entry["score"] == round(course.task("00.1").points * 7 / 8, 2)


def test_the_terminal_names_terminal_commands(course):
    cli = [sys.executable, "-m", "coursekit"]
    out = subprocess.run([*cli, "check", "00.1"], cwd=course.root, capture_output=True, text=True)
    assert "Stuck? `.venv/bin/python -m coursekit hint 00.1` shows a hint." in out.stdout
    assert 'hint("' not in out.stdout
    from coursekit.checking import render_all
    [result] = run_check(["00.1"], course)
    assert 'Stuck? hint("00.1") shows a hint.' in render_all([result]), "a notebook's check() keeps notebook syntax"


def test_reasons_never_advise_options_check_does_not_take(course):
    # a graded test (an instructor's, say: no PYTEST_DONT_REWRITE) whose bare assertion pytest
    # explains with a diff, and by default with advice to rerun it with -vv
    tests = course.root / "tests/test_00_start_here.py"
    tests.write_text('''import pytest


@pytest.mark.task("00.1")
def test_bare_comparisons(exercise):
    """bare comparisons"""
    got = exercise("warmup").call("split_evenly", list(range(60)), 2)
    assert {"a": 1, "b": 2, "parts": got} == {"a": 1, "b": 2, "parts": [list(range(60)), []]}
''')
    shutil.copy(course.root / "solutions/00_start_here/warmup.py", course.root / "exercises/00_start_here/warmup.py")
    [result] = run_check(["00.1"], course)
    [bare] = [ln for ln in result.lines if ln.name == "bare comparisons"]
    assert not bare.passed and "Differing items" in bare.reason, bare.reason
    assert "-v" not in result.render(), result.render()
    rejected = subprocess.run([sys.executable, "-m", "coursekit", "check", "00.1", "-v"], cwd=course.root,
                              capture_output=True, text=True)
    assert rejected.returncode == 2 and rejected.stderr.count("\n") == 1 and "-v" in rejected.stderr
