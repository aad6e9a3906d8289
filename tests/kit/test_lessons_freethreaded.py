"""lessons.freethreaded: finding the 3.13t build, and running code under it.

The first group runs everywhere, with stand-in interpreters.  The second needs the real
free-threaded build (``make freethreaded``): it is skipped when the build is missing, unless
``COURSEKIT_REQUIRE_FREETHREADED=1`` (what CI sets after ``make freethreaded``), which turns
every such skip into a failure.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lessons import freethreaded

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("COURSEKIT_REQUIRE_FREETHREADED") == "1"
PROBE = "import sys; print(sys._is_gil_enabled())"


def fake_python(folder: Path, body: str) -> Path:
    """An executable shell script standing in for an interpreter."""
    path = folder / "python3.13t"
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


# --- everywhere ------------------------------------------------------------------------------

def test_hint_is_one_line_that_names_the_make_target():
    assert "\n" not in freethreaded.BUILD_HINT
    assert "make freethreaded" in freethreaded.BUILD_HINT


@pytest.mark.parametrize("env, expected", [
    ({"COURSEKIT_CACHE": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/c"),
    ({"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/coursekit"),
    ({"HOME": "/h"}, "/h/.cache/coursekit"),
])
def test_module_and_build_script_agree_on_where_the_interpreter_is(env, expected):
    env = {**env, "PATH": os.environ["PATH"]}
    module = subprocess.run([sys.executable, "-c", "from lessons import freethreaded as f; print(f.PYTHON)"],
                            env={**env, "PYTHONPATH": str(ROOT / "src")},
                            capture_output=True, text=True, check=True).stdout.strip()
    script = subprocess.run(["bash", str(ROOT / "scripts" / "freethreaded.sh"), "--where"], env=env,
                            capture_output=True, text=True, check=True).stdout.strip()
    assert module == script == f"{expected}/python-3.13t/bin/python3.13t"


def test_missing_interpreter_gives_none_and_the_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(freethreaded, "PYTHON", tmp_path / "nothing" / "python3.13t")
    assert freethreaded.find() is None
    with pytest.raises(freethreaded.NotBuiltError, match="make freethreaded"):
        freethreaded.run("print(1)")


@pytest.mark.parametrize("answer", ["True", "oops"])
def test_an_interpreter_with_the_gil_on_is_not_accepted(tmp_path, monkeypatch, answer):
    monkeypatch.setattr(freethreaded, "PYTHON", fake_python(tmp_path, f"echo {answer}\n"))
    assert freethreaded.find() is None


def test_a_classic_build_is_not_accepted(tmp_path, monkeypatch):
    python = tmp_path / "python3.13t"
    python.symlink_to(sys.executable)  # 3.11/3.12: no sys._is_gil_enabled; 3.13: True
    monkeypatch.setattr(freethreaded, "PYTHON", python)
    assert freethreaded.find() is None


def test_the_check_runs_once_until_the_file_changes(tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    python = fake_python(tmp_path, f"echo x >> {calls}\necho False\n")
    monkeypatch.setattr(freethreaded, "PYTHON", python)
    assert freethreaded.find() == freethreaded.find() == python
    assert calls.read_text().count("x") == 1
    os.utime(python, ns=(1, 1))  # a rebuild: new mtime
    assert freethreaded.find() == python
    assert calls.read_text().count("x") == 2


@pytest.mark.parametrize("gil, seen", [(None, "unset"), (True, "1"), (False, "0")])
def test_run_sets_python_gil_only_when_asked(tmp_path, monkeypatch, gil, seen):
    monkeypatch.setenv("PYTHON_GIL", "1")  # the caller's own setting must not leak into the child
    python = fake_python(tmp_path, 'echo "gil=${PYTHON_GIL-unset} argv=$*"\n')
    done = freethreaded.run("pass", gil=gil, python=python, args=["a", "b"])
    assert done.returncode == 0
    assert done.stdout == f"gil={seen} argv=-c pass a b\n"


def test_run_under_the_course_python_can_import_lessons():
    done = freethreaded.run("import sys, lessons.costs; print(sys.argv[1:])",
                            python=sys.executable, args=["x"])
    assert (done.returncode, done.stdout, done.stderr) == (0, "['x']\n", "")


def test_run_kills_a_child_that_overstays():
    with pytest.raises(subprocess.TimeoutExpired):
        freethreaded.run("while True: pass", python=sys.executable, timeout=0.5)


def test_present_when_ci_requires_it():
    if not REQUIRED:
        pytest.skip("COURSEKIT_REQUIRE_FREETHREADED is not 1: the 3.13t build is optional here")
    assert freethreaded.find() is not None, freethreaded.BUILD_HINT


# --- with the real free-threaded build -------------------------------------------------------

@pytest.fixture
def ft() -> Path:
    python = freethreaded.find()
    if python is None:
        if REQUIRED:
            pytest.fail(freethreaded.BUILD_HINT)
        pytest.skip(freethreaded.BUILD_HINT)
    return python


def test_gil_is_off_by_default(ft):
    done = freethreaded.run(PROBE)
    assert (done.returncode, done.stdout) == (0, "False\n"), done.stderr
    assert freethreaded.run("import sysconfig; print(sysconfig.get_config_var('Py_GIL_DISABLED'))").stdout == "1\n"


def test_python_gil_1_turns_it_on_and_0_keeps_it_off(ft):
    assert freethreaded.run(PROBE, gil=True).stdout == "True\n"
    assert freethreaded.run(PROBE, gil=False).stdout == "False\n"


CPU_BOUND = """
import sys, threading
def work(n, out, i):
    total = 0
    for k in range(n):
        total += k
    out[i] = (total, sys._is_gil_enabled())
threads = int(sys.argv[1])
out = [None] * threads
workers = [threading.Thread(target=work, args=(200_000, out, i)) for i in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print(out)
"""


@pytest.mark.parametrize("gil, on", [(None, False), (True, True)])
def test_two_threads_of_cpu_bound_work_run_with_the_gil_as_set(ft, gil, on):
    # Only facts, no timing: both threads finish with the right sum, and the GIL stays as set
    # while they run. How long they take is bench/'s business and lesson 02's.
    done = freethreaded.run(CPU_BOUND, gil=gil, args=["2"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"[(19999900000, {on}), (19999900000, {on})]\n"


def test_importing_greenlet_3_2_2_turns_the_gil_back_on(ft):
    venv = freethreaded.find(venv=True)
    if venv is None:
        pytest.fail(f"{freethreaded.VENV_PYTHON} is missing or not free-threaded: run `make freethreaded`")
    code = "import sys, greenlet; print(greenlet.__version__, sys._is_gil_enabled())"
    done = freethreaded.run(code, python=venv)
    assert done.stdout == "3.2.2 True\n"
    assert "RuntimeWarning" in done.stderr and "GIL" in done.stderr
    forced = freethreaded.run(code, python=venv, gil=False)  # PYTHON_GIL=0: stays off, no warning
    assert forced.stdout == "3.2.2 False\n" and "RuntimeWarning" not in forced.stderr


def test_jupyter_kernel_python313t_runs_the_venv(ft):
    if not (ROOT / ".venv").is_dir():
        pytest.skip("no .venv in this checkout: the kernel is registered there")
    from jupyter_client.kernelspec import KernelSpecManager
    spec = KernelSpecManager().get_kernel_spec(freethreaded.KERNEL_NAME)  # NoSuchKernel if missing
    assert spec.argv[0] == str(freethreaded.VENV_PYTHON)
    assert "free-threaded" in spec.display_name
