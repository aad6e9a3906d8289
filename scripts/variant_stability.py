"""Grade each variant of a lesson several times and report those whose failed tests change.

The standard: a wrong solution loses the same points every run. tests/kit/test_variants_*.py
check that each wrong variant fails at least the tests of the rule it breaks, once; this
script grades every variant (tests/kit/variants_<lesson>.py) N times, two at a time, and
lists the variants whose set of failed tests differs between runs - a test whose verdict on
that variant depends on timing. Not part of make test (minutes per lesson); run it after
changing a lesson's graded tests:

    .venv/bin/python scripts/variant_stability.py 03_selectors --runs 4
"""

from __future__ import annotations

import argparse
import importlib
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def grade(lesson: str, task: str, file: str, source: str) -> frozenset[str]:
    """The failed tests of one pytest run of the lesson's graded tests on solutions/ with
    ``file`` replaced by ``source``."""
    folder = Path(tempfile.mkdtemp(prefix="variant-"))
    try:
        target = folder / lesson
        shutil.copytree(ROOT / "solutions" / lesson, target, ignore=shutil.ignore_patterns("__pycache__"))
        (target / file).write_text(source, encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval", "-rf",
                               str(ROOT / "tests" / f"test_{lesson}.py"), f"--target={folder}", f"--task={task}"],
                              cwd=ROOT, capture_output=True, text=True, timeout=900)
        return frozenset(re.findall(rf"FAILED tests/test_{lesson}.py::(\w+)", done.stdout))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lesson", help="module id, e.g. 03_selectors")
    parser.add_argument("--runs", type=int, default=3, help="gradings per variant (default 3)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "kit"))
    try:
        variants = importlib.import_module(f"variants_{args.lesson}").VARIANTS
    except ModuleNotFoundError:
        print(f"variant_stability: no tests/kit/variants_{args.lesson}.py", file=sys.stderr)
        return 2
    course = yaml.safe_load((ROOT / "course.yml").read_text(encoding="utf-8"))
    tasks = {t["file"]: t["id"] for m in course["modules"] if m["id"] == args.lesson for t in m["tasks"]}
    results: dict[tuple[str, str], list[frozenset[str]]] = {}
    with ThreadPoolExecutor(2) as pool:
        futures = [((name, file), pool.submit(grade, args.lesson, tasks[file], file, source))
                   for name, file, source, _ in variants for _ in range(args.runs)]
        for key, future in futures:
            results.setdefault(key, []).append(future.result())
    unstable = {key: sets for key, sets in results.items() if len(set(sets)) > 1}
    for (name, file), sets in unstable.items():
        print(f"UNSTABLE {file} {name}: " + " | ".join(",".join(sorted(s)) or "(none)" for s in set(sets)))
    print(f"{args.lesson}: {len(results)} variants x {args.runs} runs: {len(unstable)} unstable")
    return 1 if unstable else 0


if __name__ == "__main__":
    sys.exit(main())
