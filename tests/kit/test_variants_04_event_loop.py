"""Lesson 04's graded tests against other solutions than the reference (tests/kit/variants_04_event_loop.py).

Every alternative must get full marks on its task; every wrong solution must fail at least the
tests of the rule it breaks. How they are graded: tests/kit/variant_grading.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variant_grading import variant_suite  # noqa: E402
from variants_04_event_loop import SLOW, VARIANTS  # noqa: E402

TASK = {"mini_loop.py": "04.1", "wakeup_loop.py": "04.2", "callback_fetcher.py": "04.3"}
grades, test_variant_gets_the_right_grade = variant_suite("04_event_loop", TASK, VARIANTS, SLOW)
