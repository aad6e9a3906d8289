"""Load course.yml, the single source of the course, and answer questions about it.

The schema (course.schema.json, checked with fastjsonschema) owns the shape; this module adds
the rules a schema cannot say (ids unique, tasks numbered after their module, prerequisites
that come earlier, names that would shadow the standard library) and derives every path
from a module id, so one name is used everywhere.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import fastjsonschema
import yaml

from .errors import CourseError

MANIFEST = "course.yml"


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    file: str
    points: float
    difficulty: int
    hint: str
    module_id: str

    @property
    def stem(self) -> str:
        """The importable module name of the task's file (``cost_model`` for cost_model.py)."""
        return self.file.removesuffix(".py")


@dataclass(frozen=True)
class Module:
    id: str
    title: str
    minutes: int
    objectives: tuple[str, ...]
    prerequisites: tuple[str, ...]
    tasks: tuple[Task, ...]

    @property
    def number(self) -> str:
        return self.id[:2]

    @property
    def notebook(self) -> str:
        return f"notebooks/{self.id}.ipynb"

    @property
    def tests(self) -> str:
        return f"tests/test_{self.id}.py"

    @property
    def files(self) -> tuple[str, ...]:
        """The task files of this module, in first-use order, without repeats."""
        return tuple(dict.fromkeys(t.file for t in self.tasks))


@dataclass(frozen=True)
class Course:
    root: Path
    title: str
    call_timeout: float
    modules: tuple[Module, ...]

    @cached_property
    def tasks(self) -> dict[str, Task]:
        return {t.id: t for m in self.modules for t in m.tasks}

    def module(self, module_id: str) -> Module:
        for m in self.modules:
            if m.id == module_id:
                return m
        raise CourseError(f"no module {module_id!r} in {MANIFEST}")

    def task(self, task_id: str) -> Task:
        try:
            return self.tasks[task_id]
        except KeyError:
            known = ", ".join(self.tasks) or "none"
            raise CourseError(f"no task {task_id!r} in {MANIFEST} (tasks: {known})") from None

    def syllabus(self) -> list[dict[str, Any]]:
        """The course as plain data: the contract of ``python -m coursekit syllabus --json``."""
        return [
            {
                "id": m.id,
                "title": m.title,
                "minutes": m.minutes,
                "prerequisites": list(m.prerequisites),
                "objectives": list(m.objectives),
                "notebook": m.notebook,
                "tests": m.tests,
                "exercise_files": [f"exercises/{m.id}/{f}" for f in m.files],
                "solution_files": [f"solutions/{m.id}/{f}" for f in m.files],
                "tasks": [
                    {
                        "id": t.id,
                        "title": t.title,
                        "points": t.points,
                        "difficulty": t.difficulty,
                        "file": f"exercises/{m.id}/{t.file}",
                    }
                    for t in m.tasks
                ],
            }
            for m in self.modules
        ]


def find_root(start: Path | None = None) -> Path:
    """The course folder: $COURSE_ROOT, else the nearest folder above `start` (or the
    working directory) holding course.yml, else the checkout this package was installed from."""
    env = os.environ.get("COURSE_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MANIFEST).is_file():
            return folder
    source_checkout = Path(__file__).resolve().parents[2]
    if (source_checkout / MANIFEST).is_file():
        return source_checkout
    raise CourseError(f"cannot find {MANIFEST} in {here} or above; run from the course folder")


@functools.cache
def _validator() -> Callable[[Any], Any]:
    # fastjsonschema compiles the schema once (jsonschema's import alone takes most of a
    # second here, which every check() from a terminal would pay).
    text = resources.files("coursekit").joinpath("course.schema.json").read_text("utf-8")
    return fastjsonschema.compile(json.loads(text))


def load_course(root: Path | None = None) -> Course:
    """Read and validate course.yml. Any problem raises CourseError with a one-line message
    naming the file, the entry and what is wrong."""
    root = root or find_root()
    path = root / MANIFEST
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise CourseError(f"{path}: not found") from None
    except UnicodeDecodeError as exc:
        raise CourseError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CourseError(f"{path}: {where}not valid YAML ({problem})") from None
    try:
        _validator()(raw)
    except fastjsonschema.JsonSchemaValueException as e:
        parts = [int(p) if str(p).isdigit() else p for p in (e.path or [])[1:]]
        message = e.message.removeprefix("data.") if e.message.startswith("data.") else e.message.replace("data", "the top level", 1)
        raise CourseError(f"{path}: {message}{_entry_name(raw, parts)}") from None
    course = _build(root, raw)
    _check_rules(path, course)
    return course


def _entry_name(raw: Any, path: list[Any]) -> str:
    """' (in module 01_processes_threads)' when the failing entry sits inside a module that has an id."""
    if len(path) >= 2 and path[0] == "modules" and isinstance(path[1], int):
        try:
            mid = raw["modules"][path[1]].get("id")
        except (AttributeError, IndexError, KeyError, TypeError):
            return ""
        if isinstance(mid, str):
            return f" (in module {mid})"
    return ""


def _build(root: Path, raw: dict[str, Any]) -> Course:
    modules = tuple(
        Module(
            id=m["id"],
            title=m["title"],
            minutes=m["minutes"],
            objectives=tuple(m["objectives"]),
            prerequisites=tuple(m["prerequisites"]),
            tasks=tuple(Task(module_id=m["id"], **t) for t in m["tasks"]),
        )
        for m in raw["modules"]
    )
    return Course(root, raw["title"], float(raw.get("call_timeout", 10)), modules)


def _check_rules(path: Path, course: Course) -> None:
    seen_modules: set[str] = set()
    seen_tasks: set[str] = set()
    seen_files: dict[str, str] = {}     # file name -> the task that has it
    for i, m in enumerate(course.modules):
        where = f"{path}: modules[{i}] ({m.id})"
        if m.id in seen_modules:
            raise CourseError(f"{where}: module id is used twice")
        if i and m.number <= course.modules[i - 1].number:
            raise CourseError(f"{where}: modules must be in increasing NN order")
        for p in m.prerequisites:
            if p not in seen_modules:
                raise CourseError(f"{where}: prerequisite {p!r} is not a module listed before it")
        for j, t in enumerate(m.tasks):
            twhere = f"{where}.tasks[{j}] ({t.id})"
            if not t.id.startswith(m.number + "."):
                raise CourseError(f"{twhere}: task id must start with {m.number}.")
            if t.id in seen_tasks:
                raise CourseError(f"{twhere}: task id is used twice")
            if t.stem in sys.stdlib_module_names or t.stem in _SHADOWED:
                raise CourseError(f"{twhere}: file {t.file} would shadow the module {t.stem!r}; rename it")
            # one name, one module: graders that import a learner's modules in one process (an
            # in-kernel notebook grader, bench/grade_speed.py's floor) would get the other file
            if t.file in seen_files:
                raise CourseError(f"{twhere}: file {t.file} is task {seen_files[t.file]}'s too; give it a name of its own")
            seen_files[t.file] = t.id
            seen_tasks.add(t.id)
        numbers = [int(t.id.split(".")[1]) for t in m.tasks]
        if numbers != list(range(1, len(numbers) + 1)):
            raise CourseError(f"{where}: tasks must be numbered {m.number}.1, {m.number}.2, ... in order")
        seen_modules.add(m.id)


# Installed packages that exercises import or that the harness needs; a task file of the
# same name would be imported in their place.
_SHADOWED = frozenset({"coursekit", "pytest", "numpy", "matplotlib", "psutil", "yaml", "greenlet", "gevent", "uvloop", "trio", "curio", "tornado"})
