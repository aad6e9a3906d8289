"""Lesson 09's graded tests against other solutions than the reference (tests/kit/variants_09_multicore.py).

Every alternative must get full marks on its task; every wrong solution must fail at least the
tests of the rule it breaks. How they are graded: tests/kit/variant_grading.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variant_grading import variant_suite  # noqa: E402
from variants_09_multicore import SLOW, VARIANTS  # noqa: E402

TASK = {"cpu_map.py": "09.1", "future_bridge.py": "09.2", "prefork_echo.py": "09.3"}
grades, test_variant_gets_the_right_grade = variant_suite("09_multicore", TASK, VARIANTS, SLOW)
