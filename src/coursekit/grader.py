"""``python -m coursekit grade``: grade many submissions, safely, in parallel.

Each submission is graded by its own worker process, forked from this one once pytest and
the course are loaded (so a worker starts in milliseconds). The worker copies or unpacks the
submission into a private folder, starts that submission's sandbox and runs the graded
tests; it appends each result to an events file as it goes. This process only schedules
workers, enforces each submission's time bound (killing the worker, and with it the
sandbox), and writes the reports. A worker that crashes, hangs or is killed costs its own
submission the tests it had not finished, and nothing else; a worker never outlives this
process (it is killed when this one ends, however it ends), and the cgroup of a killed
worker's sandbox is removed here (quota.sweep).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from . import quota, reports
from .build import write_atomic
from .errors import CourseError
from .manifest import Course, load_course
from .submissions import Submission, SubmissionError, find, prepare

DEFAULT_SUBMISSION_TIMEOUT = 600.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("submissions", nargs="*", type=Path, metavar="SUBMISSION",
                   help="a folder laid out like exercises/, or a .zip of one")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="where to write <name>/results.json, <name>/feedback.md and grades.csv")
    p.add_argument("--batch", type=Path, metavar="FOLDER",
                   help="grade every folder and .zip inside FOLDER (one per student, named by entry)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="submissions graded at once (default: the number of cores)")
    p.add_argument("--tests", type=Path, metavar="DIR",
                   help="instructor-only tests (test_<module id>_*.py): scored, never shown")
    p.add_argument("--timeout", type=float, metavar="S", help="seconds per call to the code under test "
                   "(default: course.yml's call_timeout)")
    p.add_argument("--submission-timeout", type=float, default=DEFAULT_SUBMISSION_TIMEOUT, metavar="S",
                   help=f"seconds for a whole submission (default {DEFAULT_SUBMISSION_TIMEOUT:g})")
    p.add_argument("--memory", type=int, default=2048, metavar="MIB",
                   help="memory a call's processes may use, each and together (default 2048)")
    p.add_argument("--junit", action="store_true", help="also write DIR/junit.xml")
    p.add_argument("--no-sandbox", action="store_true",
                   help="do not use bubblewrap (process groups and resource limits only)")


@dataclass
class _Job:
    sub: Submission
    pid: int
    slot: int
    folder: Path
    started: float
    deadline: float


@dataclass
class _Progress:
    total: int
    done: int = 0
    tty: bool = field(default_factory=lambda: sys.stderr.isatty())

    def step(self, name: str) -> None:
        self.done += 1
        if self.tty:
            width = 30
            filled = width * self.done // max(self.total, 1)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {name[:30]:<30}")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    """Grade what `args` names; exit status 0 when everything could be graded, 2 if any
    input was unusable (the others are graded all the same)."""
    course = load_course()
    if args.jobs < 1:
        raise CourseError("--jobs must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        raise CourseError("--timeout must be positive")
    if args.memory < 64:
        raise CourseError("--memory must be at least 64 (MiB)")
    if args.tests is not None and not args.tests.exists():
        raise CourseError(f"--tests {args.tests}: no such folder")
    subs, errors = find(list(args.submissions), args.batch)
    if not subs and not errors:
        raise CourseError("nothing to grade: name submissions or --batch FOLDER")
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CourseError(f"--out {out}: {exc.strerror or exc}") from None

    isolate = not args.no_sandbox
    if isolate:
        from .sandbox import bubblewrap
        path, why = bubblewrap()
        if path is None:
            print(f"coursekit grade: note: {why}; grading with process groups and resource limits only "
                  "(no filesystem, network or process isolation)", file=sys.stderr)

    # Load pytest and the test machinery now, once: every worker is a fork of this process.
    import pytest  # noqa: F401
    from . import grading  # noqa: F401

    # `kill` (SIGTERM) cleans up like Ctrl-C: the workers, their sandboxes, the work folder
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    work = Path(tempfile.mkdtemp(prefix="coursekit-grade-"))
    progress = _Progress(len(subs))
    results: list[reports.Report] = []
    try:
        results = _schedule(subs, course, args, work, out, isolate, progress, errors)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ordered = sorted(results, key=lambda r: r.name)
    write_atomic(out / "grades.csv", reports.grades_csv(ordered, course))
    if args.junit:
        write_atomic(out / "junit.xml", reports.junit_xml(ordered))
    print(summary(ordered, out))
    for line in errors:
        print(f"coursekit grade: error: {line}", file=sys.stderr)
    return 2 if errors else 0


def _schedule(subs: list[Submission], course: Course, args: argparse.Namespace, work: Path, out: Path,
              isolate: bool, progress: _Progress, errors: list[str]) -> list[reports.Report]:
    running: dict[int, _Job] = {}
    try:
        return _loop(subs, course, args, work, out, isolate, progress, errors, running)
    except BaseException:
        # interrupted (Ctrl-C) or failing: leave no worker or sandbox behind
        for job in running.values():
            _kill_tree(job.pid)
            try:
                os.waitpid(job.pid, 0)
            except ChildProcessError:
                pass
            quota.sweep(job.pid)
        raise


def _loop(subs: list[Submission], course: Course, args: argparse.Namespace, work: Path, out: Path,
          isolate: bool, progress: _Progress, errors: list[str], running: dict[int, _Job]) -> list[reports.Report]:
    pending = list(subs)
    free = list(range(args.jobs))
    done: list[reports.Report] = []
    while pending or running:
        while pending and free:
            sub = pending.pop(0)
            slot = free.pop(0)
            folder = work / f"{len(done) + len(running):04d}-{sub.name}"
            folder.mkdir()
            job = _start(sub, course, args, folder, slot, isolate)
            running[job.pid] = job
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            now = time.monotonic()
            for job in list(running.values()):
                if now > job.deadline:
                    _kill_tree(job.pid)
            time.sleep(0.02)
            continue
        job = running.pop(pid, None)
        if job is None:
            continue
        quota.sweep(pid)   # a worker killed at its time bound leaves its sandbox's cgroup
        free.append(job.slot)
        free.sort()
        try:
            report, ran = _finish(job, course, status, args)
            if report.problem and not ran:   # nothing could be graded: an unusable input
                errors.append(f"{job.sub.name}: {report.problem}")
            report.write(out / job.sub.name)
        except (OSError, ValueError) as exc:
            # one submission's report must never stop the others' grading
            report = reports.unusable(job.sub.name, course, f"the grader could not write its report: {exc}")
            errors.append(f"{job.sub.name}: {report.problem}")
            try:
                report.write(out / job.sub.name)
            except (OSError, ValueError):
                pass
        done.append(report)
        # the table so far, so that an interrupted run still leaves every finished grade
        write_atomic(out / "grades.csv", reports.grades_csv(sorted(done, key=lambda r: r.name), course))
        progress.step(job.sub.name)
    return done


def _start(sub: Submission, course: Course, args: argparse.Namespace, folder: Path, slot: int,
           isolate: bool) -> _Job:
    started = time.monotonic()
    grader = os.getpid()
    pid = os.fork()
    if pid == 0:  # the worker
        code = 0
        try:
            os.setpgid(0, 0)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _die_with_parent(grader)
            events = folder / "events.jsonl"
            try:
                copy = prepare(sub, folder / "sub", course)
            except SubmissionError as exc:
                events.write_text(json.dumps({"event": "unusable", "message": str(exc)}) + "\n")
                os._exit(0)
            from .grading import grade
            grade(course, copy, events, extra_tests=args.tests.resolve() if args.tests else None,
                  timeout=args.timeout, slot=slot, isolate=isolate, memory_mib=args.memory)
        except BaseException as exc:  # the worker reports, it never raises into the grader's loop
            try:
                with open(folder / "events.jsonl", "a") as f:
                    f.write(json.dumps({"event": "error", "message": f"the grader failed: {type(exc).__name__}: {exc}"}) + "\n")
            except OSError:
                pass
            code = 1
        finally:
            os._exit(code)
    (folder / "sub").mkdir(exist_ok=True)
    return _Job(sub, pid, slot, folder, started, started + args.submission_timeout)


def _die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this worker when the grader ends, even by SIGKILL (Linux)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:   # the grader ended before prctl took effect
        os._exit(1)


def _kill_tree(pid: int) -> None:
    try:
        procs = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        procs = []
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass


def _events(folder: Path) -> list[dict[str, Any]]:
    events = []
    try:
        text = (folder / "events.jsonl").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue   # a line cut short by a kill
        if isinstance(e, dict):
            events.append(e)
    return events


def _finish(job: _Job, course: Course, status: int, args: argparse.Namespace) -> tuple[reports.Report, bool]:
    """The submission's report, and whether any test ran at all."""
    seconds = time.monotonic() - job.started
    events = _events(job.folder)
    unusable = next((e for e in events if e.get("event") == "unusable"), None)
    if unusable:
        return reports.unusable(job.sub.name, course, str(unusable.get("message"))), False
    problem = ""
    if not any(e.get("event") == "done" for e in events):
        if seconds >= args.submission_timeout:
            problem = (f"Grading stopped at the submission's time bound ({args.submission_timeout:g} s); "
                       "tests that had not finished count as failed.")
        else:
            code = os.waitstatus_to_exitcode(status)
            problem = f"The grader's worker ended early (status {code}); tests that had not finished count as failed."
    report = reports.from_events(job.sub.name, course, events, seconds, problem)
    _fill_missing(report, problem)
    return report, any(e.get("event") == "test" for e in events)


def _fill_missing(report: reports.Report, problem: str) -> None:
    """Tasks with no result at all (the worker stopped first) say why they scored nothing."""
    if not problem:
        return
    for ts in report.tasks:
        if not ts.tests:
            ts.tests.append({"name": "graded tests", "passed": False, "hidden": False, "skipped": "",
                             "not_run": False, "reason": "not run: " + problem, "task": ts.task.id})


def summary(rs: list[reports.Report], out: Path) -> str:
    """One screen: the distribution, then the submissions that need a look."""
    if not rs:
        return "No submission was graded."
    scores = [r.score for r in rs]
    top = rs[0].max_score
    lines = [f"Graded {len(rs)} submission{'s' * (len(rs) != 1)} out of {top:g} points: "
             f"mean {statistics.mean(scores):.2f}, median {statistics.median(scores):g}, "
             f"min {min(scores):g}, max {max(scores):g}."]
    secs = [r.seconds for r in rs if r.seconds]
    if secs:
        lines.append(f"Time per submission: median {statistics.median(secs):.2f} s, max {max(secs):.2f} s.")
    shown = sorted(rs, key=lambda r: (not r.problem, -r.score, r.name))[:15]
    width = max(len(r.name) for r in shown)
    lines.append("")
    for r in shown:
        flag = f"  {r.problem.splitlines()[0][:70]}" if r.problem else ""
        lines.append(f"  {r.name:<{width}}  {r.score:>6g} / {r.max_score:g}  {r.seconds:6.2f} s{flag}")
    if len(rs) > len(shown):
        lines.append(f"  ... and {len(rs) - len(shown)} more in {out / 'grades.csv'}")
    if any(r.isolated is False for r in rs):
        lines.append("Note: some submissions ran without bubblewrap's isolation.")
    lines.append(f"Reports: {out}/<name>/results.json and feedback.md; table: {out / 'grades.csv'}")
    return "\n".join(lines)
