"""exercises/ generated from solutions/: regions, stubs, errors, the stale check, and a
learner's changed exercise file never overwritten."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.build import LEGACY_HEADER, as_generated, stub_source
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


# ------------------------------------------------------------------ a learner's work is never lost

WARMUP = "exercises/00_start_here/warmup.py"
SOLVED = "def split_evenly(items, n):\n    return [items[i::n] for i in range(n)]  # my answer\n"


def test_the_digest_recognises_exactly_the_generated_text():
    out = stub_source('def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n', "s.py", ["01.1"])
    assert as_generated(out)
    for i in range(len(out)):   # any one character changed, header or body, and it is someone's edit
        changed = out[:i] + ("x" if out[i] != "x" else "y") + out[i + 1:]
        assert not as_generated(changed), (i, changed)
    assert not as_generated(out + "\n") and not as_generated(out.replace("\n", "\r\n"))


def test_build_refuses_to_overwrite_a_changed_exercise_and_updates_the_rest(course_root):
    root = course_root
    (root / WARMUP).write_text(SOLVED)
    # an author changes two solutions; the learner never touched cost_model.py
    for rel in ("solutions/00_start_here/warmup.py", "solutions/01_processes_threads/cost_model.py"):
        path = root / rel
        path.write_text(path.read_text().replace('"""', '"""Changed. ', 1))
    result = _cli(root, "build")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and WARMUP in result.stderr and "refused to overwrite" in result.stderr
    assert "cost_model" not in result.stderr
    assert (root / WARMUP).read_text() == SOLVED, "the learner's work is kept"
    assert "Changed. " in (root / "exercises/01_processes_threads/cost_model.py").read_text(), \
        "an untouched exercise is still updated after its solution changed"
    assert result.stdout == "wrote exercises/01_processes_threads/cost_model.py\n"
    again = _cli(root, "build")   # nothing left to write, and still no overwrite
    assert again.returncode == 1 and (root / WARMUP).read_text() == SOLVED


def test_force_overwrites_for_authors(course_root):
    root = course_root
    (root / WARMUP).write_text(SOLVED)
    result = _cli(root, "build", "--force")
    assert result.returncode == 0 and f"wrote {WARMUP}" in result.stdout
    assert as_generated((root / WARMUP).read_text())
    assert _cli(root, "build", "--check").returncode == 0


def test_an_exercise_with_the_header_from_before_digests_counts_as_untouched(course_root):
    root = course_root
    text = (root / WARMUP).read_text()
    body = text.split("\n", 3)[3]
    legacy = LEGACY_HEADER.format(source="solutions/00_start_here/warmup.py")
    (root / WARMUP).write_text(legacy + body)
    assert _cli(root, "build").returncode == 0 and (root / WARMUP).read_text() == text
    (root / WARMUP).write_text(legacy + body + "x = 1  # mine\n")
    assert _cli(root, "build").returncode == 1 and (root / WARMUP).read_text().endswith("# mine\n")


def test_an_unreadable_exercise_is_kept_not_a_traceback(course_root):
    (course_root / WARMUP).write_bytes(b"\xff\xfe not utf-8")
    result = _cli(course_root, "build")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (course_root / WARMUP).read_bytes() == b"\xff\xfe not utf-8"


def _advised(message: str) -> list[list[str]]:
    """The commands a message tells one to run (in backticks)."""
    return [shlex.split(c) for c in re.findall(r"`([^`]+)`", message)]


def test_following_the_check_advice_loses_no_work(course_root):
    root = course_root
    (root / WARMUP).write_text(SOLVED)
    path = root / "solutions/01_processes_threads/cost_model.py"
    path.write_text(path.read_text().replace('"""', '"""Changed. ', 1))
    result = _cli(root, "build", "--check")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "exercises/01_processes_threads/cost_model.py" in result.stderr and WARMUP in result.stderr
    commands = _advised(result.stderr)
    assert commands, result.stderr
    for command in commands:
        assert command[:3] == ["python", "-m", "coursekit"] and "--force" not in command, command
        subprocess.run([sys.executable, *command[1:]], cwd=root, capture_output=True, check=False)
    assert (root / WARMUP).read_text() == SOLVED
    after = _cli(root, "build", "--check")
    assert after.returncode == 1 and "cost_model" not in after.stderr and WARMUP in after.stderr
