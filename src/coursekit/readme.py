"""The README's lesson table, generated from course.yml (``python -m coursekit readme``)."""

from __future__ import annotations

from .build import write_atomic
from .errors import CourseError
from .manifest import Course

BEGIN = "<!-- BEGIN GENERATED lessons: python -m coursekit readme; edit course.yml, not this table -->"
END = "<!-- END GENERATED lessons -->"


def lesson_table(course: Course) -> str:
    rows = ["| # | Lesson | Time | Tasks (points) |", "|---|---|---|---|"]
    for m in course.modules:
        tasks = ", ".join(f"{t.id} ({t.points:g})" for t in m.tasks) or "-"
        rows.append(f"| {m.number} | [{m.title}]({m.notebook}) | {m.minutes} min | {tasks} |")
    return "\n".join(rows)


def render(course: Course, text: str) -> str:
    """`text` (the README) with the generated table put between its markers."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise CourseError(f"README.md: the markers {BEGIN!r} and {END!r} are missing")
    return text[: start + len(BEGIN)] + "\n" + lesson_table(course) + "\n" + text[end:]


def update(course: Course, check: bool) -> bool:
    """Rewrite README.md's table (or, with `check`, only say whether it is current)."""
    path = course.root / "README.md"
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise CourseError(f"{path}: not found") from None
    new = render(course, text)
    if new == text:
        return True
    if not check:
        write_atomic(path, new)
    return False
