"""Alternative correct and plausible wrong solutions of lesson 08's tasks (08.1-08.3).

tests/kit/test_variants_08_stackful.py grades each against tests/test_08_stackful.py: every
alternative must pass every test of its task, and every wrong one must fail, with the tests
named here (those of the rule it breaks) among the failures. Each wrong solution is the
reference (or an alternative) with one rule broken.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
"""

from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions" / "08_stackful"


def _ref(file):
    return (SOLUTIONS / file).read_text(encoding="utf-8")


def _changed(base, changes):
    for old, new in changes:
        assert base.count(old) == 1, old
        base = base.replace(old, new)
    return base


# ---------------------------------------------------------------- 08.1 pingpong

PP_REF = _ref("pingpong.py")

# One body for both players, a switch loop that passes the round number back and forth, and
# a worker that finds its caller as its parent.
PP_LOOP = '''
from greenlet import getcurrent, greenlet


def pingpong(n, log):
    if n < 1:
        raise ValueError("n < 1")
    players = {}

    def player(name, other):
        def body(i):
            while True:
                if name == "ping" and i == n:
                    return f"ping finished {n}"
                log(f"{name} {i}")
                if name == "pong" and i == n - 1:
                    return f"pong finished {n}"
                i = players[other].switch(i if name == "ping" else i + 1)
        return body

    players["ping"] = greenlet(player("ping", "pong"))
    players["pong"] = greenlet(player("pong", "ping"))
    results = [players["ping"].switch(0)]
    results.append(players["ping"].switch(n))
    return results


def route(exc, log):
    def work():
        log("started")
        try:
            getcurrent().parent.switch()
        except ValueError as error:
            log(f"caught {error}")
            result = f"handled {error}"
        except BaseException:
            log("cleanup")
            raise
        log("cleanup")
        return result

    worker = greenlet(work)
    worker.switch()
    return worker.throw(exc)
'''

# pingpong written as recursion: each round is a call one level deeper in ping's stack (a
# greenlet suspends the whole stack).
PP_RECURSIVE = '''
import greenlet as gl


def pingpong(n, log):
    if not n >= 1:
        raise ValueError(f"need n >= 1, got {n}")

    def ping_round(i):
        log(f"ping {i}")
        pong.switch(i)
        return ping_round(i + 1) if i + 1 < n else f"ping finished {n}"

    def pong_round(i):
        log(f"pong {i}")
        if i + 1 == n:
            return f"pong finished {n}"
        return pong_round(ping.switch())

    ping = gl.greenlet(lambda: ping_round(0))
    pong = gl.greenlet(pong_round)
    out = []
    out.append(ping.switch())
    out.append(ping.switch())
    return out


def route(exc, log):
    me = gl.getcurrent()

    def work():
        log("started")
        try:
            try:
                me.switch()
            except ValueError as e:
                log(f"caught {e}")
                return "handled " + str(e)
        finally:
            log("cleanup")

    w = gl.greenlet(work)
    w.switch()
    return w.throw(exc)
'''

PP_WRONG = {
    "no_n_check": (_changed(PP_REF, [('    if n < 1:\n        raise ValueError(f"n must be at least 1, got {n}")\n', "")]),
                   {"test_pingpong_rejects_n_below_one"}),
    "caller_writes_pong_lines": (_changed(PP_REF, [
        ("        while True:\n            log(f\"pong {i}\")\n", "        while True:\n            getcurrent().parent.switch(('log', i))\n"),
        ("    first = ping.switch()               # runs until pong returns: its value arrives here\n",
         "    first = ping.switch()\n    while isinstance(first, tuple):\n        log(f\"pong {first[1]}\")\n        first = pong.switch()\n")]),
        # the caller then also relays (switches) and does not see pong finish
        {"test_pingpong_lines_are_written_by_two_greenlets_in_turn",
         "test_pingpong_switches_directly_never_through_the_caller",
         "test_pingpong_returns_the_values_the_finished_greenlets_gave_the_caller"}),
    "relay_through_caller": ('''
from greenlet import getcurrent, greenlet


def pingpong(n, log):
    if n < 1:
        raise ValueError("n < 1")
    caller = getcurrent()

    def body(name):
        for i in range(n):
            log(f"{name} {i}")
            caller.switch()
        return f"{name} finished {n}"

    ping, pong = greenlet(lambda: body("ping")), greenlet(lambda: body("pong"))
    for _ in range(n):
        ping.switch()
        last = pong.switch()
    first = pong.switch()
    return [first, ping.switch()]
''' + PP_REF[PP_REF.index("\n\ndef route(exc, log):"):].replace("    ### BEGIN SOLUTION 08.1\n", "").replace("    ### END SOLUTION\n", ""),
        {"test_pingpong_switches_directly_never_through_the_caller"}),
    "pong_child_of_ping": (_changed(PP_REF, [
        ("    ping, pong = greenlet(ping_body), greenlet(pong_body)\n",
         "    ping = greenlet(ping_body)\n    pong = greenlet(pong_body, parent=ping)\n")]),
        # pong's return value then goes to ping, not to the caller
        {"test_pingpong_greenlets_are_children_of_the_caller",
         "test_pingpong_returns_the_values_the_finished_greenlets_gave_the_caller"}),
    "values_in_wrong_order": (_changed(PP_REF, [("    return [first, second]\n", "    return [second, first]\n")]),
                              {"test_pingpong_returns_the_values_the_finished_greenlets_gave_the_caller"}),
    "leaves_ping_suspended": (_changed(PP_REF, [
        ("    second = ping.switch()              # ping, still in pong.switch(), finishes its loop\n",
         "    second = f\"ping finished {n}\"\n")]),
        # the caller then never sees ping finish either
        {"test_pingpong_leaves_no_greenlet_suspended",
         "test_pingpong_returns_the_values_the_finished_greenlets_gave_the_caller"}),
    "switch_instead_of_throw": (_changed(PP_REF, [
        ("            caller.switch()             # suspended here: throw() raises exc at this call\n",
         "            raise caller.switch()\n"),
        ("    return worker.throw(exc)\n", "    return worker.switch(exc)\n")]),
        {"test_route_delivers_the_exception_with_throw"}),
    "catches_every_exception": (_changed(PP_REF, [("        except ValueError as error:\n", "        except Exception as error:\n")]),
                                {"test_route_other_exceptions_propagate_unchanged"}),
    "catches_greenlet_exit": (_changed(PP_REF, [("        except ValueError as error:\n",
                                                 "        except (ValueError, GreenletExit) as error:\n"),
                                                ("from greenlet import getcurrent, greenlet\n",
                                                 "from greenlet import GreenletExit, getcurrent, greenlet\n")]),
                              {"test_route_greenlet_exit_returns_the_exception_itself"}),
    "exact_value_error_only": (_changed(PP_REF, [
        ("        except ValueError as error:\n", "        except Exception as error:\n            if type(error) is not ValueError:\n                raise\n")]),
        {"test_route_a_value_error_is_handled_inside"}),
    "cleanup_only_when_handled": (_changed(PP_REF, [
        ("            return f\"handled {error}\"\n        finally:\n            log(\"cleanup\")\n",
         "            log(\"cleanup\")\n            return f\"handled {error}\"\n")]),
        {"test_route_always_cleans_up_once_and_ends_dead"}),
    "worker_child_of_a_middle_greenlet": (_changed(PP_REF, [
        ("    worker = greenlet(work)\n    worker.switch()\n    return worker.throw(exc)\n",
         "    middle = greenlet(lambda: None)\n    worker = greenlet(work, parent=middle)\n    worker.switch()\n"
         "    return worker.throw(exc)\n")]),
        # worker's end then lands in `middle`, not in route's throw()
        {"test_route_starts_a_child_that_suspends_itself", "test_route_a_value_error_is_handled_inside",
         "test_route_greenlet_exit_returns_the_exception_itself"}),
}

# ---------------------------------------------------------------- 08.2 mini_hub

HUB_REF = _ref("mini_hub.py")

# The greenlet rides in the selector key's data field, the hub greenlet is made once in
# __init__, and spawn gives each greenlet the hub as its parent at once.
HUB_DATA = '''
import selectors

from greenlet import getcurrent, greenlet


class MiniHub:
    def __init__(self, selector=None):
        self.selector = selector or selectors.DefaultSelector()
        self.errors = []
        self.ready = []
        self.waiters = 0
        self.hub = greenlet(self._loop)

    def spawn(self, fn, *args):
        g = greenlet(fn, parent=self.hub)
        self.ready.append((g, args))
        return g

    def wait_read(self, fd):
        self.selector.register(fd, selectors.EVENT_READ, getcurrent())
        self.waiters += 1
        self.hub.switch()

    def sleep0(self):
        self.ready.append((getcurrent(), ()))
        self.hub.switch()

    def run(self):
        self.hub.switch()

    def _loop(self):
        while self.ready or self.waiters:
            for key, _ in self.selector.select(0 if self.ready else None):
                self.selector.unregister(key.fd)
                self.waiters -= 1
                self.ready.append((key.data, ()))
            batch, self.ready = self.ready, []
            for g, args in batch:
                try:
                    g.switch(*args)
                except Exception as e:
                    self.errors.append(e)
'''

# No hub greenlet of its own: the greenlet that calls run() is the hub (the spawned greenlets
# are its children, so each one's end lands in run's switch()).
HUB_CALLER = '''
import selectors
from collections import deque

import greenlet


class MiniHub:
    def __init__(self, selector=None):
        self.sel = selectors.DefaultSelector() if selector is None else selector
        self.errors = []
        self.queue = deque()
        self.fds = {}

    def spawn(self, fn, *args):
        g = greenlet.greenlet(lambda: fn(*args))
        self.queue.append(g)
        return g

    def wait_read(self, fd):
        self.sel.register(fd, selectors.EVENT_READ)
        self.fds[fd] = greenlet.getcurrent()
        self.home.switch()

    def sleep0(self):
        self.queue.append(greenlet.getcurrent())
        self.home.switch()

    def run(self):
        self.home = greenlet.getcurrent()
        while True:
            if not self.queue and not self.fds:
                return
            events = self.sel.select(0 if self.queue else None)
            for key, mask in events:
                if key.fd in self.fds:
                    self.sel.unregister(key.fd)
                    self.queue.append(self.fds.pop(key.fd))
            now = list(self.queue)
            self.queue.clear()
            for g in now:
                g.parent = self.home
                try:
                    g.switch()
                except Exception as exc:
                    self.errors.append(exc)
'''

HUB_WRONG = {
    "unregisters_after_resuming": (_changed(HUB_REF, [
        ("                        self.selector.unregister(key.fd)   # before it resumes: no second wake-up\n", ""),
        ("        self._hub.switch()\n        ### END SOLUTION\n\n    def sleep0",
         "        self._hub.switch()\n        self.selector.unregister(fd)\n        ### END SOLUTION\n\n    def sleep0")]),
        {"test_wait_read_resumes_once_per_readiness_unregistered_first",
         "test_select_blocks_when_only_waiters_are_left_and_wakes_in_report_order"}),
    "never_unregisters": (_changed(HUB_REF, [
        ("                        self.selector.unregister(key.fd)   # before it resumes: no second wake-up\n", "")]),
        {"test_wait_read_resumes_once_per_readiness_unregistered_first",
         "test_two_echo_greenlets_interleave_on_a_real_selector",
         "test_select_blocks_when_only_waiters_are_left_and_wakes_in_report_order"}),
    "runs_newcomers_in_the_same_pass": (_changed(HUB_REF, [
        ("                for _ in range(len(self._runnable)):       # only those runnable now\n",
         "                while self._runnable:\n")]),
        {"test_each_pass_selects_once_then_runs_only_what_was_runnable",
         "test_wait_read_resumes_once_per_readiness_unregistered_first"}),
    "last_in_first_out": (_changed(HUB_REF, [("                    g = self._runnable.popleft()\n",
                                              "                    g = self._runnable.pop()\n")]),
                          {"test_runnable_greenlets_run_in_order_spawn_then_sleep0",
         # the order shows in every exact trace
         "test_an_exception_ends_one_greenlet_and_is_collected",
         "test_each_pass_selects_once_then_runs_only_what_was_runnable",
         "test_select_blocks_when_only_waiters_are_left_and_wakes_in_report_order",
         "test_wait_read_resumes_once_per_readiness_unregistered_first"}),
    # busy-polls while only waiters are left (a real hub would burn a core)
    "always_polls": (_changed(HUB_REF, [("                timeout = 0 if self._runnable else None\n",
                                         "                timeout = 0\n")]),
                     {"test_select_blocks_when_only_waiters_are_left_and_wakes_in_report_order"}),
    "wakes_in_fd_order": (_changed(HUB_REF, [("                for key, _mask in self.selector.select(timeout):\n",
                                              "                for key, _mask in sorted(self.selector.select(timeout), key=lambda e: e[0].fd):\n")]),
                          {"test_select_blocks_when_only_waiters_are_left_and_wakes_in_report_order"}),
    "forgets_the_waiters": (_changed(HUB_REF, [("            while self._runnable or self._waiting:\n",
                                                "            while self._runnable:\n")]),
                            {"test_select_blocks_when_only_waiters_are_left_and_wakes_in_report_order",
                             "test_every_spawned_greenlet_is_dead_when_run_returns",
                             "test_two_echo_greenlets_interleave_on_a_real_selector"}),
    "an_error_stops_the_hub": (_changed(HUB_REF, [
        ("                    try:\n                        g.switch()\n                    except Exception as exc:                # it ended by raising: it alone\n                        self.errors.append(exc)\n",
         "                    g.switch()\n")]),
        # the hub dies with the others still suspended
        {"test_an_exception_ends_one_greenlet_and_is_collected",
         "test_every_spawned_greenlet_is_dead_when_run_returns"}),
    "errors_dropped": (_changed(HUB_REF, [("                        self.errors.append(exc)\n", "                        pass\n")]),
                       {"test_an_exception_ends_one_greenlet_and_is_collected"}),
    "spawn_jumps_the_line": (_changed(HUB_REF, [("        self._runnable.append(g)\n        return g\n",
                                                 "        self._runnable.appendleft(g)\n        return g\n")]),
                             {"test_runnable_greenlets_run_in_order_spawn_then_sleep0",
         # the order shows in every exact trace
         "test_an_exception_ends_one_greenlet_and_is_collected",
         "test_each_pass_selects_once_then_runs_only_what_was_runnable",
         "test_select_blocks_when_only_waiters_are_left_and_wakes_in_report_order",
         "test_wait_read_resumes_once_per_readiness_unregistered_first"}),
    "spawn_returns_a_handle": (_changed(HUB_REF, [("        self._runnable.append(g)\n        return g\n",
                                                   "        self._runnable.append(g)\n        return len(self._runnable)\n")]),
                               {"test_spawn_returns_a_greenlet_that_runs_only_in_run",
                                # the tests then cannot see the greenlets end
                                "test_every_spawned_greenlet_is_dead_when_run_returns",
                                "test_two_echo_greenlets_interleave_on_a_real_selector"}),
}

# ---------------------------------------------------------------- 08.3 first_wins

RACE_REF = _ref("first_wins.py")

# asyncio.wait(FIRST_COMPLETED) in a loop, cleanup by hand in a finally.
RACE_WAIT = '''
import asyncio


async def first_wins(coro_fns):
    if len(coro_fns) == 0:
        raise ValueError("no contenders")
    tasks = [asyncio.ensure_future(fn()) for fn in coro_fns]
    failures = []
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for t in sorted(done, key=tasks.index):
                if t.exception() is None:
                    return (tasks.index(t), t.result())
                failures.append(t.exception())
        raise ExceptionGroup("all failed", failures)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
'''

# A TaskGroup aborted by a private exception: the winner raises it, the group cancels the
# rest, and except* picks it out.
RACE_ABORT = '''
import asyncio


class _Won(Exception):
    def __init__(self, index, value):
        self.index, self.value = index, value


async def first_wins(coro_fns):
    if not coro_fns:
        raise ValueError("first_wins() of nothing")
    failures = []

    async def run(i, fn):
        try:
            value = await fn()
        except Exception as exc:
            failures.append(exc)
        else:
            raise _Won(i, value)

    won = None
    try:
        async with asyncio.TaskGroup() as tg:
            for i, fn in enumerate(coro_fns):
                tg.create_task(run(i, fn))
    except* _Won as group:
        won = group.exceptions[0]          # (return is not allowed in an except* block)
    if won is None:
        raise ExceptionGroup("no contender succeeded", failures)
    return (won.index, won.value)
'''

RACE_WRONG = {
    "empty_gives_none": (_changed(RACE_REF, [('        raise ValueError("first_wins needs at least one contender")\n',
                                              "        return None\n")]),
                         {"test_no_contenders_raises_value_error"}),
    "one_after_another": ('''
import asyncio


async def first_wins(coro_fns):
    if not coro_fns:
        raise ValueError("empty")
    failures = []
    for i, fn in enumerate(coro_fns):
        try:
            return (i, await fn())
        except Exception as exc:
            failures.append(exc)
    raise ExceptionGroup("all failed", failures)
''', {"test_all_contenders_start_at_once", "test_the_first_to_succeed_wins",
     # waiting for each in turn, it never has losers to cancel nor failures to outlive
     "test_a_failure_neither_wins_nor_stops_the_others", "test_all_failing_raise_an_exception_group_of_every_failure",
     "test_cancelling_the_caller_cancels_every_contender_and_propagates",
     "test_losers_are_cancelled_and_awaited_before_return"}),
    "first_completed_even_if_failed": (_changed(RACE_WAIT, [
        ("                if t.exception() is None:\n                    return (tasks.index(t), t.result())\n"
         "                failures.append(t.exception())\n",
         "                return (tasks.index(t), t.result())\n")]),
        {"test_a_failure_neither_wins_nor_stops_the_others",
         "test_all_failing_raise_an_exception_group_of_every_failure"}),
    "cancels_without_waiting": (_changed(RACE_WAIT, [("        await asyncio.gather(*tasks, return_exceptions=True)\n", "")]),
                                {"test_losers_are_cancelled_and_awaited_before_return",
                                 "test_cancelling_the_caller_cancels_every_contender_and_propagates"}),
    "a_failure_cancels_everyone": (_changed(RACE_REF, [
        ("        try:\n            value = await fn()\n        except Exception as exc:        # a failure is kept, and stops nobody\n"
         "            failures.append(exc)\n            return\n",
         "        value = await fn()\n")]),
        {"test_a_failure_neither_wins_nor_stops_the_others",
         "test_all_failing_raise_an_exception_group_of_every_failure"}),
    "raises_the_first_failure_only": (_changed(RACE_REF, [
        ('        raise ExceptionGroup("every contender of first_wins failed", failures)\n',
         "        raise failures[0]\n")]),
        {"test_all_failing_raise_an_exception_group_of_every_failure"}),
    "swallows_the_callers_cancel": (_changed(RACE_REF, [
        ("    async with asyncio.TaskGroup() as group:\n        for i, fn in enumerate(coro_fns):\n"
         "            tasks.append(group.create_task(contend(i, fn)))\n",
         "    try:\n        async with asyncio.TaskGroup() as group:\n            for i, fn in enumerate(coro_fns):\n"
         "                tasks.append(group.create_task(contend(i, fn)))\n    except asyncio.CancelledError:\n"
         "        return None\n")]),
        {"test_cancelling_the_caller_cancels_every_contender_and_propagates"}),
    "leaves_them_running_when_cancelled": (_changed(RACE_WAIT, [
        ("    finally:\n        for t in tasks:\n            t.cancel()\n        await asyncio.gather(*tasks, return_exceptions=True)\n",
         "    except asyncio.CancelledError:\n        raise\n    else:\n        pass\n    finally:\n"
         "        if not asyncio.current_task().cancelling():\n            for t in tasks:\n                t.cancel()\n"
         "            await asyncio.gather(*tasks, return_exceptions=True)\n")]),
        {"test_cancelling_the_caller_cancels_every_contender_and_propagates"}),
}

# None of these waits out a safety net: each hang ends as NothingCanWake or a scripted
# selector's RuntimeError.
SLOW: set = set()

VARIANTS = (
    [("alt_loop", "pingpong.py", PP_LOOP, None), ("alt_recursive", "pingpong.py", PP_RECURSIVE, None)]
    + [(n, "pingpong.py", src, must) for n, (src, must) in PP_WRONG.items()]
    + [("alt_data", "mini_hub.py", HUB_DATA, None), ("alt_caller_is_hub", "mini_hub.py", HUB_CALLER, None)]
    + [(n, "mini_hub.py", src, must) for n, (src, must) in HUB_WRONG.items()]
    + [("alt_wait", "first_wins.py", RACE_WAIT, None), ("alt_abort", "first_wins.py", RACE_ABORT, None)]
    + [(n, "first_wins.py", src, must) for n, (src, must) in RACE_WRONG.items()]
)
