"""check(): learner-facing results, bounded time on hanging code, progress recorded."""

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
    path.write_text(f"def split_evenly(items, n):\n{body}")
    start = time.monotonic()
    [result] = run_check(["00.1"], course_copy)
    elapsed = time.monotonic() - start
    assert elapsed < 1.5 + 4, f"check took {elapsed:.1f} s"
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
