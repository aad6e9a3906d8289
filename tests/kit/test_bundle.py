"""The Gradescope autograder bundle: its entries, and run_autograder in a Gradescope-like root.

Gradescope unpacks the zip into ROOT/source, copies run_autograder to ROOT, puts the
learner's upload in ROOT/submission and reads ROOT/results/results.json
(https://gradescope-autograders.readthedocs.io/en/latest/specs/). These tests do the same
in a temporary ROOT, with the repository's .venv python standing in for /autograder/venv.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import fastjsonschema
import pytest
from packaging.requirements import Requirement

from coursekit.bundle import (GRADER_PACKAGES, TEST_FIXTURES, SubmissionProblem, build_bundle, failure_results,
                              main, prepare_submission)
from coursekit.errors import CourseError
from coursekit.manifest import load_course

REPO = Path(__file__).resolve().parents[2]
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PYTHON = str(VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable))

# Gradescope's results.json, as its spec describes it (URL above): every key optional, but a
# score is needed at the top or on every test. "status" (passed/failed) and the *_format keys
# come from the spec's later revision and Gradescope's own gradescope-utils.
_VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
_FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
_TEST = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "status": {"enum": ["passed", "failed"]},
        "name": {"type": "string"},
        "name_format": _FORMAT,
        "number": {"type": "string"},
        "output": {"type": "string"},
        "output_format": _FORMAT,
        "tags": {"type": "array", "items": {"type": "string"}},
        "visibility": _VISIBILITY,
        "extra_data": {"type": "object"},
    },
}
RESULTS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": _FORMAT,
        "test_output_format": _FORMAT,
        "test_name_format": _FORMAT,
        "visibility": _VISIBILITY,
        "stdout_visibility": _VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": _TEST},
        "leaderboard": {"type": "array", "items": {
            "type": "object", "required": ["name", "value"], "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "value": {"type": ["number", "string"]},
                           "order": {"enum": ["asc", "desc"]}}}},
    },
    "anyOf": [
        {"required": ["score"]},
        {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}},
    ],
}
validate_results = fastjsonschema.compile(RESULTS_SCHEMA)


@pytest.fixture(scope="module")
def course():
    return load_course(REPO)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, course) -> Path:
    return build_bundle(tmp_path_factory.mktemp("bundle") / "autograder.zip", course=course)


# --- the zip -----------------------------------------------------------------------------

def test_entries_are_the_course_and_nothing_private(bundle):
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
    assert names == sorted(names)
    assert {"setup.sh", "run_autograder", "grader-requirements.txt",
            "source/course.yml", "source/pyproject.toml", "source/src/coursekit/__init__.py",
            "source/src/coursekit/bundle.py"} <= set(names)
    graded = {n.removeprefix("source/tests/") for n in names if n.startswith("source/tests/")}
    assert graded == {p.name for p in (REPO / "tests").glob("test_*.py")}
    for name in names:
        assert name in ("setup.sh", "run_autograder", "grader-requirements.txt") or name.startswith("source/")
        parts = name.split("/")
        assert "solutions" not in parts and "exercises" not in parts and "notebooks" not in parts, name
        assert not name.startswith("source/tests/kit"), name
        assert "__pycache__" not in parts and not name.endswith(".pyc"), name
    lessons = {n.removeprefix("source/") for n in names if n.startswith("source/src/lessons/")}
    assert lessons == {f for f in TEST_FIXTURES if (REPO / f).is_file()}, (
        f"the bundle's lesson files are {sorted(lessons)}: exactly the TEST_FIXTURES that exist")
    assert "src/lessons/linksite.py" in lessons, "06's graded tests exec src/lessons/linksite.py's source"


def test_fixture_sources_are_shipped_byte_for_byte_and_tolerated_missing(bundle, course_root):
    with zipfile.ZipFile(bundle) as z:
        for name in TEST_FIXTURES:
            if (REPO / name).is_file():
                assert z.read(f"source/{name}") == (REPO / name).read_bytes(), name
    shutil.copy(REPO / "requirements.txt", course_root / "requirements.txt")
    (course_root / "src" / "lessons").mkdir(parents=True, exist_ok=True)   # linksite.py only:
    (course_root / "src" / "lessons" / "virtual_time.py").unlink(missing_ok=True)   # no virtual_time.py
    (course_root / "src" / "lessons" / "linksite.py").write_text("SITE = 1\n")
    with zipfile.ZipFile(build_bundle(course_root / "a.zip", course=load_course(course_root))) as z:
        shipped = [n for n in z.namelist() if n.startswith("source/src/lessons/")]
    assert shipped == ["source/src/lessons/linksite.py"], shipped


def test_zip_is_deterministic_with_fixed_times_and_modes(bundle, course, tmp_path):
    again = build_bundle(tmp_path / "again.zip", course=course)
    assert again.read_bytes() == bundle.read_bytes()
    with zipfile.ZipFile(bundle) as z:
        for info in z.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            mode = info.external_attr >> 16
            assert stat.S_ISREG(mode), info.filename
            executable = info.filename in ("setup.sh", "run_autograder")
            assert stat.S_IMODE(mode) == (0o755 if executable else 0o644), info.filename


def test_scripts_pass_bash_syntax_check(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as z:
        z.extractall(tmp_path)
    for script in ("setup.sh", "run_autograder"):
        text = (tmp_path / script).read_text()
        assert text.startswith("#!/usr/bin/env bash\n")
        result = subprocess.run(["bash", "-n", str(tmp_path / script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_grader_requirements_are_pinned_from_requirements_txt_and_closed(bundle):
    with zipfile.ZipFile(bundle) as z:
        lines = [ln for ln in z.read("grader-requirements.txt").decode().splitlines()
                 if ln and not ln.startswith("#")]
    pinned = set((REPO / "requirements.txt").read_text().splitlines())
    assert all("==" in ln and ln in pinned for ln in lines), lines
    names = {Requirement(ln).name.lower().replace("_", "-") for ln in lines}
    assert "jupyterlab" not in names and "notebook" not in names
    assert {p.lower() for p in GRADER_PACKAGES} == names
    # every dependency that pip would install on Linux with this Python is listed too
    env = {"sys_platform": "linux", "os_name": "posix", "platform_system": "Linux", "extra": ""}
    for name in names:
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate(env):
                assert req.name.lower().replace("_", "-") in names, f"{name} needs {req.name}"


def test_instructor_tests_are_shipped_under_source(course, tmp_path):
    extra = tmp_path / "hidden"
    (extra / "data").mkdir(parents=True)
    (extra / "test_01_processes_threads_hidden.py").write_text("def test_x():\n    pass\n")
    (extra / "data" / "cases.json").write_text("[]")
    (extra / "__pycache__").mkdir()
    (extra / "__pycache__" / "x.pyc").write_bytes(b"")
    with zipfile.ZipFile(build_bundle(tmp_path / "a.zip", course=course, extra_tests=extra)) as z:
        names = [n for n in z.namelist() if n.startswith("source/instructor_tests/")]
    assert names == ["source/instructor_tests/data/cases.json",
                     "source/instructor_tests/test_01_processes_threads_hidden.py"]
    with pytest.raises(CourseError, match="no such folder"):
        build_bundle(tmp_path / "b.zip", course=course, extra_tests=tmp_path / "missing")


def test_a_module_without_tests_is_refused(course_root):
    (course_root / "tests" / "test_00_start_here.py").unlink()
    with pytest.raises(CourseError, match="points of module 00_start_here could never be earned"):
        build_bundle(course_root / "a.zip", course=load_course(course_root))


def test_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    assert main(["--out", str(tmp_path / "autograder.zip")]) == 0
    assert "autograder.zip" in capsys.readouterr().out and zipfile.is_zipfile(tmp_path / "autograder.zip")
    assert main(["--out", str(tmp_path / "x.zip"), "--tests", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such folder" in err


def test_coursekit_command(tmp_path):
    run = subprocess.run([sys.executable, "-m", "coursekit", "gradescope-bundle", "--out", str(tmp_path / "a.zip")],
                         cwd=REPO, capture_output=True, text=True)
    if "invalid choice: 'gradescope-bundle'" in run.stderr:
        pytest.skip("cli.py does not offer gradescope-bundle yet")
    assert run.returncode == 0, run.stderr
    assert zipfile.is_zipfile(tmp_path / "a.zip")


# --- what a learner uploads ----------------------------------------------------------------

def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


def _layout(dest: Path) -> list[str]:
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())


@pytest.mark.parametrize("upload", [
    "folders", "wrapped", "zip", "zip-of-wrapped", "wrapped-zip", "checkout", "loose-files",
])
def test_every_usual_upload_becomes_an_exercises_layout(upload, course, tmp_path):
    raw = tmp_path / "submission"
    raw.mkdir()
    files = {"00_start_here/warmup.py": "A = 0\n", "01_processes_threads/cost_model.py": "B = 1\n"}
    if upload == "folders":
        base = raw
    elif upload == "wrapped":
        base = raw / "my work"
    elif upload == "checkout":               # a whole repository: only exercises/ counts
        base = raw / "exercises"
        (raw / "solutions" / "00_start_here").mkdir(parents=True)
        (raw / "solutions" / "00_start_here" / "warmup.py").write_text("SOLUTION\n")
        (raw / "course.yml").write_text("title: x\n")
    elif upload == "loose-files":
        files = {"warmup.py": "A = 0\n", "cost_model.py": "B = 1\n", "notes.txt": "hi\n"}
        base = raw
    if upload.startswith("zip") or upload == "wrapped-zip":
        prefix = "exercises/" if upload == "zip-of-wrapped" else ""
        target = raw / "upload" if upload == "wrapped-zip" else raw
        target.mkdir(exist_ok=True)
        _zip(target / "exercises.zip", {prefix + k: v for k, v in files.items()}
             | {"__MACOSX/._warmup.py": "junk"})
    else:
        for name, text in files.items():
            (base / name).parent.mkdir(parents=True, exist_ok=True)
            (base / name).write_text(text)
    dest = prepare_submission(raw, tmp_path / "staged", course)
    assert _layout(dest) == ["00_start_here/warmup.py", "01_processes_threads/cost_model.py"]
    assert (dest / "00_start_here" / "warmup.py").read_text() == "A = 0\n"


def test_links_and_escaping_zip_entries_are_left_out(course, tmp_path):
    raw = tmp_path / "submission"
    (raw / "00_start_here").mkdir(parents=True)
    (raw / "00_start_here" / "warmup.py").write_text("A = 0\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("instructor only\n")
    os.symlink(secret, raw / "00_start_here" / "notes.txt")
    dest = prepare_submission(raw, tmp_path / "staged", course)
    assert _layout(dest) == ["00_start_here/warmup.py"]

    zipped = tmp_path / "z"
    zipped.mkdir()
    _zip(zipped / "s.zip", {"../evil.py": "X\n", "00_start_here/warmup.py": "A = 0\n"})
    dest = prepare_submission(zipped, tmp_path / "staged2", course)
    assert _layout(dest) == ["00_start_here/warmup.py"]
    assert not (tmp_path / "evil.py").exists()


@pytest.mark.parametrize("content", ["nothing", "junk", "bad-zip"])
def test_unusable_uploads_say_why_in_one_line(content, course, tmp_path):
    raw = tmp_path / "submission"
    raw.mkdir()
    if content == "junk":
        (raw / "README.md").write_text("hello\n")
    elif content == "bad-zip":
        (raw / "work.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(SubmissionProblem) as info:
        prepare_submission(raw, tmp_path / "staged", course)
    assert "\n" not in str(info.value)
    assert ("not a zip" if content == "bad-zip" else "no exercise file") in str(info.value)


def test_failure_results_are_valid_with_score_zero():
    results = failure_results("boom\n  on two lines", 3.4)
    validate_results(results)
    assert results["score"] == 0 and "boom on two lines" in results["output"]


# --- run_autograder in a Gradescope-like root -----------------------------------------------

def _gradescope_root(bundle: Path, tmp_path: Path) -> Path:
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
        for info in z.infolist():                          # extractall drops the mode bits
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


def _run_autograder(root: Path, **env: str) -> tuple[dict, subprocess.CompletedProcess]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COURSEKIT_", "PYTEST_"))}
    environ.pop("COURSE_ROOT", None)
    environ.pop("PYTHONPATH", None)
    environ |= {"AUTOGRADER_ROOT": str(root), "COURSEKIT_PYTHON": PYTHON} | env
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, env=environ,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    validate_results(results)
    return results, proc


def test_empty_submission_still_gets_results_and_imports_the_bundled_coursekit(bundle, tmp_path):
    root = _gradescope_root(bundle, tmp_path)
    results, proc = _run_autograder(root)
    assert results["score"] == 0 and "no exercise file" in results["output"]
    assert f"coursekit from {root / 'source' / 'source' / 'src' / 'coursekit'}" in proc.stdout


def test_missing_python_still_gets_results(bundle, tmp_path):
    root = _gradescope_root(bundle, tmp_path)
    results, proc = _run_autograder(root, COURSEKIT_PYTHON=str(tmp_path / "no-python"))
    assert results["score"] == 0 and "no Python at" in results["output"]


def test_grader_error_still_gets_results(bundle, tmp_path):
    root = _gradescope_root(bundle, tmp_path)
    shutil.copytree(REPO / "solutions", root / "submission", dirs_exist_ok=True)
    results, proc = _run_autograder(root, COURSEKIT_GRADE_ARGS="--no-such-option")
    assert results["score"] == 0 and "--no-such-option" in results["output"]
    assert "\n" not in results["output"]


needs_grader = pytest.mark.skipif(not (REPO / "src" / "coursekit" / "grader.py").exists(),
                                  reason="the grader (coursekit grade) is not written yet")


HIDDEN_TEST = """import pytest


@pytest.mark.task("00.1")
def test_one_batch_keeps_everything(exercise):
    assert exercise("warmup").call("split_evenly", [1, 2], 1) == [[1, 2]]
"""


@needs_grader
def test_solutions_score_full_marks_with_instructor_tests(course, tmp_path):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    (hidden / "test_00_start_here_hidden.py").write_text(HIDDEN_TEST)
    bundle = build_bundle(tmp_path / "autograder.zip", course=course, extra_tests=hidden)
    root = _gradescope_root(bundle, tmp_path)
    shutil.copytree(REPO / "solutions", root / "submission", dirs_exist_ok=True)
    results, proc = _run_autograder(root)
    total = sum(t.points for m in course.modules for t in m.tasks)
    assert results["score"] == pytest.approx(total), proc.stdout
    assert all(t["score"] == t["max_score"] for t in results["tests"]), proc.stdout
    assert f"--tests {root / 'source' / 'source' / 'instructor_tests'}" in proc.stdout


@needs_grader
def test_stub_exercises_in_a_wrapped_zip_score_zero(bundle, tmp_path):
    root = _gradescope_root(bundle, tmp_path)
    exercises = {f"exercises/{p.relative_to(REPO / 'exercises').as_posix()}": p.read_text()
                 for p in (REPO / "exercises").rglob("*.py")}
    _zip(root / "submission" / "exercises.zip", exercises)
    results, proc = _run_autograder(root, COURSEKIT_TIMEOUT="3")     # a stub that hangs costs 3 s
    assert "--timeout 3" in proc.stdout
    assert results["score"] == 0, proc.stdout
    assert results["tests"] and all(t["score"] == 0 for t in results["tests"])
