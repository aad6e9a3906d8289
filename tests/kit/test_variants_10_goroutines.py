"""Lesson 10's graded tests against other solutions than the reference (tests/kit/variants_10_goroutines.py).

Every alternative must get full marks on its task; every wrong solution must fail at least the
tests of the rule it breaks. How they are graded: tests/kit/variant_grading.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variant_grading import variant_suite  # noqa: E402
from variants_10_goroutines import VARIANTS  # noqa: E402

TASK = {"run_queue.py": "10.1", "work_stealing.py": "10.2", "find_runnable.py": "10.3"}
grades, test_variant_gets_the_right_grade = variant_suite("10_goroutines", TASK, VARIANTS)
