"""What the grader writes: Gradescope's results.json, a readable feedback.md, grades.csv and
JUnit XML, all from one list of per-test events (grading.py).

Scoring: a task is worth its course.yml points; it earns points x (tests passed / tests
counted), where every graded test of the task counts, the instructor's hidden ones included,
and a test skipped for a reason of its own (a version gate) counts neither way. Hidden tests
add to the score but never to the feedback: only how many of them passed.

Every file is written atomically (a temporary file renamed into place), so a grader that is
interrupted leaves each file either whole or absent.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .build import write_atomic
from .checking import Line
from .manifest import Course, Task


@dataclass
class TaskScore:
    task: Task
    tests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counted(self) -> list[dict[str, Any]]:
        return [t for t in self.tests if not t["skipped"]]

    @property
    def passed(self) -> int:
        return sum(t["passed"] for t in self.counted)

    @property
    def score(self) -> float:
        counted = self.counted
        if not counted:
            return 0.0
        return round(self.task.points * self.passed / len(counted), 2)

    @property
    def full(self) -> bool:
        return bool(self.counted) and self.passed == len(self.counted)

    def feedback(self) -> str:
        """Markdown: a line per visible test and per case of a parametrized one (the lines
        check() shows, which the score counts), the reason for every lost point."""
        out = []
        visible = [t for t in self.tests if not t["hidden"]]
        hidden = [t for t in self.counted if t["hidden"]]
        for t in visible:
            mark, text, reason = Line.from_event(t).row()
            out.append(f"- {mark} {text}")
            if reason:
                out.append(_fence(reason, "  "))
        if hidden:
            ok = sum(t["passed"] for t in hidden)
            out.append(f"- Instructor tests (not shown): {ok} of {len(hidden)} pass.")
        if not self.tests:
            out.append("- No test of this task ran.")
        return "\n".join(out)


@dataclass
class Report:
    """One submission's grade."""

    name: str
    course: Course
    tasks: list[TaskScore]
    seconds: float = 0.0
    problem: str = ""          # why it could not be graded (or graded only in part)
    isolated: bool | None = None

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tasks), 2)

    @property
    def max_score(self) -> float:
        return round(sum(t.task.points for t in self.tasks), 2)

    # ------------------------------------------------------------------ formats
    def results_json(self) -> dict[str, Any]:
        """Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/)."""
        tests = []
        for ts in self.tasks:
            t = ts.task
            tests.append({
                "name": f"{t.id} {t.title}",
                "number": t.id,
                "score": ts.score,
                "max_score": float(t.points),
                "status": "passed" if ts.full else "failed",
                "output": ts.feedback(),
                "output_format": "md",
                "visibility": "visible",
                "tags": [t.module_id],
            })
        summary = f"{self.score:g} of {self.max_score:g} points."
        if self.problem:
            summary = f"{self.problem}\n\n{summary}"
        return {
            "score": self.score,
            "execution_time": round(self.seconds, 3),
            "output": summary,
            "output_format": "md",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
            "extra_data": {"sandboxed": self.isolated, "submission": self.name},
        }

    def feedback_md(self) -> str:
        lines = [f"# Feedback for {self.name}", "", f"**{self.score:g} of {self.max_score:g} points**", ""]
        if self.problem:
            lines += [f"> {self.problem}", ""]
        module = None
        for ts in self.tasks:
            if ts.task.module_id != module:
                module = ts.task.module_id
                lines += [f"## {self.course.module(module).title} (`{module}`)", ""]
            t = ts.task
            lines += [f"### {t.id} {t.title}: {ts.score:g} / {t.points:g}", "", ts.feedback(), ""]
            if not ts.full and ts.tests:
                lines += [f"Hint: {t.hint}", ""]
        return "\n".join(lines).rstrip() + "\n"

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / "results.json", json.dumps(self.results_json(), indent=2, ensure_ascii=False) + "\n")
        write_atomic(folder / "feedback.md", self.feedback_md())


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """XML 1.0 cannot hold most control characters, which a learner's output may contain."""
    return _NOT_XML.sub("\ufffd", text)


def _fence(text: str, indent: str) -> str:
    text = text.replace("```", "'''")
    body = "\n".join(indent + ln if ln.strip() else "" for ln in text.splitlines())
    return f"{indent}```\n{body}\n{indent}```"


def from_events(name: str, course: Course, events: list[dict[str, Any]], seconds: float,
                problem: str = "") -> Report:
    """A Report from the worker's events. A test that never reported (its worker was stopped
    at the submission's time bound) counts as failed."""
    scores = {t.id: TaskScore(t) for m in course.modules for t in m.tasks}
    isolated = None
    errors = []
    events = [_clean(e) for e in events]
    for e in events:
        kind = e.get("event")
        if kind == "test" and e.get("task") in scores:
            scores[e["task"]].tests.append(e)
        elif kind == "sandbox":
            isolated = e.get("isolated")
        elif kind == "error":
            errors.append(str(e.get("message", "")))
    if errors and not problem:
        problem = errors[0]
    return Report(name, course, list(scores.values()), seconds, _clean(problem), isolated)


REASON_CAP = 4000   # characters of one test's reason in a report (a reply can quote megabytes)


def _clean(value: Any) -> Any:
    """Text fit for any file: lone surrogates (which UTF-8 cannot encode) replaced, and a
    test's reason cut to REASON_CAP characters."""
    if isinstance(value, str):
        text = value.encode("utf-8", "replace").decode("utf-8")
        if len(text) > REASON_CAP:
            text = text[:REASON_CAP] + f"\n... ({len(text) - REASON_CAP} more characters)"
        return text
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def unusable(name: str, course: Course, problem: str) -> Report:
    """The report of a submission that could not be graded at all: every task 0."""
    return Report(name, course, [TaskScore(t) for m in course.modules for t in m.tasks], 0.0, _clean(problem))


def grades_csv(reports: list[Report], course: Course) -> str:
    ids = [t.id for m in course.modules for t in m.tasks]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["submission", *ids, "total", "max_total", "error"])
    for r in reports:
        by = {ts.task.id: ts.score for ts in r.tasks}
        w.writerow([_cell(r.name), *(f"{by.get(i, 0):g}" for i in ids), f"{r.score:g}", f"{r.max_score:g}",
                    _cell(r.problem)])
    return buf.getvalue()


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP's advice: quote the lead)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def junit_xml(reports: list[Report]) -> str:
    """One <testsuite> per submission, one <testcase> per task (hidden tests only counted)."""
    root = ET.Element("testsuites", name="coursekit grade")
    for r in reports:
        failures = sum(not ts.full for ts in r.tasks)
        suite = ET.SubElement(root, "testsuite", name=r.name, tests=str(len(r.tasks)),
                              failures=str(failures), errors="0", time=f"{r.seconds:.3f}")
        for ts in r.tasks:
            case = ET.SubElement(suite, "testcase", classname=f"{r.name}.{ts.task.module_id}",
                                 name=f"{ts.task.id} {ts.task.title}")
            ET.SubElement(case, "properties").extend([
                ET.Element("property", name="score", value=f"{ts.score:g}"),
                ET.Element("property", name="max_score", value=f"{ts.task.points:g}")])
            if not ts.full:
                fail = ET.SubElement(case, "failure", message=f"{ts.score:g} of {ts.task.points:g} points")
                fail.text = _xml_text(ts.feedback())
        if r.problem:
            ET.SubElement(suite, "system-err").text = _xml_text(r.problem)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
