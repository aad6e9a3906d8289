"""Task 06.2: a Task that drives a coroutine, step by step, as asyncio's Task does.

A Task (asyncio's Task, Lib/asyncio/tasks.py) runs a coroutine: it sends it None to run it to
its next yield, looks at what was yielded, and arranges to be called again. Write
`class Task(asyncio.Future)`. The base is asyncio's own Future on purpose: the future side
(result, exception, callbacks, await) is given and correct, so this task is only the driving.
Finish the task through the base class: super().set_result(value),
super().set_exception(exc), super().cancel().

The invariant to keep is the one in the comment at the top of class Task in tasks.py
(v3.11.9; the same in v3.15.0rc1):

    # An important invariant maintained while a Task not done:
    # _fut_waiter is either None or a Future.  The Future
    # can be either done() or not done().
    # The task can be in any of 3 states:
    #
    # - 1: _fut_waiter is not None and not _fut_waiter.done():
    #      __step() is *not* scheduled and the Task is waiting for _fut_waiter.
    # - 2: (_fut_waiter is None or _fut_waiter.done()) and __step() is scheduled:
    #       the Task is waiting for __step() to be executed.
    # - 3:  _fut_waiter is None and __step() is *not* scheduled:
    #       the Task is currently executing (in __step()).

Task(coro, *, loop)
  `loop` is an object with call_soon(callback, *args, context=None) and get_debug() (what
  asyncio.Future needs): asyncio's loop or the tests' loop, which runs callbacks pass by pass.

Rules, each one checked (a "step" runs the coroutine once, with send or throw):
  1. Task(coro, loop=loop) does not run the coroutine: it schedules the first step with
     loop.call_soon, so the coroutine starts in the loop's next pass.
  2. A step sends None into the coroutine, or throws the exception it was given.
  3. When the coroutine yields a future (an object whose _asyncio_future_blocking attribute
     is True - that is what Future.__await__ yields), set that attribute back to False and
     call future.add_done_callback(wakeup) once; no step is scheduled. wakeup(future) runs the
     step at once, in the same callback: so the coroutine resumes in the pass after the one
     that completed the future. wakeup sends None if the future has a result, and throws
     future's exception into the coroutine if it has one (the same object) or a
     CancelledError if it was cancelled (tasks.py: Task.__wakeup calls future.result()).
  4. When the coroutine yields None (a bare `yield`, as in `await asyncio.sleep(0)`), the
     next step is scheduled with call_soon: it resumes in the next pass.
  5. When it yields anything else, the next step is scheduled to throw a RuntimeError into
     the coroutine (asyncio says "Task got bad yield: ..."): the coroutine gets the error in
     the next pass, and may catch it and go on.
  6. When the coroutine returns, the task's result is set to the return value (StopIteration
     .value); when it raises an exception, that exception is set on the task (the same
     object); when a CancelledError leaves the coroutine, the task is cancelled.
  7. cancel(msg=None) returns False on a done task and True otherwise. If the task is waiting
     for a future (state 1), it cancels that future: its wakeup then throws the CancelledError
     into the coroutine. Otherwise (state 2: a step is scheduled, the first one included, or
     the awaited future is already done) it sets a flag, and the next step throws a
     CancelledError into the coroutine instead of what it would have sent or thrown.
  8. Cancellation is a request: a coroutine that catches the CancelledError and returns a
     value ends the task with that result (not cancelled); one that lets it propagate ends it
     cancelled.
"""

import asyncio


class Task(asyncio.Future):
    """Drive `coro` on `loop` to its end; the task is the future of its result."""

    def __init__(self, coro, *, loop):
        super().__init__(loop=loop)
        ### BEGIN SOLUTION 06.2
        self._coro = coro
        self._fut_waiter = None          # the future we wait for (state 1), else None
        self._must_cancel = False        # cancel() came while a step was scheduled (state 2)
        self._cancel_msg = None
        loop.call_soon(self._step)       # lazy: the coroutine starts in the next pass
        ### END SOLUTION

    def cancel(self, msg=None):
        """Ask the coroutine to stop: a CancelledError is thrown into it (see rule 7)."""
        ### BEGIN SOLUTION 06.2
        if self.done():
            return False
        if self._fut_waiter is not None and self._fut_waiter.cancel(msg=msg):
            # State 1: the waiter's callbacks (our _wakeup) run next pass and throw the
            # CancelledError that its result() raises.
            return True
        # State 2 (or the waiter was already done): the next step delivers it.
        self._must_cancel = True
        self._cancel_msg = msg
        return True
        ### END SOLUTION

    def _step(self, exc=None):
        """Run the coroutine to its next yield (send None, or throw exc) and act on what it yields."""
        ### BEGIN SOLUTION 06.2
        if self._must_cancel:
            if not isinstance(exc, asyncio.CancelledError):
                args = () if self._cancel_msg is None else (self._cancel_msg,)
                exc = asyncio.CancelledError(*args)      # instead of what we would have sent
            self._must_cancel = False
        self._fut_waiter = None                          # state 3: running
        try:
            result = self._coro.send(None) if exc is None else self._coro.throw(exc)
        except StopIteration as stop:
            super().set_result(stop.value)
        except asyncio.CancelledError:
            super().cancel()
        except BaseException as error:                   # noqa: BLE001 - it belongs to the task
            super().set_exception(error)
        else:
            blocking = getattr(result, "_asyncio_future_blocking", None)
            if blocking:                                 # a future from Future.__await__
                result._asyncio_future_blocking = False
                result.add_done_callback(self._wakeup)
                self._fut_waiter = result                # state 1
                if self._must_cancel and result.cancel(msg=self._cancel_msg):
                    self._must_cancel = False            # cancel() ran inside this step
            elif result is None:                         # bare yield: one pass off
                self._loop.call_soon(self._step)
            else:
                self._loop.call_soon(self._step, RuntimeError(f"Task got bad yield: {result!r}"))
        ### END SOLUTION

    def _wakeup(self, future):
        """The awaited future is done: step at once, sending None or throwing its exception."""
        ### BEGIN SOLUTION 06.2
        try:
            future.result()
        except BaseException as exc:                     # noqa: BLE001 - handed to the coroutine
            self._step(exc)
        else:
            self._step()
        ### END SOLUTION
