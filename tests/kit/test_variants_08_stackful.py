"""Lesson 08's graded tests against other solutions than the reference (tests/kit/variants_08_stackful.py).

Every alternative must get full marks on its task; every wrong solution must fail at least the
tests of the rule it breaks. How they are graded: tests/kit/variant_grading.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variant_grading import variant_suite  # noqa: E402
from variants_08_stackful import SLOW, VARIANTS  # noqa: E402

TASK = {"pingpong.py": "08.1", "mini_hub.py": "08.2", "first_wins.py": "08.3"}
grades, test_variant_gets_the_right_grade = variant_suite("08_stackful", TASK, VARIANTS, SLOW)
