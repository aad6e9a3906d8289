"""Alternative correct and plausible wrong solutions of lesson 12's tasks 12.1-12.3.

tests/kit/test_variants_12_coroutine_models.py grades each against
tests/test_12_coroutine_models.py: every alternative must pass every test of its task, and
every wrong one must fail, with the tests named here (those of the rule it breaks) among the
failures. Each wrong solution is a second correct solution (the *_REF sources, written apart
from solutions/) with exactly one rule broken.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
SLOW: the wrong variants that hang until the runner's time limit stops them.
"""

from variant_grading import changed

# ---------------------------------------------------------------- 12.1 reduction_scheduler

# A list as the run queue, gen.send(None), a `finished` flag.
SCHED_REF = '''
import inspect


class ReductionScheduler:
    def __init__(self, budget):
        if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
            raise ValueError("budget: an int >= 1")
        self.budget = budget
        self.results = {}
        self.queue = []
        self.used = set()

    def spawn(self, name, gen):
        if not inspect.isgenerator(gen):
            raise TypeError("spawn takes a generator")
        if name in self.used:
            raise ValueError("name taken")
        self.used.add(name)
        self.queue.append([name, gen])

    def run(self):
        out = []
        while self.queue:
            name, gen = self.queue.pop(0)
            used = 0
            finished = False
            try:
                while used < self.budget:
                    try:
                        step = gen.send(None)
                    except StopIteration as e:
                        self.results[name] = e.value
                        finished = True
                        break
                    if step is None:
                        step = 1
                    elif isinstance(step, bool) or not isinstance(step, int) or step < 1:
                        raise ValueError("bad cost %r" % (step,))
                    used += step
            except BaseException:
                gen.close()
                for _, other in self.queue:
                    other.close()
                self.queue.clear()
                raise
            out.append((name, used))
            if not finished:
                self.queue.append([name, gen])
        return out
'''

# A budget counted down, a deque rotated by hand, errors collected with a closing helper.
SCHED_ALT = '''
import collections
import types


class ReductionScheduler:
    def __init__(self, budget):
        if type(budget) is not int or not budget >= 1:
            raise ValueError(f"bad budget {budget!r}")
        self._budget = budget
        self._runq = collections.deque()
        self._seen = []
        self.results = {}

    def spawn(self, name, gen):
        if type(gen) is not types.GeneratorType:
            raise TypeError("a generator object, please")
        if name in self._seen:
            raise ValueError(f"{name!r} is taken")
        self._seen.append(name)
        self._runq.append((name, gen))

    def _abort(self, current):
        current.close()
        for _, g in self._runq:
            g.close()
        self._runq.clear()

    def run(self):
        log = []
        while self._runq:
            name, gen = self._runq[0]
            self._runq.popleft()
            left = self._budget
            while left > 0:
                try:
                    cost = next(gen)
                except StopIteration as stop:
                    self.results[name] = stop.value
                    break
                except Exception:
                    self._abort(gen)
                    raise
                if cost is None:
                    cost = 1
                if cost is True or cost is False or not isinstance(cost, int) or cost <= 0:
                    self._abort(gen)
                    raise ValueError(f"{name} yielded {cost!r}")
                left -= cost
            else:
                log.append((name, self._budget - left))
                self._runq.append((name, gen))
                continue
            log.append((name, self._budget - left))
        return log
'''

_REQUEUE = "            if not finished:\n                self.queue.append([name, gen])\n"

SCHED_WRONG = {
    # The preempted process runs again at once: no round robin.
    "preempted_to_the_front": (changed(SCHED_REF, [(_REQUEUE, "            if not finished:\n"
                                                              "                self.queue.insert(0, [name, gen])\n")]),
                               {"test_the_statements_example", "test_round_robin_at_several_budgets",
                                "test_unit_costs_are_fair"}),
    # Behind only the next one waiting, not behind all of them.
    "preempted_to_second_place": (changed(SCHED_REF, [(_REQUEUE, "            if not finished:\n"
                                                                 "                self.queue.insert(1, [name, gen])\n")]),
                                  {"test_round_robin_at_several_budgets"}),
    "slice_of_budget_plus_one": (changed(SCHED_REF, [("while used < self.budget:", "while used <= self.budget:")]),
                                 {"test_the_statements_example", "test_round_robin_at_several_budgets"}),
    "every_step_costs_one": (changed(SCHED_REF, [("                    used += step\n", "                    used += 1\n")]),
                             {"test_uneven_costs_are_charged", "test_an_overshooting_step_ends_the_slice_with_its_whole_cost"}),
    "overshoot_cut_to_the_budget": (changed(SCHED_REF, [("out.append((name, used))",
                                                         "out.append((name, min(used, self.budget)))")]),
                                    {"test_an_overshooting_step_ends_the_slice_with_its_whole_cost"}),
    "zero_slice_dropped": (changed(SCHED_REF, [("            out.append((name, used))\n",
                                                "            if used or not finished:\n"
                                                "                out.append((name, used))\n")]),
                           {"test_a_slice_that_only_returns_is_recorded"}),
    "return_value_lost": (changed(SCHED_REF, [("self.results[name] = e.value", "self.results[name] = None")]),
                          {"test_return_values_go_to_results"}),
    "bool_budget_accepted": (changed(SCHED_REF, [("if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:",
                                                  "if not isinstance(budget, int) or budget <= 0:")]),
                             {"test_a_bad_budget_raises_value_error"}),
    "any_iterator_spawned": (changed(SCHED_REF, [("if not inspect.isgenerator(gen):", "if not hasattr(gen, \"__next__\"):")]),
                             {"test_spawn_checks_its_arguments"}),
    "finished_names_reusable": (changed(SCHED_REF, [("                        finished = True\n",
                                                     "                        finished = True\n"
                                                     "                        self.used.discard(name)\n")]),
                                {"test_spawn_checks_its_arguments"}),
    # Processes spawned during run() wait until the queue is empty.
    "spawned_ones_wait_for_the_end": (changed(SCHED_REF, [
        ("        self.queue.append([name, gen])\n\n",
         "        (self.later if getattr(self, \"running\", False) else self.queue).append([name, gen])\n\n"),
        ("        out = []\n        while self.queue:\n",
         "        out = []\n        self.running, self.later = True, []\n        while self.queue or self.later:\n"
         "            if not self.queue:\n                self.queue, self.later = self.later, []\n")]),
        {"test_a_process_can_spawn_during_run"}),
    "bool_cost_accepted": (changed(SCHED_REF, [("elif isinstance(step, bool) or not isinstance(step, int) or step < 1:",
                                                "elif not isinstance(step, int) or step < 1:")]),
                           {"test_a_bad_cost_raises_value_error_and_closes"}),
    "bad_generator_left_open": (changed(SCHED_REF, [("                gen.close()\n                for", "                for")]),
                                {"test_a_bad_cost_raises_value_error_and_closes"}),
    "others_left_open": (changed(SCHED_REF, [("                for _, other in self.queue:\n                    other.close()\n", "")]),
                         {"test_a_bad_cost_raises_value_error_and_closes", "test_a_raising_process_stops_the_run"}),
    # A process that raises is treated as finished, with the exception as its result.
    "raising_process_swallowed": (changed(SCHED_REF, [("                        finished = True\n                        break\n",
                                                       "                        finished = True\n                        break\n"
                                                       "                    except Exception as e:\n"
                                                       "                        self.results[name] = e\n"
                                                       "                        finished = True\n                        break\n")]),
                                  {"test_a_raising_process_stops_the_run"}),
}

# ---------------------------------------------------------------- 12.2 poll_executor

# A deque plus a `queued` flag per task; the Condition guards both.
POLL_REF = '''
import threading
from collections import deque

PENDING = object()


class Ready:
    def __init__(self, value):
        self.value = value


class JoinHandle:
    def __init__(self, future):
        self.future = future
        self.polls = 0
        self.finished = False
        self.queued = False
        self.outcome = None
        self.error = None

    def done(self):
        return self.finished

    def result(self):
        if not self.finished:
            raise RuntimeError("pending")
        if self.error is not None:
            raise self.error
        return self.outcome


class Waker:
    def __init__(self, executor, task):
        self.executor = executor
        self.task = task

    def wake(self):
        ex, task = self.executor, self.task
        with ex.cond:
            if task.finished or task.queued:
                return
            task.queued = True
            ex.ready.append(task)
            ex.cond.notify()


class PollExecutor:
    def __init__(self):
        self.cond = threading.Condition()
        self.ready = deque()

    def spawn(self, future):
        task = JoinHandle(future)
        Waker(self, task).wake()
        return task

    def _next(self):
        with self.cond:
            if not self.ready:
                return None
            task = self.ready.popleft()
            task.queued = False
            return task

    def run_until_stalled(self):
        while True:
            task = self._next()
            if task is None:
                return
            task.polls += 1
            try:
                out = task.future.poll(Waker(self, task))
            except Exception as exc:
                task.error = exc
                task.finished = True
                continue
            if isinstance(out, Ready):
                task.outcome = out.value
                task.finished = True

    def block_on(self, future):
        task = self.spawn(future)
        while True:
            self.run_until_stalled()
            if task.finished:
                return task.result()
            with self.cond:
                while not self.ready:
                    self.cond.wait()


class _Child:
    def __init__(self, join, i):
        self.join = join
        self.i = i

    def wake(self):
        with self.join.lock:
            self.join.flags[self.i] = True
            parent = self.join.waker
        if parent is not None:
            parent.wake()


class _Join:
    def __init__(self, futures):
        self.futures = list(futures)
        self.values = [None] * len(self.futures)
        self.ready = [False] * len(self.futures)
        self.flags = [True] * len(self.futures)
        self.lock = threading.Lock()
        self.waker = None

    def poll(self, waker):
        with self.lock:
            self.waker = waker
            todo = [i for i, f in enumerate(self.flags) if f and not self.ready[i]]
            for i in todo:
                self.flags[i] = False
        for i in todo:
            out = self.futures[i].poll(_Child(self, i))
            if isinstance(out, Ready):
                self.values[i] = out.value
                self.ready[i] = True
        if all(self.ready):
            return Ready(list(self.values))
        return PENDING


def join_all(futures):
    return _Join(futures)
'''

# One Event as the doorbell, an insertion-ordered dict as the ready set, closures as wakers,
# and join_all as a generator-free state machine with a set of woken indexes.
POLL_ALT = '''
import threading

PENDING = "pending-sentinel"


class Ready:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class Waker:
    def __init__(self, callback):
        self._callback = callback

    def wake(self):
        self._callback()


class JoinHandle:
    def __init__(self, future):
        self._future = future
        self.polls = 0
        self._state = ("pending",)

    def done(self):
        return self._state[0] != "pending"

    def result(self):
        kind = self._state[0]
        if kind == "pending":
            raise RuntimeError("not finished")
        if kind == "error":
            raise self._state[1]
        return self._state[1]


class PollExecutor:
    def __init__(self):
        self._lock = threading.Lock()
        self._ready = {}
        self._bell = threading.Event()

    def _wake(self, handle):
        with self._lock:
            if handle.done():
                return
            self._ready[handle] = None
        self._bell.set()

    def spawn(self, future):
        handle = JoinHandle(future)
        self._wake(handle)
        return handle

    def run_until_stalled(self):
        while True:
            with self._lock:
                if not self._ready:
                    break
                handle = next(iter(self._ready))
                del self._ready[handle]
            handle.polls += 1
            try:
                got = handle._future.poll(Waker(lambda h=handle: self._wake(h)))
            except Exception as exc:
                handle._state = ("error", exc)
                continue
            if isinstance(got, Ready):
                handle._state = ("value", got.value)

    def block_on(self, future):
        handle = self.spawn(future)
        while True:
            self.run_until_stalled()
            if handle.done():
                return handle.result()
            self._bell.wait()
            self._bell.clear()


class _JoinAll:
    def __init__(self, futures):
        self._futures = futures
        self._results = {}
        self._woken = set(range(len(futures)))
        self._guard = threading.Lock()
        self._outer = None

    def _child_woke(self, i):
        with self._guard:
            self._woken.add(i)
            outer = self._outer
        outer.wake()

    def poll(self, waker):
        with self._guard:
            self._outer = waker
            woken = sorted(self._woken - set(self._results))
            self._woken.clear()
        for i in woken:
            got = self._futures[i].poll(Waker(lambda i=i: self._child_woke(i)))
            if isinstance(got, Ready):
                self._results[i] = got.value
        if len(self._results) == len(self._futures):
            return Ready([self._results[i] for i in range(len(self._futures))])
        return PENDING


def join_all(futures):
    return _JoinAll(list(futures))
'''

POLL_WRONG = {
    # The ready queue holds a task once per wake.
    "a_wake_is_a_poll": (changed(POLL_REF, [("            if task.finished or task.queued:\n",
                                             "            if task.finished:\n")]),
                         {"test_two_wakes_before_a_poll_give_one_poll"}),
    "finished_tasks_woken": (changed(POLL_REF, [("            if task.finished or task.queued:\n",
                                                 "            if task.queued:\n")]),
                             {"test_waking_a_finished_task_does_nothing"}),
    "spawn_polls_at_once": (changed(POLL_REF, [("        task = JoinHandle(future)\n        Waker(self, task).wake()\n",
                                                "        task = JoinHandle(future)\n        Waker(self, task).wake()\n"
                                                "        self.run_until_stalled()\n")]),
                            {"test_ready_at_the_first_poll_is_polled_once"}),
    # Every run_until_stalled polls every pending task once more.
    "polls_everything_pending": (changed(POLL_REF, [
        ("    def run_until_stalled(self):\n        while True:\n",
         "    def run_until_stalled(self):\n"
         "        for task in getattr(self, \"alive\", []):\n"
         "            if not task.finished:\n                Waker(self, task).wake()\n"
         "        while True:\n"),
        ("        task = JoinHandle(future)\n", "        task = JoinHandle(future)\n"
                                             "        self.alive = getattr(self, \"alive\", []) + [task]\n")]),
        {"test_a_task_never_woken_is_polled_once", "test_a_task_woken_once_is_polled_exactly_twice"}),
    # With nothing ready, block_on polls the target again: a busy loop.
    "busy_block_on": (changed(POLL_REF, [("            with self.cond:\n                while not self.ready:\n"
                                          "                    self.cond.wait()\n",
                                          "            Waker(self, task).wake()\n")]),
                      {"test_block_on_sleeps_until_a_wake_from_another_thread"}),
    # wake() from another thread never notifies: block_on sleeps for ever.
    "wake_without_notify": (changed(POLL_REF, [("            ex.cond.notify()\n", "")]),
                            {"test_block_on_sleeps_until_a_wake_from_another_thread"}),
    # The queued flag is cleared after the poll, so a wake during the poll is lost.
    "wake_during_poll_lost": (changed(POLL_REF, [
        ("            task = self.ready.popleft()\n            task.queued = False\n",
         "            task = self.ready.popleft()\n"),
        ("            task.polls += 1\n            try:\n                out = task.future.poll(Waker(self, task))\n",
         "            task.polls += 1\n            try:\n                out = task.future.poll(Waker(self, task))\n"
         "                task.queued = False\n")]),
        {"test_wakes_during_a_poll_count"}),
    "join_all_polls_every_child": (changed(POLL_REF, [("if f and not self.ready[i]]", "if not self.ready[i]]")]),
                                   {"test_join_all_repolls_only_the_children_woken"}),
    "join_all_repolls_ready_children": (changed(POLL_REF, [("if f and not self.ready[i]]", "if f]")]),
                                        {"test_join_all_repolls_only_the_children_woken"}),
    "join_all_in_finishing_order": (changed(POLL_REF, [("            return Ready(list(self.values))\n",
                                                        "            return Ready(list(self.order))\n"),
                                                       ("                self.ready[i] = True\n",
                                                        "                self.ready[i] = True\n"
                                                        "                self.order = getattr(self, \"order\", []) + [out.value]\n")]),
                                    {"test_join_all_gives_the_values_in_order"}),
    "raising_poll_escapes_run": (changed(POLL_REF, [("            except Exception as exc:\n                task.error = exc\n"
                                                     "                task.finished = True\n                continue\n",
                                                     "            except Exception as exc:\n                task.error = exc\n"
                                                     "                task.finished = True\n                raise\n")]),
                                 {"test_a_raising_poll"}),
    "pending_result_is_none": (changed(POLL_REF, [("        if not self.finished:\n            raise RuntimeError(\"pending\")\n", "")]),
                               {"test_a_task_never_woken_is_polled_once"}),
}

# ---------------------------------------------------------------- 12.3 runtime_axes

AXES_REF = '''
_KEY = {
    "python_threads": dict(stackful=True, transfer="scheduled", scheduler="os", preemption="gil_interval",
                           coloured=False, hog_starves=False),
    "python_generators": dict(stackful=False, transfer="asymmetric", scheduler="none", preemption="none",
                              coloured=True, hog_starves=True),
    "asyncio": dict(stackful=False, transfer="asymmetric", scheduler="loop", preemption="none", coloured=True,
                    hog_starves=True),
    "greenlet": dict(stackful=True, transfer="symmetric", scheduler="none", preemption="none", coloured=False,
                     hog_starves=True),
    "gevent": dict(stackful=True, transfer="symmetric", scheduler="loop", preemption="none", coloured=False,
                   hog_starves=True),
    "lua": dict(stackful=True, transfer="asymmetric", scheduler="none", preemption="none", coloured=False,
                hog_starves=True),
    "go": dict(stackful=True, transfer="scheduled", scheduler="m_n", preemption="signal", coloured=False,
               hog_starves=False),
    "erlang": dict(stackful=True, transfer="scheduled", scheduler="m_n", preemption="reductions", coloured=False,
                   hog_starves=False),
    "rust_async": dict(stackful=False, transfer="asymmetric", scheduler="loop", preemption="none", coloured=True,
                       hog_starves=True),
    "java_platform": dict(stackful=True, transfer="scheduled", scheduler="os", preemption="os_timeslice",
                          coloured=False, hog_starves=False),
    "java_virtual": dict(stackful=True, transfer="scheduled", scheduler="m_n", preemption="none", coloured=False,
                         hog_starves=True),
    "kotlin": dict(stackful=False, transfer="asymmetric", scheduler="loop", preemption="none", coloured=True,
                   hog_starves=True),
    "scala_actors": dict(stackful=False, transfer="scheduled", scheduler="m_n", preemption="none", coloured=False,
                         hog_starves=True),
}


def classify(runtime):
    if runtime not in _KEY:
        raise ValueError("unknown runtime %r, choose from %s" % (runtime, ", ".join(sorted(_KEY))))
    return dict(_KEY[runtime])
'''

# By axis: sets of the runtimes with each property, the dict assembled per call.
AXES_ALT = '''
ALL = ["python_threads", "python_generators", "asyncio", "greenlet", "gevent", "lua", "go", "erlang",
       "rust_async", "java_platform", "java_virtual", "kotlin", "scala_actors"]
STACKLESS = {"python_generators", "asyncio", "rust_async", "kotlin", "scala_actors"}
COLOURED = {"python_generators", "asyncio", "rust_async", "kotlin"}
BOUNDED = {"python_threads", "go", "erlang", "java_platform"}
TRANSFER = {"greenlet": "symmetric", "gevent": "symmetric", "python_generators": "asymmetric",
            "asyncio": "asymmetric", "lua": "asymmetric", "rust_async": "asymmetric", "kotlin": "asymmetric"}
SCHEDULER = {"python_threads": "os", "java_platform": "os", "asyncio": "loop", "gevent": "loop",
             "rust_async": "loop", "kotlin": "loop", "go": "m_n", "erlang": "m_n", "java_virtual": "m_n",
             "scala_actors": "m_n"}
PREEMPTION = {"python_threads": "gil_interval", "go": "signal", "erlang": "reductions",
              "java_platform": "os_timeslice"}


def classify(runtime):
    if not isinstance(runtime, str) or runtime not in ALL:
        raise ValueError(f"no runtime {runtime!r}: valid are {ALL}")
    return {"stackful": runtime not in STACKLESS, "transfer": TRANSFER.get(runtime, "scheduled"),
            "scheduler": SCHEDULER.get(runtime, "none"), "preemption": PREEMPTION.get(runtime, "none"),
            "coloured": runtime in COLOURED, "hog_starves": runtime not in BOUNDED}
'''


def _flip(runtime, old, new):
    """AXES_REF with one answer of one runtime changed."""
    start = AXES_REF.index(f'    "{runtime}": dict(')
    end = AXES_REF.index("),\n", start)
    entry = AXES_REF[start:end]
    assert entry.count(old) == 1, (runtime, old)
    return AXES_REF[:start] + entry.replace(old, new) + AXES_REF[end:]


AXES_WRONG = {
    "greenlet_stackless": (_flip("greenlet", "stackful=True", "stackful=False"), {"test_stackful"}),
    "java_virtual_stackless": (_flip("java_virtual", "stackful=True", "stackful=False"), {"test_stackful"}),
    "greenlet_asymmetric": (_flip("greenlet", 'transfer="symmetric"', 'transfer="asymmetric"'), {"test_transfer"}),
    "lua_symmetric": (_flip("lua", 'transfer="asymmetric"', 'transfer="symmetric"'), {"test_transfer"}),
    "java_virtual_on_os_threads": (_flip("java_virtual", 'scheduler="m_n"', 'scheduler="os"'), {"test_scheduler"}),
    "go_cooperative": (_flip("go", 'preemption="signal"', 'preemption="none"'), {"test_preemption"}),
    "erlang_by_timer": (_flip("erlang", 'preemption="reductions"', 'preemption="signal"'), {"test_preemption"}),
    "generators_uncoloured": (_flip("python_generators", "coloured=True", "coloured=False"), {"test_coloured"}),
    "gevent_coloured": (_flip("gevent", "coloured=False", "coloured=True"), {"test_coloured"}),
    "virtual_threads_time_shared": (_flip("java_virtual", "hog_starves=True", "hog_starves=False"),
                                    {"test_hog_starves"}),
    "gil_lets_a_hog_starve": (_flip("python_threads", "hog_starves=False", "hog_starves=True"), {"test_hog_starves"}),
    "bool_as_str": (_flip("asyncio", "coloured=True", 'coloured="yes"'), {"test_coloured"}),
    "key_error_for_unknown": (changed(AXES_REF, [("        raise ValueError(", "        raise KeyError(")]),
                              {"test_an_unknown_runtime_raises_value_error"}),
    "message_without_the_names": (changed(AXES_REF, [('"unknown runtime %r, choose from %s" % (runtime, ", ".join(sorted(_KEY)))',
                                                      '"unknown runtime %r" % (runtime,)')]),
                                  {"test_an_unknown_runtime_raises_value_error"}),
    "the_same_dict_every_call": (changed(AXES_REF, [("    return dict(_KEY[runtime])", "    return _KEY[runtime]")]),
                                 {"test_each_call_returns_a_fresh_dict"}),
}

# Found by review: block_on shaped like Rust's futures::executor::block_on (it polls only its
# target), block_on that wakes on a timer and polls again, and a correct executor whose doorbell
# blocks in C (queue.SimpleQueue.get shows no Python wait frame to the test's watcher).
_BLOCK = """        task = self.spawn(future)
        while True:
            self.run_until_stalled()
            if task.finished:
                return task.result()
            with self.cond:
                while not self.ready:
                    self.cond.wait()
"""
POLL_WRONG["block_on_polls_only_its_target"] = (changed(POLL_REF, [(_BLOCK, """        task = JoinHandle(future)
        while True:
            task.polls += 1
            try:
                out = task.future.poll(Waker(self, task))
            except Exception as exc:
                task.error, task.finished = exc, True
            else:
                if isinstance(out, Ready):
                    task.outcome, task.finished = out.value, True
            if task.finished:
                return task.result()
            with self.cond:
                while not task.queued:
                    self.cond.wait()
                self.ready.remove(task)
                task.queued = False
""")]), {"test_block_on_runs_the_other_tasks"})
POLL_WRONG["timed_wait_repolls"] = (changed(POLL_REF, [(_BLOCK, """        task = self.spawn(future)
        while True:
            self.run_until_stalled()
            if task.finished:
                return task.result()
            with self.cond:
                if not self.ready:
                    self.cond.wait(0.05)
                if not self.ready and not task.queued:
                    task.queued = True          # the timer fired: poll it again anyway
                    self.ready.append(task)
""")]), {"test_block_on_sleeps_until_a_wake_from_another_thread"})
POLL_SIMPLEQUEUE = changed(POLL_REF, [
    ("            ex.ready.append(task)\n            ex.cond.notify()\n",
     "            ex.ready.append(task)\n            ex.cond.notify()\n            ex.bell.put(None)\n"),
    ("        self.cond = threading.Condition()\n",
     "        self.cond = threading.Condition()\n        self.bell = queue.SimpleQueue()\n"),
    ("import threading\n", "import queue\nimport threading\n"),
    ("            with self.cond:\n                while not self.ready:\n                    self.cond.wait()\n",
     "            while True:\n                with self.cond:\n                    if self.ready:\n                        break\n"
     "                self.bell.get()\n")])

SLOW = {("wake_without_notify", "poll_executor.py"), ("wake_during_poll_lost", "poll_executor.py")}

VARIANTS = (
    [("alt_countdown_deque", "reduction_scheduler.py", SCHED_ALT, None),
     ("ref_list_queue", "reduction_scheduler.py", SCHED_REF, None)]
    + [(n, "reduction_scheduler.py", src, must) for n, (src, must) in SCHED_WRONG.items()]
    + [("alt_event_doorbell", "poll_executor.py", POLL_ALT, None), ("ref_queued_flag", "poll_executor.py", POLL_REF, None),
       ("alt_simplequeue_doorbell", "poll_executor.py", POLL_SIMPLEQUEUE, None)]
    + [(n, "poll_executor.py", src, must) for n, (src, must) in POLL_WRONG.items()]
    + [("alt_by_axis", "runtime_axes.py", AXES_ALT, None), ("ref_table", "runtime_axes.py", AXES_REF, None)]
    + [(n, "runtime_axes.py", src, must) for n, (src, must) in AXES_WRONG.items()]
)

# The capstone's (12.4-12.7) variants live in their own file, as long as this one.
from variants_12_capstone import SLOW as CAPSTONE_SLOW, VARIANTS as CAPSTONE  # noqa: E402

SLOW = SLOW | CAPSTONE_SLOW
VARIANTS = VARIANTS + CAPSTONE
