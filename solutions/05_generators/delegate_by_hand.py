"""Task 05.2: write `yield from` by hand, following PEP 380's formal semantics.

    def ref(sub):
        return (yield from sub)

Write delegate(sub), a generator function that behaves exactly like ref(sub) for the code
that drives it, WITHOUT using `yield from` (or await) anywhere in this file. "Exactly" means
the same values yielded, the same return value (StopIteration.value), the same exceptions
(type and args) raised to the driver, and the same calls made on `sub`. These are the rules of
PEP 380 ("Formal Semantics", the expansion of RESULT = yield from EXPR), each one checked:

  1. iter(sub) is called first, so `sub` may be any iterable (a list, a generator, an object
     with __iter__/__next__); the iterator is then started with next(), not send(None).
  2. Every value the iterator yields is yielded to the driver, unchanged.
  3. A value the driver sends is passed on: next(iterator) when it is None, iterator.send(v)
     otherwise (an iterator without a send method then raises AttributeError, as the real
     yield from does).
  4. An exception thrown into the delegator (other than GeneratorExit) is passed to the
     iterator's throw(); if the iterator has no throw method, the exception is raised in the
     delegator itself (and the iterator is left alone: not closed).
  5. GeneratorExit thrown in, or close() called on the delegator: the iterator's close() is
     called, if it has one, and then GeneratorExit is raised in the delegator. If close()
     raises, that exception propagates instead.
  6. When the iterator finishes (StopIteration from next, send or throw), the delegation is
     over and StopIteration.value is the value of the whole thing: delegate returns it.
  7. Any other exception the iterator raises (from next, send, throw or close) propagates out
     of the delegator unchanged.

(The PEP's expansion is written against sys.exc_info(); a modern version passes the
exception object to throw(): `iterator.throw(exc)`.)
"""


def delegate(sub):
    """The same as `return (yield from sub)`, written without yield from."""
    ### BEGIN SOLUTION 05.2
    iterator = iter(sub)
    try:
        item = next(iterator)
    except StopIteration as stop:
        return stop.value
    while True:
        try:
            sent = yield item
        except GeneratorExit:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            raise
        except BaseException as exc:
            throw = getattr(iterator, "throw", None)
            if throw is None:
                raise
            try:
                item = throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                item = next(iterator) if sent is None else iterator.send(sent)
            except StopIteration as stop:
                return stop.value
    ### END SOLUTION
