"""The Gradescope autograder bundle, and the code that runs inside it on Gradescope.

  python -m coursekit gradescope-bundle --out autograder.zip [--tests EXTRA_TESTS_DIR]

writes a zip to upload on a Gradescope programming assignment's "Configure Autograder" page
(https://gradescope-autograders.readthedocs.io/en/latest/specs/). Gradescope unpacks it into
/autograder/source, runs ``setup.sh`` once while it builds the image, and runs
``run_autograder`` (copied to /autograder) once per submission. The zip holds, at its root:

  setup.sh                 installs bubblewrap, finds or installs Python >= 3.11, creates
                           /autograder/venv with the pinned packages of grader-requirements.txt
  run_autograder           grades /autograder/submission, writes /autograder/results/results.json
  grader-requirements.txt  the grader's packages, pinned as in requirements.txt (no Jupyter)
  source/                  the course: course.yml, pyproject.toml, src/coursekit/, the graded
                           tests/test_*.py, the few lesson files that graded tests read as
                           source (TEST_FIXTURES, at the same paths), and instructor_tests/ when
                           --tests is given; never solutions/ and never tests/kit/

so the course lives in /autograder/source/source on Gradescope. The zip is deterministic:
sorted entries, fixed timestamps and modes, so the same checkout always gives the same bytes.

On Gradescope, ``run_autograder`` (bash) imports coursekit from the bundle's source/src (through
PYTHONPATH, never an installed copy) and calls :func:`autograde_main`, which lays out what the
learner uploaded as a folder like exercises/ (:func:`prepare_submission`: the module folders
directly, the same wrapped in one folder, a .zip of either, a whole checkout holding
exercises/, or loose task files), runs ``python -m coursekit grade`` on it, and copies the
grader's results.json into place. Whatever goes wrong, a results.json is written: score 0 and
the reason on one line (Gradescope shows "The autograder failed to execute correctly" when
there is none). For tests, every path comes from the environment: AUTOGRADER_ROOT (default
/autograder), COURSEKIT_PYTHON (default $AUTOGRADER_ROOT/venv/bin/python), COURSEKIT_COURSE
(default: the folder holding course.yml, $AUTOGRADER_ROOT/source/source or $AUTOGRADER_ROOT/source);
COURSEKIT_SUBMISSION_TIMEOUT (default 480 s, under Gradescope's default 10 minutes),
COURSEKIT_TIMEOUT (the grader's --timeout, unset by default) and COURSEKIT_GRADE_ARGS (more
arguments for the grader, split like a shell would) tune the grading.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from .errors import CourseError
from .manifest import MANIFEST, Course, load_course

# What the grader imports, and everything those pull in on Linux and Python >= 3.11 (checked
# against the installed packages' metadata by tests/kit/test_bundle.py). Versions come from
# requirements.txt, so Gradescope runs the same releases as `make test`.
GRADER_PACKAGES = ("pytest", "pytest-timeout", "PyYAML", "fastjsonschema", "psutil",
                   "iniconfig", "packaging", "pluggy", "Pygments",
                   # lesson 08's graded learner code imports greenlet in the sandboxed child
                   "greenlet")
REQUIREMENTS = "requirements.txt"
GRADER_REQUIREMENTS = "grader-requirements.txt"
INSTRUCTOR_TESTS = "instructor_tests"
# Lesson code that graded tests read as text and exec in the sandboxed child (the child cannot
# import lessons): shipped at the same relative paths, so that a test finds each one as
# Path(__file__).parents[1] / "src/lessons/<name>.py" in a checkout and in the bundle alike.
# A listed file that does not exist (yet) is left out; the test that reads it then says so.
TEST_FIXTURES = ("src/lessons/linksite.py", "src/lessons/virtual_time.py")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)          # the earliest time a zip entry can carry
SUBMISSION_TIMEOUT = 480                  # s; Gradescope's default limit is 10 minutes
GRACE = 60                                # s the grader gets past its own limit before it is killed
MAX_FILES = 2000                          # a submission with more is refused, not unpacked
MAX_BYTES = 50 * 1024 * 1024              # ... and so is one that unpacks to more bytes
JUNK = frozenset({"__MACOSX", "__pycache__", ".git", ".ipynb_checkpoints", ".DS_Store", "Thumbs.db"})

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image (Ubuntu 22.04 or
# 24.04 base image). It installs bubblewrap (the grader's sandbox), finds Python >= 3.11 or
# installs python3.11, and creates $AUTOGRADER_ROOT/venv with exactly the pinned packages of
# grader-requirements.txt. Generated by `python -m coursekit gradescope-bundle`; do not edit.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
VENV="$ROOT/venv"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUNDLE=""
for d in "$HERE" "$ROOT/source"; do        # Gradescope unpacks the zip into $ROOT/source
  if [ -f "$d/grader-requirements.txt" ]; then BUNDLE="$d"; break; fi
done
if [ -z "$BUNDLE" ]; then
  echo "setup.sh: grader-requirements.txt is neither beside setup.sh nor in $ROOT/source" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

apt-get update
apt-get install -y --no-install-recommends bubblewrap ca-certificates

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
PY=""
for p in python3.13 python3.12 python3.11 python3; do
  if command -v "$p" >/dev/null 2>&1 && python_ok "$(command -v "$p")"; then
    PY="$(command -v "$p")"
    break
  fi
done
if [ -z "$PY" ]; then                     # Ubuntu 22.04: python3 is 3.10
  if ! apt-get install -y --no-install-recommends python3.11 python3.11-venv; then
    apt-get install -y --no-install-recommends software-properties-common
    add-apt-repository -y ppa:deadsnakes/ppa
    apt-get update
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
  fi
  PY="$(command -v python3.11)"
fi
VER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
echo "setup.sh: using $PY (Python $VER)"

rm -rf "$VENV"
if ! "$PY" -m venv "$VENV"; then           # Debian and Ubuntu ship venv's pip separately
  rm -rf "$VENV"
  apt-get install -y --no-install-recommends "python$VER-venv"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --no-cache-dir --disable-pip-version-check \
  -r "$BUNDLE/grader-requirements.txt"
# The course's package is the bundle's own source/src: run_autograder puts it on PYTHONPATH,
# and this .pth puts it on the venv's path for any process that drops PYTHONPATH. It is never
# pip-installed, so no stale copy can shadow it.
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$BUNDLE/source/src" > "$SITE/coursekit-bundle.pth"
"$VENV/bin/python" -c 'import coursekit, pytest, yaml, fastjsonschema, psutil; print("setup.sh: coursekit from", coursekit.__file__)'
bwrap --version || echo "setup.sh: bubblewrap is missing; the grader will fall back to process groups and rlimits"
chmod 755 "$ROOT/source/run_autograder" 2>/dev/null || true
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this once per submission, as root, in /autograder: it grades
# /autograder/submission with the course of this bundle and ALWAYS leaves a valid
# /autograder/results/results.json (score 0 and the reason on one line when grading fails).
# For tests every path can be overridden: AUTOGRADER_ROOT, COURSEKIT_PYTHON, COURSEKIT_COURSE.
# Generated by `python -m coursekit gradescope-bundle`; do not edit.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY="${COURSEKIT_PYTHON:-$ROOT/venv/bin/python}"
RESULTS="$ROOT/results/results.json"
if [ -n "${COURSEKIT_COURSE:-}" ]; then
  COURSE="$COURSEKIT_COURSE"
elif [ -f "$ROOT/source/source/course.yml" ]; then    # Gradescope unpacks the zip into source/
  COURSE="$ROOT/source/source"
else
  COURSE="$ROOT/source"
fi

fail() {   # the last resort, when Python could not write results.json itself
  mkdir -p "$ROOT/results"
  msg=$(printf '%s' "$1" | tr -d '\000-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')
  printf '{"score": 0.0, "output": "The autograder could not grade this submission: %s", "tests": []}\n' "$msg" > "$RESULTS"
  echo "run_autograder: $1" >&2
  exit 0
}

[ -f "$COURSE/course.yml" ] || fail "no course.yml in $COURSE (is the autograder zip complete?)"
[ -x "$PY" ] || fail "no Python at $PY (did setup.sh run?)"
mkdir -p "$ROOT/results" || fail "cannot create $ROOT/results"
rm -f "$RESULTS"
cd "$COURSE" || fail "cannot enter $COURSE"
export COURSE_ROOT="$COURSE"
export PYTHONPATH="$COURSE/src"      # the bundle's coursekit, never an installed copy
"$PY" -c 'import sys; from coursekit.bundle import autograde_main; sys.exit(autograde_main())' \
  --root "$ROOT" --course "$COURSE"
status=$?
[ -s "$RESULTS" ] || fail "the autograder stopped (status $status) before it wrote results.json"
exit 0
"""


class SubmissionProblem(CourseError):
    """What the learner uploaded cannot be graded; the message (one line) tells them why."""


# ---------------------------------------------------------------------------------------
# Building the bundle
# ---------------------------------------------------------------------------------------

def build_bundle(out: Path, *, course: Course | None = None, extra_tests: Path | None = None) -> Path:
    """Write the Gradescope autograder zip to `out` and return its path."""
    course = course or load_course()
    entries = bundle_entries(course, extra_tests=extra_tests)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in sorted(entries):
            data, mode = entries[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3                       # Unix, so unzip honours the mode bits
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(tmp, out)
    return out


def bundle_entries(course: Course, *, extra_tests: Path | None = None) -> dict[str, tuple[bytes, int]]:
    """Every file of the bundle: zip name -> (content, permission bits)."""
    root = course.root
    for m in course.modules:
        if not (root / m.tests).is_file():
            points = sum(t.points for t in m.tasks)
            raise CourseError(f"{root / m.tests}: missing, so the {points:g} points of module {m.id} "
                              "could never be earned; write its tests or take it out of course.yml")
    entries: dict[str, tuple[bytes, int]] = {
        "setup.sh": (SETUP_SH.encode(), 0o755),
        "run_autograder": (RUN_AUTOGRADER.encode(), 0o755),
        GRADER_REQUIREMENTS: (grader_requirements(root).encode(), 0o644),
    }

    def add(name: str, path: Path) -> None:
        entries[f"source/{name}"] = (path.read_bytes(), 0o644)

    for name in (MANIFEST, "pyproject.toml"):
        if not (root / name).is_file():
            raise CourseError(f"{root / name}: missing (the bundle needs it)")
        add(name, root / name)
    package = root / "src" / "coursekit"
    if not (package / "__init__.py").is_file():
        package = Path(__file__).resolve().parent   # a course folder without its own copy
    for path in _files(package):
        add(f"src/coursekit/{path.relative_to(package).as_posix()}", path)
    graded = sorted((root / "tests").glob("test_*.py"))
    for path in graded + [p for p in [root / "tests" / "conftest.py"] if p.is_file()]:
        add(f"tests/{path.name}", path)
    for name in TEST_FIXTURES:
        if (root / name).is_file():
            add(name, root / name)
    if extra_tests is not None:
        extra = Path(extra_tests)
        if not extra.is_dir():
            raise CourseError(f"--tests {extra_tests}: no such folder")
        files = list(_files(extra))
        if not any(p.name.startswith("test_") and p.suffix == ".py" for p in files):
            raise CourseError(f"--tests {extra_tests}: no test_*.py file in it")
        for path in files:
            add(f"{INSTRUCTOR_TESTS}/{path.relative_to(extra).as_posix()}", path)
    return entries


def grader_requirements(root: Path) -> str:
    """grader-requirements.txt: the lines of requirements.txt that pin GRADER_PACKAGES."""
    path = root / REQUIREMENTS
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        raise CourseError(f"{path}: not found (the bundle takes the grader's versions from it)") from None
    pins: dict[str, str] = {}
    for line in lines:
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s*$", line.strip())
        if m:
            pins[_normal(m.group(1))] = line.strip()
    wanted = [_normal(p) for p in GRADER_PACKAGES]
    missing = [p for p in wanted if p not in pins]
    if missing:
        raise CourseError(f"{path}: no pinned version (name==version) of {', '.join(missing)}")
    header = ["# What the grader needs, pinned as in requirements.txt; setup.sh installs exactly these.",
              "# Generated by python -m coursekit gradescope-bundle; do not edit."]
    return "\n".join(header + [pins[p] for p in sorted(wanted)]) + "\n"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _files(folder: Path) -> Iterator[Path]:
    """The regular files under `folder`, sorted, without caches and hidden files."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).parts
        if any(part in JUNK or part.startswith(".") for part in rel) or path.suffix in (".pyc", ".pyo"):
            continue
        if path.is_file():
            yield path


# ---------------------------------------------------------------------------------------
# The command line: python -m coursekit gradescope-bundle
# ---------------------------------------------------------------------------------------

COMMAND = "gradescope-bundle"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, type=Path, metavar="ZIP", help="where to write the zip, e.g. autograder.zip")
    p.add_argument("--tests", type=Path, default=None, metavar="EXTRA_TESTS_DIR",
                   help="instructor tests to ship too (as source/instructor_tests/, run with grade --tests)")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the gradescope-bundle command to cli.py's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        COMMAND, help="build the Gradescope autograder zip (instructors)")
    add_arguments(p)
    return p


def run(args: argparse.Namespace, course: Course | None = None) -> int:
    """Carry out ``gradescope-bundle`` (bad input raises CourseError, which the CLI reports)."""
    out = build_bundle(args.out, course=course, extra_tests=args.tests)
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
    graded = sum(1 for n in names if n.startswith("source/tests/test_"))
    extra = sum(1 for n in names if n.startswith(f"source/{INSTRUCTOR_TESTS}/"))
    print(f"wrote {out}: {len(names)} files, {graded} graded test files"
          + (f", {extra} instructor test files" if extra else "")
          + "; upload it on the assignment's Configure Autograder page")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog=f"python -m coursekit {COMMAND}",
                                description="Build the Gradescope autograder zip of this course.")
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run(args)
    except CourseError as exc:
        print(f"coursekit {COMMAND}: error: {exc}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------------------------------
# On Gradescope: lay out the submission, grade it, always write results.json
# ---------------------------------------------------------------------------------------

def prepare_submission(raw: Path, dest: Path, course: Course) -> Path:
    """Copy what the learner uploaded (`raw`) to `dest`, laid out like exercises/.

    Accepted: the module folders themselves (00_start_here/ ...); the same wrapped in one
    folder (any number of times); a .zip of either; a checkout holding exercises/; loose task
    files (cost_model.py), each put in the module whose task uses that file name. Symbolic
    links, caches and hidden files are left out. Raises SubmissionProblem when nothing fits."""
    modules = {m.id for m in course.modules}
    homes: dict[str, set[str]] = {}
    for m in course.modules:
        for f in m.files:
            homes.setdefault(f, set()).add(m.id)
    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="coursekit-unzip-") as tmp:
        here = Path(raw)
        if not here.is_dir():
            raise SubmissionProblem(f"no submission folder at {raw}")
        for depth in range(8):
            kids = _children(here)
            if any(k.name in modules and _is_dir(k) for k in kids):
                break
            if any(k.name == "exercises" and _is_dir(k) for k in kids):
                here = here / "exercises"
                continue
            if any(k.name in homes and _is_file(k) for k in kids):
                break
            zips = [k for k in kids if _is_file(k) and k.suffix.lower() == ".zip"]
            dirs = [k for k in kids if _is_dir(k)]
            if len(zips) == 1 and not dirs:
                here = Path(tmp) / f"zip{depth}"
                _unzip(zips[0], here)
                continue
            if len(dirs) == 1 and not zips:
                here = dirs[0]
                continue
            break
        budget = [MAX_FILES, MAX_BYTES]
        for kid in _children(here):
            if kid.name in modules and _is_dir(kid):
                _copy_tree(kid, dest / kid.name, budget)
            elif _is_file(kid) and len(homes.get(kid.name, ())) == 1:
                (module,) = homes[kid.name]
                _copy_file(kid, dest / module / kid.name, budget)
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.py")) if dest.is_dir() else []
    if not files:
        example = course.modules[-1] if course.modules else None
        hint = (f" such as {example.id}/{example.files[0]}" if example and example.files else "")
        raise SubmissionProblem("the submission holds no exercise file: upload the module folders of "
                                f"exercises/{hint}, or a .zip of exercises/")
    return dest


def _children(folder: Path) -> list[Path]:
    return sorted(k for k in folder.iterdir() if k.name not in JUNK and not k.name.startswith("."))


def _is_dir(p: Path) -> bool:
    return p.is_dir() and not p.is_symlink()


def _is_file(p: Path) -> bool:
    return p.is_file() and not p.is_symlink()


def _charge(budget: list[int], size: int) -> None:
    budget[0] -= 1
    budget[1] -= size
    if budget[0] < 0 or budget[1] < 0:
        raise SubmissionProblem(f"the submission is too big (more than {MAX_FILES} files "
                                f"or {MAX_BYTES // 2**20} MiB); upload only the exercise files")


def _copy_file(src: Path, dst: Path, budget: list[int]) -> None:
    _charge(budget, src.stat().st_size)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def _copy_tree(src: Path, dst: Path, budget: list[int]) -> None:
    for folder, dirs, files in os.walk(src):                 # does not follow links
        dirs[:] = sorted(d for d in dirs if d not in JUNK and not d.startswith(".")
                         and not os.path.islink(os.path.join(folder, d)))
        for name in sorted(files):
            path = Path(folder, name)
            if name in JUNK or name.startswith(".") or path.suffix in (".pyc", ".pyo") or not _is_file(path):
                continue
            _copy_file(path, dst / path.relative_to(src), budget)


def _unzip(archive: Path, into: Path) -> None:
    """Unpack `archive` into `into`, refusing bombs and skipping links and unsafe names."""
    try:
        with zipfile.ZipFile(archive) as z:
            infos = [i for i in z.infolist() if not i.is_dir()]
            if len(infos) > MAX_FILES or sum(i.file_size for i in infos) > MAX_BYTES:
                raise SubmissionProblem(f"{archive.name} is too big (more than {MAX_FILES} files or "
                                        f"{MAX_BYTES // 2**20} MiB unpacked); zip only the exercise files")
            for info in infos:
                parts = PurePosixPath(info.filename.replace("\\", "/")).parts
                if (not parts or info.filename.startswith(("/", "\\")) or ":" in parts[0]
                        or any(p in ("..", ".") or p in JUNK or p.startswith(".") for p in parts)
                        or (info.external_attr >> 16) & 0o170000 == 0o120000):   # a symbolic link
                    continue
                target = into.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
        raise SubmissionProblem(f"{archive.name} is not a zip file that can be unpacked ({exc})") from None
    into.mkdir(parents=True, exist_ok=True)


def failure_results(message: str, elapsed: float = 0.0) -> dict[str, Any]:
    """The results.json of a submission that could not be graded: score 0 and why, on one line."""
    line = " ".join(str(message).split()) or "unknown error"
    return {"score": 0.0, "execution_time": round(elapsed),
            "output": f"The autograder could not grade this submission: {line}", "tests": []}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(tmp, path)


def _env_float(name: str, default: float | None) -> float | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise CourseError(f"${name}={value!r} is not a number of seconds") from None


def autograde(root: Path, course_dir: Path) -> dict[str, Any]:
    """Grade root/submission with the course in course_dir; write and return root/results/results.json."""
    started = time.monotonic()
    results_path = root / "results" / "results.json"
    work = Path(tempfile.mkdtemp(prefix="coursekit-autograder-"))
    try:
        try:
            results = _grade(root, course_dir, work, started)
        except CourseError as exc:                     # SubmissionProblem included
            results = failure_results(str(exc), time.monotonic() - started)
        except Exception as exc:                       # a bug here must still leave results.json
            results = failure_results(f"{type(exc).__name__}: {exc}", time.monotonic() - started)
        _write_json(results_path, results)
        print(f"run_autograder: score {results.get('score')} written to {results_path}")
        return results
    finally:
        if not os.environ.get("COURSEKIT_KEEP_WORK"):
            shutil.rmtree(work, ignore_errors=True)


def _grade(root: Path, course_dir: Path, work: Path, started: float) -> dict[str, Any]:
    course = load_course(course_dir)
    staged = prepare_submission(root / "submission", work / "submission", course)
    print("run_autograder: graded files: " + ", ".join(sorted(p.relative_to(staged).as_posix()
                                                             for p in staged.rglob("*.py"))))
    limit = _env_float("COURSEKIT_SUBMISSION_TIMEOUT", SUBMISSION_TIMEOUT)
    per_test = _env_float("COURSEKIT_TIMEOUT", None)
    out = work / "out"
    cmd = [sys.executable, "-m", "coursekit", "grade", str(staged), "--out", str(out),
           "--submission-timeout", f"{limit:g}"]
    if per_test is not None:
        cmd += ["--timeout", f"{per_test:g}"]
    if (course_dir / INSTRUCTOR_TESTS).is_dir():
        cmd += ["--tests", str(course_dir / INSTRUCTOR_TESTS)]
    cmd += shlex.split(os.environ.get("COURSEKIT_GRADE_ARGS", ""))
    print("run_autograder: " + shlex.join(cmd), flush=True)
    proc = subprocess.Popen(cmd, cwd=course_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=(limit or SUBMISSION_TIMEOUT) + GRACE)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        raise CourseError(f"grading did not finish within {(limit or SUBMISSION_TIMEOUT) + GRACE:g} s") from None
    out_text, err_text = stdout.decode(errors="replace"), stderr.decode(errors="replace")
    sys.stdout.write(out_text)
    sys.stdout.write(err_text)                  # both are for the instructor (Gradescope's stdout)
    print(f"run_autograder: the grader exited with status {proc.returncode}", flush=True)
    found = sorted(out.glob("*/results.json"))
    if len(found) == 1:
        try:
            results = json.loads(found[0].read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise CourseError(f"the grader's results.json cannot be read ({exc})") from None
        if isinstance(results, dict) and (isinstance(results.get("score"), (int, float))
                                          or isinstance(results.get("tests"), list)):
            return results
        raise CourseError("the grader's results.json has neither a score nor tests")
    lines = [ln.strip() for ln in err_text.splitlines() if ln.strip()]
    if len(found) > 1:
        raise CourseError(f"the grader wrote {len(found)} results.json files for one submission")
    raise CourseError(lines[-1] if lines else f"the grader exited with status {proc.returncode} "
                      "and wrote no results.json")


def autograde_main(argv: list[str] | None = None) -> int:
    """Entry point of run_autograder (see the module docstring)."""
    p = argparse.ArgumentParser(prog="run_autograder")
    p.add_argument("--root", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
    p.add_argument("--course", type=Path, default=None)
    args = p.parse_args(argv)
    course_dir = args.course or Path(os.environ.get("COURSE_ROOT") or args.root / "source" / "source")
    print(f"run_autograder: coursekit from {Path(__file__).resolve().parent}", flush=True)
    autograde(args.root.resolve(), course_dir.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
