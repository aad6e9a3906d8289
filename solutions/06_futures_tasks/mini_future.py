"""Task 06.1: a Future with asyncio's rules, that a real asyncio.Task can await.

A future (asyncio's Future, Lib/asyncio/futures.py) is a box for a result that is not there
yet, plus a list of callbacks to run when it arrives. Write `class Future` with the rules of
asyncio's pure-Python Future (read it at v3.11.9 or v3.15.0rc1). Use asyncio's exception
classes: asyncio.InvalidStateError and asyncio.CancelledError.

Future(loop)
  `loop` is any object with a method call_soon(callback, *args, context=None): an asyncio
  event loop, or the tests' small loop that runs callbacks pass by pass.

Rules, each one checked:
  1. A new future is pending: done() and cancelled() are False; get_loop() returns the loop.
  2. result() and exception() raise asyncio.InvalidStateError while the future is pending.
  3. set_result(value) makes it done: result() returns value, exception() returns None.
     set_exception(exc) (exc an exception instance) makes it done: result() raises exc (that
     very object), exception() returns it.
  4. set_result and set_exception raise asyncio.InvalidStateError when the future is already
     done (finished or cancelled); the first outcome stays.
  5. cancel(msg=None) on a pending future makes it done and cancelled and returns True; then
     result() and exception() raise asyncio.CancelledError (with args (msg,) when a msg was
     given). On a done future cancel() returns False and changes nothing.
  6. add_done_callback(fn, *, context=None) never calls fn itself. When the future becomes
     done (set_result, set_exception or cancel), each callback is handed to
     loop.call_soon(fn, self, context=context) - with the context it was added with -
     in the order the callbacks were added (one added twice is scheduled twice), and the list
     is emptied. A callback added to a future that is already done is scheduled at once, the
     same way. So callbacks run in the loop's next pass, never inside set_result.
  7. remove_done_callback(fn) removes every registration of fn that is still waiting and
     returns how many it removed (0 if none); a removed callback is never scheduled.
  8. __await__ (and __iter__, the same method, for `yield from`): on a pending future it sets
     self._asyncio_future_blocking = True and yields the future itself - that is how a Task
     knows it must wait (the handshake of Lib/asyncio/tasks.py: Task.__step). When resumed it
     returns result() (which raises for an exception or a cancellation); resumed while still
     pending, it raises RuntimeError. On a future that is already done it does not yield at
     all: `await fut` returns (or raises) at once.
  Together these let a real asyncio.Task, on asyncio's own loop, await your Future.
"""

import asyncio


class Future:
    """A result that is not there yet, and the callbacks waiting for it."""

    # Class attribute, as in asyncio: tasks look for it with getattr, and __await__ sets it on
    # the instance to say "this yield means: wake me when I am done".
    _asyncio_future_blocking = False

    def __init__(self, loop):
        ### BEGIN SOLUTION 06.1
        self._loop = loop
        self._state = "PENDING"                  # -> "FINISHED" or "CANCELLED", once
        self._result = None
        self._exception = None
        self._cancel_message = None
        self._callbacks = []                     # (fn, context), in the order added
        ### END SOLUTION

    def get_loop(self):
        """The loop this future schedules its callbacks on."""
        ### BEGIN SOLUTION 06.1
        return self._loop
        ### END SOLUTION

    def done(self):
        """True once a result or an exception is set, or the future was cancelled."""
        ### BEGIN SOLUTION 06.1
        return self._state != "PENDING"
        ### END SOLUTION

    def cancelled(self):
        """True if the future was cancelled."""
        ### BEGIN SOLUTION 06.1
        return self._state == "CANCELLED"
        ### END SOLUTION

    def result(self):
        """The result; raises the exception set, CancelledError, or InvalidStateError while pending."""
        ### BEGIN SOLUTION 06.1
        if self._state == "CANCELLED":
            args = () if self._cancel_message is None else (self._cancel_message,)
            raise asyncio.CancelledError(*args)
        if self._state == "PENDING":
            raise asyncio.InvalidStateError("Result is not ready.")
        if self._exception is not None:
            raise self._exception
        return self._result
        ### END SOLUTION

    def exception(self):
        """The exception set (None if a result was set); CancelledError or InvalidStateError otherwise."""
        ### BEGIN SOLUTION 06.1
        if self._state == "CANCELLED":
            args = () if self._cancel_message is None else (self._cancel_message,)
            raise asyncio.CancelledError(*args)
        if self._state == "PENDING":
            raise asyncio.InvalidStateError("Exception is not set.")
        return self._exception
        ### END SOLUTION

    def set_result(self, result):
        """Finish with a result and schedule the callbacks."""
        ### BEGIN SOLUTION 06.1
        if self._state != "PENDING":
            raise asyncio.InvalidStateError(f"{self._state}: cannot set a result")
        self._result, self._state = result, "FINISHED"
        self._schedule_callbacks()
        ### END SOLUTION

    def set_exception(self, exception):
        """Finish with an exception and schedule the callbacks."""
        ### BEGIN SOLUTION 06.1
        if self._state != "PENDING":
            raise asyncio.InvalidStateError(f"{self._state}: cannot set an exception")
        self._exception, self._state = exception, "FINISHED"
        self._schedule_callbacks()
        ### END SOLUTION

    def cancel(self, msg=None):
        """Cancel a pending future (True) - a done one stays as it is (False)."""
        ### BEGIN SOLUTION 06.1
        if self._state != "PENDING":
            return False
        self._state, self._cancel_message = "CANCELLED", msg
        self._schedule_callbacks()
        return True
        ### END SOLUTION

    def add_done_callback(self, fn, *, context=None):
        """Have fn(self) run by the loop once the future is done (at once if it is)."""
        ### BEGIN SOLUTION 06.1
        if self._state != "PENDING":
            self._loop.call_soon(fn, self, context=context)
        else:
            self._callbacks.append((fn, context))
        ### END SOLUTION

    def remove_done_callback(self, fn):
        """Remove every waiting registration of fn; return how many were removed."""
        ### BEGIN SOLUTION 06.1
        kept = [(f, ctx) for f, ctx in self._callbacks if f != fn]
        removed = len(self._callbacks) - len(kept)
        self._callbacks = kept
        return removed
        ### END SOLUTION

    def __await__(self):
        ### BEGIN SOLUTION 06.1
        if not self.done():
            self._asyncio_future_blocking = True
            yield self                           # the Task sees the flag and waits for us
        if not self.done():
            raise RuntimeError("await wasn't used with future")
        return self.result()
        ### END SOLUTION

    __iter__ = __await__

    def _schedule_callbacks(self):
        """Hand every waiting callback to the loop, in order, and empty the list."""
        ### BEGIN SOLUTION 06.1
        # Hand the callbacks to the loop instead of calling them: a callback that completes
        # another future, or adds a callback, then never runs inside set_result (no
        # re-entrancy, no deep recursion), and every callback runs in the loop's next pass, in
        # the order it was added (futures.py: Future.__schedule_callbacks).
        callbacks, self._callbacks = self._callbacks, []
        for fn, ctx in callbacks:
            self._loop.call_soon(fn, self, context=ctx)
        ### END SOLUTION
