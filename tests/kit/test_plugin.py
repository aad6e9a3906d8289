"""The pytest plugin: --target, --task, --teeth and the task-marker rule."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pytest_run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True)


def test_teeth_fails_when_a_graded_test_passes():
    result = pytest_run("tests/test_00_start_here.py", "--target=solutions", "--teeth")
    assert result.returncode == 1
    assert "cannot tell an unsolved stub from a solution" in result.stdout


def test_teeth_passes_when_every_graded_test_fails():
    result = pytest_run("tests/test_00_start_here.py", "--target=exercises", "--teeth")
    assert result.returncode == 0, result.stdout


def test_task_filter_and_unknown_task():
    result = pytest_run("tests/test_01_processes_threads.py", "--task=01.2", "--co")
    assert "4 tests collected" in result.stdout or "4/" in result.stdout, result.stdout
    bad = pytest_run("tests/test_01_processes_threads.py", "--task=97.1")
    assert bad.returncode == 4 and "no such task 97.1" in bad.stderr


def test_a_submission_folder_can_be_the_target(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "sub")
    result = pytest_run("tests/test_00_start_here.py", f"--target={tmp_path / 'sub'}")
    assert result.returncode == 0, result.stdout
    missing = pytest_run("tests/test_00_start_here.py", f"--target={tmp_path / 'nothere'}")
    assert missing.returncode == 4 and "no such folder" in missing.stderr


def test_graded_test_without_a_task_is_refused(tmp_path):
    for name in ("course.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_00_start_here.py").write_text("def test_untagged():\n    pass\n")
    result = pytest_run("tests", cwd=tmp_path)
    assert result.returncode == 4 and "needs exactly one @pytest.mark.task" in result.stderr
