"""Lesson 05's graded tests against other solutions than the reference (tests/kit/variants_05_generators.py).

Grade behaviour, not the reference's shape: each alternative correct solution, written
differently, must pass every test of its task; each plausible wrong solution, which breaks one
rule of the statement, must fail at least the tests that check that rule.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variants_05_generators import VARIANTS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TASK = {"averager.py": "05.1", "delegate_by_hand.py": "05.2", "trampoline.py": "05.3"}


@pytest.mark.parametrize(("name", "file", "source", "must_fail"), VARIANTS,
                         ids=[f"{TASK[v[1]]}-{v[0]}" for v in VARIANTS])
def test_variant_gets_the_right_grade(tmp_path, name, file, source, must_fail):
    target = tmp_path / "05_generators"
    shutil.copytree(ROOT / "solutions" / "05_generators", target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / file).write_text(source, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval", "-rf",
                           str(ROOT / "tests" / "test_05_generators.py"), f"--target={tmp_path}",
                           f"--task={TASK[file]}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    failed = set(re.findall(r"FAILED tests/test_05_generators.py::(\w+)", done.stdout))
    if must_fail is None:
        assert done.returncode == 0 and not failed, f"the alternative {name} should get full marks:\n{done.stdout[-3000:]}"
    else:
        assert must_fail <= failed, (f"the wrong solution {name} should fail {sorted(must_fail)}, "
                                     f"failed {sorted(failed)}:\n{done.stdout[-2000:]}")
