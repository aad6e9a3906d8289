"""Task 12.2: a Rust-style poll/waker executor (轮询 poll 与唤醒器 waker).

A Rust future does nothing until an executor polls it: std::future::Future::poll(self, cx)
returns Poll::Ready(value) or Poll::Pending, and a future that returns Pending must first
arrange for cx.waker().wake() to be called when it can make progress (library/core/src/
future/future.rs and library/core/src/task/wake.rs, Rust 1.83). The executor then polls only
the tasks whose wakers were called: an idle task costs nothing, and an executor with nothing
ready sleeps until a wake arrives. This module is that contract in Python.

Given (not yours to write):
  PENDING        the module-level sentinel a poll returns when it is not finished.
  Ready(value)   what a poll returns when it is finished; the value is Ready(v).value.

A future is any object with a method poll(waker) that returns Ready(v) or PENDING. Write:

Waker
  wake(): mark its task ready to be polled again. Thread-safe: any thread may call it, and a
  wake from another thread wakes an executor blocked in block_on. Waking a finished task does
  nothing; two wakes (or more) before the task's next poll give ONE poll. A wake during the
  task's own poll counts: the task is polled again.

PollExecutor()
  spawn(future) -> JoinHandle: add a task; it is polled for the first time by the next
    run_until_stalled() or block_on() (spawn itself polls nothing).
  run_until_stalled(): poll ready tasks, each with its own Waker, until none is ready; then
    return None (tasks still pending stay pending, and are not polled again until woken).
  block_on(future) -> value: spawn `future`, run every ready task, and when nothing is ready
    and `future` is still pending, wait on a threading.Condition (or on what is built on one:
    threading.Event, queue.Queue) until a wake() arrives - never poll a task that was not
    woken, never loop on a timeout. Return its value; if its poll raised, raise that exception.

JoinHandle
  done() -> bool: the task's future returned Ready, or its poll raised.
  result(): its value; the exception its poll raised, raised again; RuntimeError if the task
    is not done yet.
  polls: how many times the task's future has been polled.
A poll that raises finishes that task (it is never polled again); other tasks run on.

join_all(futures) -> a future whose value is the list of the futures' values, in the order
  given. Its first poll polls every child; after that it re-polls only the children that were
  woken, each child being given a Waker of its own whose wake() marks that child and wakes
  the join_all's waker. A child that is Ready is never polled again; a child whose poll raises
  makes the join_all's poll raise it. join_all([]) is Ready([]) at its first poll.

    >>> class After:                 # Pending once, Ready after its waker is called
    ...     def __init__(self): self.waker = None
    ...     def poll(self, waker):
    ...         if self.waker is None:
    ...             self.waker = waker
    ...             return PENDING
    ...         return Ready("done")
    >>> ex = PollExecutor()
    >>> f = After(); h = ex.spawn(f)
    >>> ex.run_until_stalled(); h.done(), h.polls
    (False, 1)
    >>> f.waker.wake(); f.waker.wake(); ex.run_until_stalled(); h.result(), h.polls
    ('done', 2)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Iterable


class _Pending:
    def __repr__(self) -> str:
        return "PENDING"


PENDING = _Pending()


class Ready:
    """A finished poll: the value is .value."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Ready({self.value!r})"


class Waker:
    """Handed to poll(); wake() asks for another poll of the task it belongs to."""

    def __init__(self, executor: "PollExecutor", task: "JoinHandle") -> None:
        ### BEGIN SOLUTION 12.2
        self._executor = executor
        self._task = task
        ### END SOLUTION

    def wake(self) -> None:
        """Schedule the task for one more poll (thread-safe; a finished task ignores it)."""
        ### BEGIN SOLUTION 12.2
        self._executor._schedule(self._task)
        ### END SOLUTION


class JoinHandle:
    """A spawned task: done(), result(), and how many times it was polled."""

    def __init__(self, future: Any) -> None:
        ### BEGIN SOLUTION 12.2
        self.future = future
        self.polls = 0
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None
        ### END SOLUTION

    def done(self) -> bool:
        ### BEGIN SOLUTION 12.2
        return self._done
        ### END SOLUTION

    def result(self) -> Any:
        ### BEGIN SOLUTION 12.2
        if not self._done:
            raise RuntimeError("the task is still pending: result() needs a finished task")
        if self._error is not None:
            raise self._error
        return self._value
        ### END SOLUTION


class PollExecutor:
    """Polls tasks only when they were woken; block_on sleeps on a Condition meanwhile."""

    def __init__(self) -> None:
        ### BEGIN SOLUTION 12.2
        self._cond = threading.Condition()
        self._ready: OrderedDict[int, JoinHandle] = OrderedDict()   # an ordered set: one entry per task
        ### END SOLUTION

    def _schedule(self, task: JoinHandle) -> None:
        """Put `task` in the ready queue once (Waker.wake and spawn call this)."""
        ### BEGIN SOLUTION 12.2
        with self._cond:
            if not task._done and id(task) not in self._ready:
                self._ready[id(task)] = task
                self._cond.notify_all()
        ### END SOLUTION

    def _poll(self, task: JoinHandle) -> None:
        """Poll `task` once with a fresh Waker, and record what came of it."""
        ### BEGIN SOLUTION 12.2
        task.polls += 1
        try:
            outcome = task.future.poll(Waker(self, task))
        except Exception as exc:
            task._error, task._done = exc, True
            return
        if isinstance(outcome, Ready):
            task._value, task._done = outcome.value, True
        elif outcome is not PENDING:
            task._error = TypeError(f"poll() must return Ready(value) or PENDING, not {outcome!r}")
            task._done = True
        ### END SOLUTION

    def spawn(self, future: Any) -> JoinHandle:
        ### BEGIN SOLUTION 12.2
        task = JoinHandle(future)
        self._schedule(task)
        return task
        ### END SOLUTION

    def run_until_stalled(self) -> None:
        ### BEGIN SOLUTION 12.2
        while True:
            with self._cond:
                if not self._ready:
                    return
                _, task = self._ready.popitem(last=False)
            self._poll(task)
        ### END SOLUTION

    def block_on(self, future: Any) -> Any:
        ### BEGIN SOLUTION 12.2
        task = self.spawn(future)
        while True:
            self.run_until_stalled()
            if task._done:
                return task.result()
            with self._cond:
                while not self._ready:
                    self._cond.wait()
        ### END SOLUTION


def join_all(futures: Iterable[Any]) -> Any:
    """A future of the list of the futures' values, re-polling only the children woken."""
    ### BEGIN SOLUTION 12.2
    return _JoinAll(list(futures))


class _ChildWaker:
    def __init__(self, join: "_JoinAll", index: int) -> None:
        self._join, self._index = join, index

    def wake(self) -> None:
        join = self._join
        with join._lock:
            join._woken.add(self._index)
            parent = join._parent
        if parent is not None:
            parent.wake()


class _JoinAll:
    def __init__(self, children: list[Any]) -> None:
        self._children = children
        self._values: list[Any] = [None] * len(children)
        self._left = set(range(len(children)))
        self._woken = set(range(len(children)))      # the first poll polls every child
        self._lock = threading.Lock()
        self._parent: Any = None

    def poll(self, waker: Any) -> Any:
        with self._lock:
            self._parent = waker
            woken, self._woken = self._woken & self._left, set()
        for i in sorted(woken):
            outcome = self._children[i].poll(_ChildWaker(self, i))
            if isinstance(outcome, Ready):
                self._values[i] = outcome.value
                self._left.discard(i)
        if not self._left:
            return Ready(list(self._values))
        return PENDING
    ### END SOLUTION
