"""exercises/ generated from solutions/: regions, stubs, errors, and the stale check."""

import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.build import stub_source
from coursekit.errors import CourseError



def test_region_becomes_not_implemented():
    src = 'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n'
    out = stub_source(src, "solutions/01_x/m.py", ["01.1"])
    assert out.startswith("# Your exercise file")
    assert "solutions/01_x/m.py" in out.splitlines()[1]
    body = out.split('"""Doc."""\n')[1]
    assert body == '    raise NotImplementedError("01.1: not implemented yet - write the body of f()")\n'


def test_stub_block_replaces_the_region():
    src = ("def f():\n    ### BEGIN SOLUTION 01.2\n    return 1\n    ### END SOLUTION\n"
           "    ### BEGIN STUB\n    # return 0  # broken\n    #\n    ### END STUB\n")
    out = stub_source(src, "s.py", ["01.1", "01.2"])
    assert out.endswith("def f():\n    return 0  # broken\n\n")


@pytest.mark.parametrize("src, message", [
    ("### BEGIN SOLUTION\nx = 1\n", "without END SOLUTION"),
    ("x = 1\n### END SOLUTION\n", "without a matching BEGIN"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside another"),
    ("### BEGIN SOLUTION 01.9\nx = 1\n### END SOLUTION\n", "not a task of this file"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### BEGIN STUB\nx = 2\n### END STUB\n", "not a comment"),
    ("x = 1\n", "no ### BEGIN SOLUTION"),
])
def test_bad_markers_are_one_line_errors(src, message):
    with pytest.raises(CourseError, match=message) as info:
        stub_source(src, "solutions/01_x/m.py", ["01.1"])
    assert "\n" not in str(info.value) and "solutions/01_x/m.py" in str(info.value)


def test_two_tasks_need_explicit_ids():
    with pytest.raises(CourseError, match="write the task id"):
        stub_source("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "s.py", ["01.1", "01.2"])


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "coursekit", *args], cwd=root, capture_output=True, text=True)


def test_check_fails_after_a_solution_changes_outside_its_regions(course_root):
    root = course_root
    assert _cli(root, "build", "--check").returncode == 0
    path = root / "solutions/01_processes_threads/cost_model.py"
    path.write_text(path.read_text().replace("MODELS = (", "MODELS = (  # changed\n    "))
    result = _cli(root, "build", "--check")
    assert result.returncode == 1
    assert "exercises/01_processes_threads/cost_model.py" in result.stderr
    assert _cli(root, "build").returncode == 0
    assert _cli(root, "build", "--check").returncode == 0


def test_check_reports_stray_exercise_files(course_root):
    root = course_root
    (root / "exercises/01_processes_threads/extra.py").write_text("x = 1\n")
    result = _cli(root, "build", "--check")
    assert result.returncode == 1 and "extra.py" in result.stderr


def test_missing_solution_file_is_a_one_line_error(course_root):
    root = course_root
    (root / "solutions/00_start_here/warmup.py").unlink()
    result = _cli(root, "build")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "warmup.py: missing" in result.stderr


def test_written_files_keep_ordinary_permissions(tmp_path):
    from coursekit.build import write_atomic
    new = tmp_path / "new.txt"
    write_atomic(new, "x")
    assert new.stat().st_mode & 0o644 == 0o644
    new.chmod(0o640)
    write_atomic(new, "y")
    assert new.stat().st_mode & 0o777 == 0o640 and new.read_text() == "y"
