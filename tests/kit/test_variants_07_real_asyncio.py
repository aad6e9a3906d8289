"""Lesson 07's graded tests against other solutions than the reference (tests/kit/variants_07_real_asyncio.py).

Grade behaviour, not the reference's shape: each alternative correct solution, written
differently, must pass every test of its task; each plausible wrong solution, which breaks one
rule of the statement, must fail at least the tests that check that rule.

Each variant is graded by its own pytest run (its own --target folder). The runs are started
together, three at a time, when the first test asks for a result: most of a run is waiting for
its children, and one after the other they would take minutes. nbval is left out of those
runs: importing it (nbformat, jsonschema) costs more CPU than a task's tests.
"""

import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variants_07_real_asyncio import SLOW, VARIANTS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TASK = {"bounded_gather.py": "07.1", "bank_transfer.py": "07.2", "deadline.py": "07.3"}
PARALLEL = 3


def grade(folder: Path, file: str, source: str) -> tuple[int, set[str], str]:
    target = folder / "07_real_asyncio"
    shutil.copytree(ROOT / "solutions" / "07_real_asyncio", target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / file).write_text(source, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval", "-rf",
                           str(ROOT / "tests" / "test_07_real_asyncio.py"), f"--target={folder}",
                           f"--task={TASK[file]}"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    return done.returncode, set(re.findall(r"FAILED tests/test_07_real_asyncio.py::(\w+)", done.stdout)), done.stdout


@pytest.fixture(scope="module")
def grades(tmp_path_factory):
    pool = ThreadPoolExecutor(PARALLEL)
    first = sorted(VARIANTS, key=lambda v: (v[0], v[1]) not in SLOW)
    futures = {(name, file): pool.submit(grade, tmp_path_factory.mktemp(f"{TASK[file]}-{name}"), file, source)
               for name, file, source, _ in first}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize(("name", "file", "source", "must_fail"), VARIANTS,
                         ids=[f"{TASK[v[1]]}-{v[0]}" for v in VARIANTS])
def test_variant_gets_the_right_grade(grades, name, file, source, must_fail):
    returncode, failed, stdout = grades[(name, file)].result()
    if must_fail is None:
        assert returncode == 0 and not failed, f"the alternative {name} should get full marks:\n{stdout[-3000:]}"
    else:
        assert must_fail <= failed, (f"the wrong solution {name} should fail {sorted(must_fail)}, "
                                     f"failed {sorted(failed)}:\n{stdout[-2000:]}")
