"""Task 03.2: send all of a buffer through a non-blocking socket, waiting for write readiness.

On a non-blocking socket ``send`` takes what fits in the kernel's send buffer now and returns
how many bytes that was, which may be fewer than you gave it (a partial send); when nothing
fits it raises ``BlockingIOError``. ``socket.sendall`` cannot be used: on a non-blocking
socket it raises as soon as the buffer is full, and you no longer know how much was sent.
The right way to wait is to ask the kernel: register the socket for ``EVENT_WRITE`` and call
``select``, which returns once there is room again (可写就绪).

Rules the tests check:

- ``send_all(sock, data, sel)`` sends every byte of ``data`` (bytes, bytearray or memoryview),
  in order, and returns ``len(data)``; ``b""`` returns 0 at once.
- It waits only in ``sel.select()``, with no timeout (``sel.select()`` or
  ``sel.select(None)``), and only after a ``send`` did not take everything: no busy loop, no
  polling with a timeout of 0, no sleep.
- It watches ``sock`` for ``EVENT_WRITE`` only (it has nothing to read), and leaves ``sel``
  as it found it: what it registered it unregisters before returning, also when ``send``
  raises; other sockets registered in ``sel`` stay registered, untouched.
- An error other than ``BlockingIOError`` (the peer closed: ``BrokenPipeError``,
  ``ConnectionResetError``) propagates to the caller.
- ``sock`` stays non-blocking; the function never changes it to blocking.
"""

import selectors
import socket


def send_all(sock: socket.socket, data, sel: selectors.BaseSelector) -> int:
    """Send all of ``data`` through the non-blocking ``sock``, waiting in ``sel`` when it is full."""
    ### BEGIN SOLUTION
    view = memoryview(data).cast("B")     # slicing a memoryview copies nothing
    total = len(view)
    registered = False
    try:
        while view:
            try:
                sent = sock.send(view)
            except BlockingIOError:
                sent = 0
            view = view[sent:]
            if view:                      # the send buffer is full: wait until there is room
                if not registered:
                    sel.register(sock, selectors.EVENT_WRITE)
                    registered = True
                sel.select()
    finally:
        if registered:
            sel.unregister(sock)
    return total
    ### END SOLUTION
