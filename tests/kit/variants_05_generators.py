"""Alternative correct and plausible wrong solutions of lesson 05's tasks (05.1-05.3).

tests/kit/test_variants_05_generators.py grades each against tests/test_05_generators.py: every
alternative must pass every test, and every wrong one must fail, with the tests named here
(the rule it breaks) among the failures. Each wrong solution breaks exactly one rule.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
"""

AVERAGER_ALT = '''
import math

def primed(genfunc):
    def start(*args, **kwargs):
        g = genfunc(*args, **kwargs)
        g.send(None)                     # the same as next(g) on a new generator
        return g
    start.__name__, start.__doc__, start.__wrapped__ = genfunc.__name__, genfunc.__doc__, genfunc
    return start

@primed
def averager():
    values = []
    reply = None
    while True:
        x = yield reply
        if x is None:
            break
        if type(x) not in (int, float):
            raise TypeError("numbers only")
        if x != x or x in (math.inf, -math.inf):
            raise ValueError("finite numbers only")
        values.append(x)
        reply = math.fsum(values) / len(values)
    return (len(values), (math.fsum(values) / len(values)) if values else None)
'''

def _averager(body_change):
    base = AVERAGER_ALT
    for old, new in body_change:
        assert old in base, old
        base = base.replace(old, new)
    return base

AVERAGER_WRONG = {
    "not_primed": (_averager([("        g.send(None)                     # the same as next(g) on a new generator\n", "")]),
                   {"test_primed_decorator_starts_any_generator", "test_running_average_and_result"}),
    "no_wraps": (_averager([("    start.__name__, start.__doc__, start.__wrapped__ = genfunc.__name__, genfunc.__doc__, genfunc\n", "")]),
                 {"test_primed_decorator_starts_any_generator"}),
    "bool_counts": (_averager([("if type(x) not in (int, float):", "if not isinstance(x, (int, float)):")]),
                    {"test_bad_values_end_with_an_error"}),
    "nan_accepted": (_averager([("        if x != x or x in (math.inf, -math.inf):\n            raise ValueError(\"finite numbers only\")\n", "")]),
                     {"test_bad_values_end_with_an_error"}),
    "result_not_tuple": (_averager([("    return (len(values), (math.fsum(values) / len(values)) if values else None)",
                                     "    return (math.fsum(values) / len(values)) if values else None")]),
                         {"test_running_average_and_result", "test_finished_averager_stays_finished"}),
    "yields_after_generator_exit": (_averager([("        x = yield reply\n",
                                                "        try:\n            x = yield reply\n        except GeneratorExit:\n            x = yield reply\n")]),
                                    {"test_close_ends_it_quietly"}),
    "swallows_thrown": (_averager([("        x = yield reply\n",
                                    "        try:\n            x = yield reply\n        except Exception as exc:\n            raise TypeError('bad input') from exc\n")]),
                        {"test_thrown_exceptions_pass_through"}),
    "bad_value_skipped": (_averager([("            raise TypeError(\"numbers only\")", "            continue")]),
                          {"test_bad_values_end_with_an_error"}),
}

DELEGATE_ALT = '''
import sys

def delegate(sub):
    """PEP 380's expansion, almost word for word (with exception objects, not exc_info)."""
    _i = iter(sub)
    try:
        _y = next(_i)
    except StopIteration as _e:
        _r = _e.value
    else:
        while 1:
            try:
                _s = yield _y
            except GeneratorExit as _e:
                try:
                    _m = _i.close
                except AttributeError:
                    pass
                else:
                    _m()
                raise _e
            except BaseException as _e:
                try:
                    _m = _i.throw
                except AttributeError:
                    raise _e
                else:
                    try:
                        _y = _m(_e)
                    except StopIteration as _e:
                        _r = _e.value
                        break
            else:
                try:
                    if _s is None:
                        _y = next(_i)
                    else:
                        _y = _i.send(_s)
                except StopIteration as _e:
                    _r = _e.value
                    break
    return _r
'''

def _delegate(changes):
    base = DELEGATE_ALT
    for old, new in changes:
        assert old in base, old
        base = base.replace(old, new)
    return base

DELEGATE_WRONG = {
    "real_yield_from": ("def delegate(sub):\n    return (yield from sub)\n", {"test_written_by_hand"}),
    "no_iter": (_delegate([("_i = iter(sub)", "_i = sub")]), {"test_iter_first_then_next"}),
    "starts_with_send_none": (_delegate([("_y = next(_i)\n    except", "_y = _i.send(None) if hasattr(_i, 'send') else next(_i)\n    except")]),
                              {"test_iter_first_then_next"}),
    "always_send": (_delegate([("                    if _s is None:\n                        _y = next(_i)\n                    else:\n                        _y = _i.send(_s)",
                                "                    _y = _i.send(_s)")]),
                    {"test_send_forwarding"}),
    "loses_return_value": (_delegate([("    return _r\n", "    return None\n")]), {"test_return_value"}),
    "does_not_close_sub": (_delegate([("                    _m()\n", "                    pass\n")]),
                           {"test_close_and_generator_exit"}),
    "swallows_generator_exit": (_delegate([("                raise _e\n            except BaseException", "                return None\n            except BaseException")]),
                                {"test_close_and_generator_exit"}),
    "generator_exit_via_throw": (_delegate([("            except GeneratorExit as _e:\n                try:\n                    _m = _i.close\n                except AttributeError:\n                    pass\n                else:\n                    _m()\n                raise _e\n", "")]),
                                 {"test_close_and_generator_exit"}),
    "throw_without_throw_method_closes": (_delegate([("                except AttributeError:\n                    raise _e",
                                                      "                except AttributeError:\n                    getattr(_i, 'close', lambda: None)()\n                    raise _e")]),
                                          {"test_throw_forwarding"}),
    "throw_not_forwarded": (_delegate([("                    _m = _i.throw\n", "                    _m = _i.throw_\n")]),
                            {"test_throw_forwarding"}),
    "throw_stop_ignored": (_delegate([("                    except StopIteration as _e:\n                        _r = _e.value\n                        break\n            else:",
                                       "                    except StopIteration as _e:\n                        _r = None\n                        break\n            else:")]),
                           {"test_return_value"}),
    "swallows_sub_errors": (_delegate([("                except StopIteration as _e:\n                    _r = _e.value\n                    break\n    return _r",
                                        "                except StopIteration as _e:\n                    _r = _e.value\n                    break\n                except Exception:\n                    _r = None\n                    break\n    return _r")]),
                            {"test_exceptions_propagate"}),
}

TRAMPOLINE_ALT = '''
import inspect

class Scheduler:
    """Recursive turns: a call is run by a nested helper; an explicit index walks the tasks."""

    def __init__(self):
        self.tasks = []            # [name, stack, done]
        self.outcomes = {}

    def spawn(self, gen, name):
        if not inspect.isgenerator(gen):
            raise TypeError("a generator object, please")
        if any(t[0] == name for t in self.tasks):
            raise ValueError("name in use")
        self.tasks.append([name, [gen], False])

    def run(self):
        line = list(self.tasks)
        while line:
            name, stack, _ = line.pop(0)
            result = self._step(stack)
            if result is None:
                line.append([name, stack, False])
            else:
                self.outcomes[name] = result
        return dict(self.outcomes)

    def _step(self, stack):
        send, throw = None, None
        while stack:
            top = stack[-1]
            try:
                if throw is not None:
                    out = top.throw(throw)
                else:
                    out = top.send(send)
            except StopIteration as e:
                stack.pop()
                send, throw = e.value, None
                if not stack:
                    return ("returned", e.value)
            except Exception as e:
                stack.pop()
                send, throw = None, e
                if not stack:
                    return ("raised", e)
            else:
                send, throw = None, None
                if inspect.isgenerator(out):
                    stack.append(out)
                else:
                    return None
'''

def _tramp(changes):
    base = TRAMPOLINE_ALT
    for old, new in changes:
        assert old in base, old
        base = base.replace(old, new)
    return base

TRAMPOLINE_WRONG = {
    "return_value_lost": (_tramp([("                send, throw = e.value, None\n", "                send, throw = None, None\n")]),
                          {"test_nested_calls_return_values", "test_exception_crosses_three_levels"}),
    "exception_ends_task": (_tramp([("                send, throw = None, e\n                if not stack:\n                    return (\"raised\", e)",
                                     "                return (\"raised\", e)")]),
                            {"test_exception_crosses_three_levels"}),
    "exception_stops_everything": (_tramp([("            except Exception as e:\n                stack.pop()", "            except ZeroDivisionError as e:\n                stack.pop()")]),
                                   {"test_uncaught_exceptions_are_reported_per_task"}),
    "call_ends_turn": (_tramp([("                    stack.append(out)\n", "                    stack.append(out)\n                    return None\n")]),
                       {"test_round_robin_order"}),
    "resumes_caller_not_callee": (_tramp([("                else:\n                    return None\n",
                                           "                else:\n                    if len(stack) > 1:\n                        stack.pop()\n                    return None\n")]),
                                  {"test_switch_inside_a_call_resumes_the_callee", "test_nested_calls_return_values"}),
    "lifo_order": (_tramp([("name, stack, _ = line.pop(0)", "name, stack, _ = line.pop()")]),
                   {"test_round_robin_order"}),
    "no_spawn_checks": (_tramp([("        if not inspect.isgenerator(gen):\n            raise TypeError(\"a generator object, please\")\n", "")]),
                        {"test_spawn_checks_its_arguments"}),
}

VARIANTS = (
    [("alt", "averager.py", AVERAGER_ALT, None)]
    + [(n, "averager.py", src, must) for n, (src, must) in AVERAGER_WRONG.items()]
    + [("alt", "delegate_by_hand.py", DELEGATE_ALT, None)]
    + [(n, "delegate_by_hand.py", src, must) for n, (src, must) in DELEGATE_WRONG.items()]
    + [("alt", "trampoline.py", TRAMPOLINE_ALT, None)]
    + [(n, "trampoline.py", src, must) for n, (src, must) in TRAMPOLINE_WRONG.items()]
)
