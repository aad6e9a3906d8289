"""The command line: ``python -m coursekit <command>``.

  syllabus [--json]        the course from course.yml, with your progress
  check TASK|MODULE        run a task's tests against your exercise file
  hint TASK                show a task's hint
  build [--check|--force]  generate exercises/ from solutions/ (authors); never overwrites
                           a changed exercise file unless --force
  readme [--check]         regenerate the README's lesson table (authors)
  grade SUBMISSION... --out DIR   grade submissions in sandboxes (instructors)
  gradescope-bundle --out ZIP     build the Gradescope autograder zip (instructors)

Bad input ends with one line on stderr and exit status 2; a check that finds failing tests
exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import NoReturn

from .errors import CourseError
from .manifest import Course, load_course


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (not the usage block first) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m coursekit", description="The course's tools.")
    sub = p.add_subparsers(dest="command", required=True, metavar="command")
    s = sub.add_parser("syllabus", help="show the course and your progress")
    s.add_argument("--json", action="store_true", help="print the course as JSON")
    c = sub.add_parser("check", help="run a task's (or a module's) tests against your exercise files")
    c.add_argument("what", help="a task id like 01.2, or a module like 01 or 01_processes_threads")
    c.add_argument("--hint", action="store_true", help="show the hint of unsolved tasks")
    c.add_argument("--target", default="exercises", help="exercises (default), solutions, or a folder laid out like exercises/")
    h = sub.add_parser("hint", help="show a task's hint")
    h.add_argument("task")
    b = sub.add_parser("build", help="generate exercises/ from solutions/")
    b.add_argument("--check", action="store_true", help="only report files that are out of date (exit 1 if any)")
    b.add_argument("--force", action="store_true",
                   help="also overwrite exercise files changed after they were generated (authors; discards those changes)")
    r = sub.add_parser("readme", help="regenerate the lesson table in README.md")
    r.add_argument("--check", action="store_true", help="only report whether it is out of date (exit 1 if so)")
    from .grader import add_arguments
    add_arguments(sub.add_parser("grade", help="grade submissions in sandboxes, in parallel (instructors)",
                                 description="Grade submissions: Gradescope results.json and feedback.md per "
                                 "submission, grades.csv for all. Exit 0 when grading completed, 2 if an input "
                                 "was unusable (the others are still graded)."))
    from .bundle import add_arguments as add_bundle_arguments
    add_bundle_arguments(sub.add_parser("gradescope-bundle", help="build the Gradescope autograder zip (instructors)",
                                        description="Build the Gradescope autograder zip of this course."))
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except CourseError as exc:
        print(f"coursekit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"coursekit {args.command}: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    course = load_course()
    if args.command == "syllabus":
        if args.json:
            print(json.dumps({"title": course.title, "modules": course.syllabus()}, indent=2, ensure_ascii=False))
        else:
            print(syllabus_table(course))
        return 0
    if args.command == "check":
        from .checking import render_all, resolve, run_check
        results = run_check(resolve(course, args.what), course, args.target)
        print(render_all(results, args.hint, terminal=True))
        return 0 if all(r.solved for r in results) else 1
    if args.command == "hint":
        from .checking import hint_text
        print(hint_text(course.task(args.task)))
        return 0
    if args.command == "build":
        from .build import build, status
        if args.check:
            state = status(course)
            if state:
                print(f"coursekit build: {state.message()}", file=sys.stderr)
                return 1
            print("exercises/ is up to date with solutions/")
            return 0
        written, kept = build(course, force=args.force)
        if written:
            print("\n".join(f"wrote {p}" for p in written))
        if kept:
            print(f"coursekit build: refused to overwrite {', '.join(kept)}: changed after they were "
                  "generated (your work is kept; an author who means to discard it: build --force)",
                  file=sys.stderr)
            return 1
        if not written:
            print("exercises/ was already up to date")
        return 0
    if args.command == "readme":
        from .readme import update
        ok = update(course, check=args.check)
        if args.check and not ok:
            print("coursekit readme: README.md's lesson table is out of date with course.yml "
                  "(run `python -m coursekit readme`)", file=sys.stderr)
            return 1
        print("README.md's lesson table is up to date" if ok else "rewrote README.md's lesson table")
        return 0
    if args.command == "grade":
        from .grader import run
        return run(args)
    if args.command == "gradescope-bundle":
        from .bundle import run as bundle_run
        return bundle_run(args, course)
    raise AssertionError(args.command)  # pragma: no cover - argparse allows only the above


def syllabus_table(course: Course) -> str:
    """The course as a readable table, with each task's status from the last check()."""
    from .checking import load_progress
    progress = load_progress(course)
    lines = [course.title, ""]
    solved = total = 0
    for m in course.modules:
        lines.append(f"{m.id}  {m.title}  ({m.minutes} min)")
        for t in m.tasks:
            status = progress.get(t.id, {}).get("status", "unchecked")
            mark = {"solved": "✓", "unsolved": "✗"}.get(status, "·")
            lines.append(f"  {mark} {t.id}  {t.title}  [{t.points:g} pt{'s' if t.points != 1 else ''}, "
                         f"{'★' * t.difficulty}{'☆' * (3 - t.difficulty)}]  {status}")
            total += 1
            solved += status == "solved"
        lines.append("")
    lines.append(f"{solved} of {total} tasks solved (✓ solved, ✗ not yet, · not checked).")
    return "\n".join(lines)
