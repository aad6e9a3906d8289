"""Kit tests of lessons.pythons, the one finder of interpreters, and of scripts/newest-python.sh.

The finder's rules are tested on fake interpreters: shell scripts that answer the probe with a
line read from a file the test writes, and count how often they were started. Then the real
one: under ``COURSEKIT_REQUIRE_NEWEST=1`` (CI, after ``make newest-python``) a 3.14+ interpreter
must be found, or the test fails; without it, that test is skipped with the reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lessons import pythons

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "newest-python.sh"


class Fake:
    """A fake interpreter at ``path``: it prints the contents of ``answer`` (what the probe of
    ``lessons.pythons`` expects: one JSON line) and appends a line to ``runs`` each time it starts."""

    def __init__(self, directory: Path, name: str, version: tuple[int, int, int] = (3, 15, 2), *,
                 free_threaded: bool = False, gil: bool = True, exit_code: int = 0) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / name
        self.answer = directory / f"{name}.answer"
        self.runs = directory / f"{name}.runs"
        self.runs.write_text("")
        self.say(version, free_threaded=free_threaded, gil=gil)
        self.path.write_text(f'#!/bin/sh\necho run >> "{self.runs}"\ncat "{self.answer}"\nexit {exit_code}\n')
        self.path.chmod(0o755)

    def say(self, version: tuple[int, int, int], *, free_threaded: bool = False, gil: bool = True) -> None:
        """What the fake answers from now on (the file ``answer``, not the script)."""
        self.answer.write_text(json.dumps([list(version), "final", free_threaded, gil]) + "\n")

    @property
    def started(self) -> int:
        return len(self.runs.read_text().splitlines())


@pytest.fixture
def alone(monkeypatch, tmp_path):
    """No interpreter is found but those a test makes: no COURSEKIT_PYTHONS, no free-threaded
    build, ``NEWEST_PYTHON`` pointing into the test's tmp dir, an empty cache of answers."""
    monkeypatch.delenv("COURSEKIT_PYTHONS", raising=False)
    monkeypatch.setattr(pythons, "freethreaded", lambda: None)
    monkeypatch.setattr(pythons, "NEWEST_PYTHON", tmp_path / "cache" / "python-3.15" / "bin" / "python3.15")
    monkeypatch.setattr(pythons, "_seen", {})
    return tmp_path


def listed(monkeypatch, *fakes: Fake | Path) -> None:
    paths = [str(f.path if isinstance(f, Fake) else f) for f in fakes]
    monkeypatch.setenv("COURSEKIT_PYTHONS", os.pathsep.join(paths))


# ---------------------------------------------------------------------- what a file is

def test_a_fake_interpreter_is_found_with_its_version_and_gil(alone):
    gil = Fake(alone, "py315", (3, 15, 2))
    ft = Fake(alone, "py315t", (3, 15, 2), free_threaded=True, gil=False)
    assert pythons.info(gil.path) == pythons.Interpreter(str(gil.path), (3, 15, 2), "3.15.2", False, True)
    assert pythons.info(ft.path) == pythons.Interpreter(str(ft.path), (3, 15, 2), "3.15.2t", True, False)
    assert pythons.version(gil.path) == (3, 15, 2)


def test_this_interpreter_is_answered_without_a_process():
    here = pythons.info(sys.executable)
    assert here is not None and here.version == tuple(sys.version_info[:3]) and here.path == sys.executable


def test_a_file_that_does_not_start_is_not_found(alone):
    failing = Fake(alone, "fails", exit_code=1)                 # prints a good line, then exits 1
    garbage = alone / "garbage"
    garbage.write_text("#!/bin/sh\necho 'Python 3.15.2'\n")     # starts, but is no interpreter
    garbage.chmod(0o755)
    not_executable = alone / "plain"
    not_executable.write_text("not a program\n")
    for path in (failing.path, garbage, not_executable, alone / "missing", alone):
        assert pythons.info(path) is None, path
        assert pythons.version(path) is None, path
    assert failing.started == 1


def test_an_answer_is_kept_until_the_file_changes(alone):
    fake = Fake(alone, "py")
    assert pythons.version(fake.path) == (3, 15, 2)
    fake.say((3, 16, 0))                      # the script is the same file: the answer is kept
    assert pythons.version(fake.path) == (3, 15, 2) and fake.started == 1
    st = fake.path.stat()                     # the file changes (a new mtime): it is run again
    os.utime(fake.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert pythons.version(fake.path) == (3, 16, 0) and fake.started == 2
    with fake.path.open("a") as f:            # rewritten, mtime put back: the size tells
        f.write("# edited\n")
    os.utime(fake.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    fake.say((3, 17, 0))
    assert pythons.version(fake.path) == (3, 17, 0) and fake.started == 3


# ---------------------------------------------------------------------- which one is picked

def test_newest_picks_the_newest_listed_then_the_installed_one(alone, monkeypatch):
    old, new, newer = Fake(alone, "a", (3, 14, 0)), Fake(alone, "b", (3, 15, 2)), Fake(alone, "c", (3, 16, 0))
    installed = Fake(pythons.NEWEST_PYTHON.parent, pythons.NEWEST_PYTHON.name, (3, 15, 1))
    assert pythons.newest() == str(installed.path)              # nothing listed: make newest-python's
    listed(monkeypatch, new, alone / "missing", old)
    assert pythons.newest() == str(new.path)                    # listed ones first, the newest of them
    listed(monkeypatch, old, newer, new)
    assert pythons.newest() == str(newer.path)                  # newest, not first
    assert pythons.newest((3, 17)) is None                      # none new enough
    listed(monkeypatch, Fake(alone, "d", (3, 13, 5)))
    assert pythons.newest() == str(installed.path)              # a listed one too old: the next group


def test_newest_for_an_older_feature_falls_back_to_the_free_threaded_build_and_this_one(alone, monkeypatch):
    assert pythons.newest() is None
    assert pythons.newest(tuple(sys.version_info[:2])) == sys.executable
    ft = Fake(alone, "ft", (3, 13, 5), free_threaded=True, gil=False)
    monkeypatch.setattr(pythons, "freethreaded", lambda: str(ft.path))
    assert pythons.newest((3, 12)) == str(ft.path)             # 3.13t is newer than this 3.11
    assert pythons.newest((3, 14)) is None                      # and too old for 3.14+


def test_pick_prefers_this_interpreter_when_new_enough(alone, monkeypatch):
    listed(monkeypatch, Fake(alone, "a", (3, 15, 2)))
    assert pythons.pick((3, 11)) == sys.executable
    assert pythons.pick((3, 15)) == str(alone / "a")
    assert pythons.pick((9, 9)) is None


def test_interpreters_are_sorted_and_each_file_counts_once(alone, monkeypatch):
    a, b = Fake(alone, "a", (3, 15, 2)), Fake(alone, "b", (3, 14, 0))
    ft = Fake(alone, "ft", (3, 13, 5), free_threaded=True, gil=False)
    link = alone / "a-link"
    link.symlink_to(a.path)
    monkeypatch.setattr(pythons, "freethreaded", lambda: str(ft.path))
    listed(monkeypatch, link, a, b, alone / "missing")
    found = pythons.interpreters()
    assert [i.version for i in found] == sorted(i.version for i in found)
    assert [i.label for i in found if i.path != sys.executable] == ["3.13.5t", "3.14.0", "3.15.2"]
    assert [i.path for i in found if i.label == "3.15.2"] == [str(link)]   # first name of a file wins


# ---------------------------------------------------------------------- what a cell says

def test_skip_reason_names_the_need_this_python_and_the_fix():
    reason = pythons.skip_reason()
    assert reason.startswith("skipped: needs Python 3.14+; this is " + sys.version.split()[0])
    assert reason.endswith(f"({pythons.INSTALL_HINT})") and "make newest-python" in reason
    assert pythons.skip_reason((3, 12), "eager tasks").startswith("skipped: eager tasks needs Python 3.12+;")
    assert "\n" not in reason


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False), ("", False), (None, False)])
def test_required_follows_coursekit_require_newest(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("COURSEKIT_REQUIRE_NEWEST", raising=False)
    else:
        monkeypatch.setenv("COURSEKIT_REQUIRE_NEWEST", value)
    assert pythons.required() is expected


# ---------------------------------------------------------------------- the real one

def test_the_newest_cpython_is_installed_when_ci_requires_it():
    found = pythons.newest()
    if found is None:
        if pythons.required():
            pytest.fail(pythons.skip_reason())
        pytest.skip(pythons.skip_reason())
    info = pythons.info(found)
    assert info is not None and info.version[:2] >= (3, 14), info
    # it really runs what the 3.14+ cells use, from a fresh process
    done = subprocess.run([found, "-I", "-c", "import asyncio, concurrent.futures as f; "
                           "print(hasattr(asyncio, 'capture_call_graph'), hasattr(f, 'InterpreterPoolExecutor'))"],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout == "True True\n", done.stderr


# ---------------------------------------------------------------------- scripts/newest-python.sh

def script_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEKIT_")}
    return {**env, "COURSEKIT_CACHE": str(tmp_path / "cache"), **extra}


def test_script_where_prints_the_path_the_finder_uses(tmp_path):
    env = script_env(tmp_path)
    done = subprocess.run(["bash", str(SCRIPT), "--where"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == f"{tmp_path / 'cache'}/python-3.15/bin/python3.15\n"
    finder = subprocess.run([sys.executable, "-c", "from lessons import pythons; print(pythons.NEWEST_PYTHON)"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert finder.stdout == done.stdout, finder.stderr           # one rule for the cache dir
    assert not (tmp_path / "cache").exists()                      # --where changes nothing


def test_script_refuses_an_unknown_argument_in_one_line(tmp_path):
    done = subprocess.run(["bash", str(SCRIPT), "--bogus"], capture_output=True, text=True,
                          env=script_env(tmp_path), timeout=60)
    assert done.returncode != 0
    assert done.stderr.startswith("newest-python: error: usage:") and done.stderr.count("\n") == 1


def test_script_with_an_unreachable_mirror_fails_in_one_line(tmp_path):
    if os.geteuid() == 0 and shutil.which("patchelf") is None:
        pytest.skip("patchelf is missing and the script would apt-get install it (network)")
    env = script_env(tmp_path, COURSEKIT_REQUIRE_NEWEST="1",
                     COURSEKIT_DEBIAN_MIRROR="http://127.0.0.1:9/")   # port 9 (discard): refused
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode != 0, done.stdout
    assert done.stderr.startswith("newest-python: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    left = sorted(p.name for p in (tmp_path / "cache").iterdir()) if (tmp_path / "cache").exists() else []
    assert left in ([], [".newest-python.lock"]), left          # no half-installed prefix left
