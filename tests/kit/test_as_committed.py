"""scripts/as-committed.sh, make test's front door: in a clean checkout it runs the checks in
place; in one with changes (a learner's) it runs them in a clean copy of HEAD, says so in one
line, touches none of the learner's files and removes the copy."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "as-committed.sh"

pytestmark = pytest.mark.skipif(not (shutil.which("git") and shutil.which("make")), reason="needs git and make")

# `probe` records where it ran and what it saw there
MAKEFILE = """\
probe:
\t@{ pwd -P; cat exercises/task.py; readlink .venv || echo no-venv-link; echo "$$PYTHONPATH"; git status --porcelain 2>/dev/null || true; } > "$$OUT"
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "course"
    (repo / "exercises").mkdir(parents=True)
    (repo / "Makefile").write_text(MAKEFILE)
    (repo / "exercises" / "task.py").write_text("stub\n")
    (repo / ".gitignore").write_text(".venv/\n")
    (repo / ".venv").mkdir()
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "course")
    return repo


def run(repo: Path, out: Path, *command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OUT": str(out), "COURSE_ROOT": str(repo)}
    env.pop("MAKEFLAGS", None)
    return subprocess.run(["bash", str(SCRIPT), *(command or ("make", "-s", "probe"))], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_clean_checkout_is_checked_in_place(checkout, tmp_path):
    done = run(checkout, tmp_path / "seen")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "", "a clean checkout needs no notice"
    where, content, link, *_ = (tmp_path / "seen").read_text().splitlines()
    assert (where, content, link) == (str(checkout.resolve()), "stub", "no-venv-link")


def test_a_changed_checkout_is_checked_as_committed_in_a_copy(checkout, tmp_path):
    (checkout / "exercises" / "task.py").write_text("solved\n")
    (checkout / "notes.txt").write_text("mine\n")
    before = git(checkout, "status", "--porcelain")
    done = run(checkout, tmp_path / "seen")
    assert done.returncode == 0, done.stderr
    [notice] = done.stdout.splitlines()
    assert "uncommitted changes (exercises/task.py and 1 more)" in notice and "clean copy" in notice
    where, content, link, pythonpath, *status = (tmp_path / "seen").read_text().splitlines()
    status_there = "\n".join(status)
    assert where != str(checkout.resolve()) and where in notice
    assert content == "stub", "the copy holds HEAD, not the learner's edit"
    assert link == str(checkout.resolve() / ".venv"), "the copy shares the checkout's .venv"
    assert pythonpath.split(":")[0] == f"{where}/src", "the copy imports its own code"
    assert status_there == "", "the copy is a clean checkout of HEAD"
    # the learner's files are as they left them, and the copy is gone
    assert (checkout / "exercises" / "task.py").read_text() == "solved\n"
    assert (checkout / "notes.txt").read_text() == "mine\n"
    assert git(checkout, "status", "--porcelain") == before
    assert not Path(where).exists()
    assert (checkout / ".venv").is_dir()


@pytest.mark.parametrize("dirty", [False, True])
def test_the_exit_status_is_the_checks(checkout, tmp_path, dirty):
    if dirty:
        (checkout / "exercises" / "task.py").write_text("solved\n")
    assert run(checkout, tmp_path / "seen", "sh", "-c", "exit 3").returncode == 3


def test_outside_git_the_folder_is_checked_as_it_is(checkout, tmp_path, monkeypatch):
    shutil.rmtree(checkout / ".git")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(checkout.parent))   # no repository above it either
    done = run(checkout, tmp_path / "seen")
    assert done.returncode == 0, done.stderr
    assert "not a git checkout" in done.stdout and done.stdout.count("\n") == 1
    assert (tmp_path / "seen").read_text().splitlines()[0] == str(checkout.resolve())


def test_an_interrupted_run_removes_its_copy(checkout, tmp_path):
    import re
    import signal
    (checkout / "exercises" / "task.py").write_text("solved\n")
    env = {k: v for k, v in os.environ.items() if k != "MAKEFLAGS"}
    # like Ctrl-C in a terminal: the signal goes to the whole process group, checks included
    proc = subprocess.Popen(["bash", str(SCRIPT), "sh", "-c", "echo started; exec sleep 600"], cwd=checkout,
                            env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        notice = proc.stdout.readline()
        assert proc.stdout.readline() == "started\n"   # the checks are running in the copy
        copy = Path(re.search(r"clean copy, (\S+);", notice)[1])
        assert copy.is_dir()
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not copy.parent.exists(), "the temporary folder is removed"
    assert (checkout / "exercises" / "task.py").read_text() == "solved\n"


def test_a_course_in_a_subfolder_of_its_repository(tmp_path):
    repo, course = tmp_path / "repo", tmp_path / "repo" / "courses" / "py"
    (course / "exercises").mkdir(parents=True)
    (course / "Makefile").write_text(MAKEFILE)
    (course / "exercises" / "task.py").write_text("stub\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "course")
    (course / "exercises" / "task.py").write_text("solved\n")
    done = run(course, tmp_path / "seen")
    assert done.returncode == 0, done.stderr
    where, content, *_ = (tmp_path / "seen").read_text().splitlines()
    assert where.endswith("/repo/courses/py") and where != str(course.resolve()) and content == "stub"
