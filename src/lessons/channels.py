"""Go's channels built twice in Python: on threads, and on the course's event loop.

Design essay
============

Hoare's "Communicating Sequential Processes" (CACM 21(8), 1978) has processes that share
nothing and talk only by input and output commands, ``P!x`` and ``Q?y``; a command waits until
its partner is ready, and the two happen together (a *rendezvous*). A guarded command waits on
several inputs at once and takes whichever partner comes first. Go took both ideas: a channel
is the meeting place, ``select`` is the guarded command, and the slogan "do not communicate by
sharing memory; share memory by communicating" (Effective Go) says what it is for. This module
builds Go's channels twice with one set of rules: ``Chan`` and ``select`` for threads, and
``AsyncChan`` and ``aselect`` for coroutines on an asyncio loop (the course's ``eventloop.Loop``
or asyncio's own). Each rule below names the function of Go 1.27's runtime it copies
(``src/runtime/chan.go`` and ``src/runtime/select.go``) and the Go spec's sentence it obeys.

The channel (Go: ``struct hchan``, made by ``makechan``). A buffer of at most ``cap`` values
(``hchan.buf``, a ring; here a deque), a flag ``closed``, and two FIFO queues of parked
parties, ``recvq`` and ``sendq`` (``waitq``, a linked list of ``sudog``s: "pseudo-g", one entry
per goroutine per channel it waits on). A sudog here is ``_Sudog(waiter, index, value)``: who
waits, for which case of its select, and for a sender the value it offers. ``cap < 0`` raises
ValueError (makechan panics "makechan: size out of range").

The rules, each tried *without waiting* first (the spec: "if the capacity is zero or absent,
the channel is unbuffered and communication succeeds only when both a sender and receiver are
ready"):

- **send** (``chansend``): on a closed channel raise ``Closed("send on closed channel")`` (Go
  panics: the spec's "sending to or closing a closed channel causes a run-time panic"). Else if
  a receiver is parked, give the value straight to the first one (``send``/``sendDirect``: the
  value skips the buffer, even a buffered channel's, and the receiver is woken). Else if the
  buffer has room, append to it. Else park in ``sendq``.
- **recv** (``chanrecv``; in ``selectgo``'s order): if a sender is parked, take from it: on an
  unbuffered channel its value directly (``recvDirect``), on a full buffered one the buffer's
  head, while the sender's value goes to the tail (``recv``: FIFO holds across the hand-off).
  Else if the buffer holds values, take the head. Else if the channel is closed, return
  ``(None, False)``: the spec's "a receive operation on a closed channel can always proceed
  immediately, yielding the element type's zero value after any previously sent values have
  been received" (Python has no zero value: None, or the channel's ``zero=``, so that
  ``Chan(3, zero=0)`` is ``make(chan int, 3)``). Else park in ``recvq``.
- **close** (``closechan``): closing twice raises ``Closed("close of closed channel")``. Else
  mark it closed and wake *every* parked receiver (they get ``(None, False)``) and every parked
  sender (``sg.success = false``: they raise Closed, "release all writers (they will panic)").

Waking is completing: the party that finds a partner does the whole exchange and then wakes the
partner with the result (Go sets ``sg.success`` and ``gp.param`` and calls ``goready``). A
woken party never retries, so each parked operation is released exactly once, and the queues
are FIFO (``waitq.enqueue`` at the tail, ``dequeue`` at the head), so parked senders go in the
order they came.

select (``selectgo``). Three passes, as in Go:

1. **Poll in a random order.** ``pollorder`` is a shuffle made one case at a time: case ``i``
   goes to position ``j = cheaprandn(i + 1)`` and the case there moves to the end (an "inside
   out" Fisher-Yates). The first ready case in that order wins, so among the ready cases each is
   picked with the same probability (the spec: "a single one that can proceed is chosen via a
   uniform pseudo-random selection"). Here the dice are ``rng.randrange(i + 1)``, and ``rng``
   can be passed in, so a test can fix it. A send case on a closed channel counts as ready and
   raises (``sclose``).
2. **Nothing ready:** with ``default=True`` return ``(-1, None, False)`` at once; that is Go's
   ``block=false`` path (``if !block { selunlock; casi = -1 }``; the compiler turns a select
   with one case and a default into ``selectnbsend``/``selectnbrecv``, which call
   ``chansend``/``chanrecv`` with ``block=false``). Otherwise park one sudog on *every* channel
   of the select, all pointing at one waiter, and sleep.
3. **Woken:** exactly one case completed us. Take our sudogs off the other channels' queues
   (pass 3, ``dequeueSudoG``: "otherwise they stack up on quiet channels").

The race in pass 3. A select parked on ``a`` and ``b`` can be found by a sender on ``a`` and a
sender on ``b`` at the same moment, each holding only its own channel's lock. Go settles it
with a compare-and-swap: a sudog with ``isSelect`` set is taken only by whoever flips the
goroutine's ``selectDone`` from 0 to 1; the loser drops that sudog and looks at the next one in
the queue (``waitq.dequeue``: "We lost the race to wake this goroutine"). Here every waiter has
``claim()``, which succeeds once: for threads a ``threading.Lock`` taken with
``acquire(blocking=False)`` (an atomic test-and-set), on the loop "its future is not done yet"
(one thread, so nothing can come between the test and the ``set_result`` that follows it). A
lone send or receive is a select with one case and no default, so plain operations claim too;
Go writes the same checks twice (in ``chansend``/``chanrecv`` and again inline in
``selectgo``), this module once (``_Core._poll_send``, ``_Core._poll_recv``, ``_Core._close``).

Locks, for threads. One lock per channel, as Go's ``hchan.lock``. ``select`` must hold the
locks of all its channels while it polls and parks, or a value could arrive between the poll
and the park and nobody would wake it; two selects that take the same two locks in opposite
orders could deadlock, so ``sellock`` takes them sorted by channel address (``sortkey``, a heap
sort into ``lockorder``) and each channel once. Here: sorted by ``id()``, CPython's address. A
single global lock would be simpler (no order, no claim: whoever holds it could take a waiter
off all its queues at once), but it would serialise every channel of the program, and it is
not how Go works. A parked thread sleeps on its waiter's ``threading.Event``; the channel's
lock is a ``Condition`` only so that ``wait_blocked`` (a teaching and testing aid, no Go
equivalent but a goroutine dump's "chan send" state) can wait until parties are parked.

On the loop. One thread runs everything, so there are no locks: nothing can happen between two
lines that do not ``await``. A parked coroutine awaits an asyncio Future, which is its waiter;
``set_result`` wakes it. Go has no cancellation, asyncio has, and it needs two rules so that a
value is never lost or delivered twice: a task cancelled while parked takes its sudogs off
every queue before the CancelledError leaves (and a cancelled future can no longer be claimed,
so nobody hands it a value in between); and a task cancelled *after* a partner completed its
operation (the future already has its result when ``task.cancel()`` comes, so asyncio throws
CancelledError into the coroutine anyway) keeps the operation: the value is returned, and the
cancellation is requested again, to arrive at the task's next ``await`` (``uncancel`` then
``cancel`` keeps the task's cancel count as it was). That is trio's rule: an operation either
happens or is cancelled, never both. ``AsyncChan`` belongs to one loop: it is not thread-safe.

What is not modelled: nil channels (a nil channel blocks forever; a select skips a nil case:
Go programs nil a closed channel out of a select, the Python demos remove its case instead);
element types (``zero=`` stands in for a type's zero value); directions (``chan<-``,
``<-chan``); copying (Go copies the element into the buffer or onto the receiver's stack,
``typedmemmove``; Python passes a reference, so a list mutated after a send is seen by the
receiver); Go's lock-free fast paths for a failed non-blocking operation (``!block &&
empty(c)``: here every operation takes the lock); ``select {}`` with no cases (it blocks
forever in Go, ``block()``; here ValueError); the deadlock detector ("all goroutines are
asleep - deadlock!": here a program just hangs, so the demos join with a timeout); timer
channels, synctest bubbles, the race detector's hooks; the order in which ``closechan``
readies the parties it wakes (a ``gList`` stack: reverse order; nothing observable depends on
it).

Demos (each returns plain data, and runs ``on="threads"`` or ``on="loop"``, the course's
``eventloop.Loop`` through ``aiorun.run``): ``ping_pong``, ``sieve`` (the pipeline; also
``pipeline``), ``buffered_then_closed``, ``select_with_default``, ``fan_in`` and
``rendezvous_trace``. The first four are the programs of ``lessons/go/channels.go`` and return
what it prints (``lessons.golang.run("channels")``, one JSON object), on threads and on the loop
alike; ``fan_in``'s interleaving varies from run to run, and ``rendezvous_trace`` needs a look
inside the channel ("the sender is parked") that Go does not give.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import threading
from typing import Any, Awaitable, Callable, Iterator, Literal, Sequence

from lessons import aiorun
from lessons.eventloop import Loop

__all__ = [
    "Chan", "AsyncChan", "Closed", "select", "aselect", "go",
    "ping_pong", "sieve", "pipeline", "buffered_then_closed", "select_with_default", "fan_in",
    "rendezvous_trace",
]

Result = tuple[int, Any, bool]      # (index of the case that ran, value received, ok)
_rng = random.Random()              # the dice when no rng is passed (Go: cheaprandn)


class Closed(RuntimeError):
    """A send on a closed channel, or a second close: Go panics with the same message."""


# ---------------------------------------------------------------------- waiters and sudogs

class _ThreadWaiter:
    """A parked thread (Go: a g in gopark). ``claim()`` succeeds once: selectDone's CAS."""

    def __init__(self) -> None:
        self._claimed = threading.Lock()
        self._woken = threading.Event()
        self.result: Result = (-1, None, False)

    def claim(self) -> bool:
        return self._claimed.acquire(blocking=False)    # an atomic test-and-set

    def claimed(self) -> bool:
        return self._claimed.locked()

    def wake(self, result: Result) -> None:
        self.result = result
        self._woken.set()                               # Go: goready(gp)

    def wait(self) -> Result:
        self._woken.wait()
        return self.result


class _LoopWaiter:
    """A parked coroutine: a Future on the running loop. Claimable while the future is pending."""

    def __init__(self) -> None:
        self.future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()

    def claim(self) -> bool:
        return not self.future.done()       # a cancelled future is done: nobody can claim it

    def claimed(self) -> bool:
        return self.future.done()

    def wake(self, result: Result) -> None:
        self.future.set_result(result)


class _Sudog:
    """One waiter parked on one channel (Go: sudog): for case ``index``, offering ``value``."""

    __slots__ = ("waiter", "index", "value")

    def __init__(self, waiter: Any, index: int, value: Any = None) -> None:
        self.waiter, self.index, self.value = waiter, index, value


def _dequeue(queue: collections.deque[_Sudog]) -> _Sudog | None:
    """The first waiter we win, or None (waitq.dequeue: a lost claim drops the sudog)."""
    while queue:
        sudog = queue.popleft()
        if sudog.waiter.claim():
            return sudog
    return None


# ---------------------------------------------------------------------- the rules, once

class _Core:
    """The state and the rules of a channel (Go: hchan), shared by Chan and AsyncChan.

    The ``_poll_*`` methods never wait: they do the operation and return True, or return False
    when it would have to park. The caller holds the channel's lock (threads)."""

    def __init__(self, cap: int = 0, zero: Any = None) -> None:
        if cap < 0:
            raise ValueError("makechan: size out of range")
        self._cap = cap
        self._zero = zero                   # what a receive on a closed, drained channel gets
        self._buf: collections.deque[Any] = collections.deque()
        self._recvq: collections.deque[_Sudog] = collections.deque()
        self._sendq: collections.deque[_Sudog] = collections.deque()
        self._closed = False

    @property
    def cap(self) -> int:
        """The buffer's size (Go: cap(ch)); 0 for an unbuffered channel."""
        return self._cap

    def _poll_send(self, value: Any) -> bool:
        # chansend, up to "if !block"
        if self._closed:
            raise Closed("send on closed channel")
        receiver = _dequeue(self._recvq)
        if receiver is not None:                            # send: straight to the receiver
            receiver.waiter.wake((receiver.index, value, True))
            return True
        if len(self._buf) < self._cap:                      # room in the buffer
            self._buf.append(value)
            return True
        return False

    def _poll_recv(self) -> tuple[bool, Any, bool]:
        # chanrecv, up to "if !block", in selectgo's order; returns (done, value, ok)
        sender = _dequeue(self._sendq)
        if sender is not None:                              # recv: a sender is parked
            if self._cap == 0:
                value = sender.value                        # recvDirect
            else:                                           # full: head out, sender's value in
                value = self._buf.popleft()
                self._buf.append(sender.value)
            sender.waiter.wake((sender.index, None, True))
            return True, value, True
        if self._buf:
            return True, self._buf.popleft(), True
        if self._closed:                                    # closed and drained
            return True, self._zero, False
        return False, None, False

    def _close(self) -> None:
        # closechan: release all readers, then all writers (they will raise)
        if self._closed:
            raise Closed("close of closed channel")
        self._closed = True
        for queue in (self._recvq, self._sendq):
            while (sudog := _dequeue(queue)) is not None:
                sudog.waiter.wake((sudog.index, self._zero, False))

    def _park(self, sudog: _Sudog, sending: bool) -> None:
        (self._sendq if sending else self._recvq).append(sudog)    # waitq.enqueue: the tail

    def _unpark(self, sudog: _Sudog, sending: bool) -> None:
        with contextlib.suppress(ValueError):                      # already dequeued
            (self._sendq if sending else self._recvq).remove(sudog)

    def _blocked(self) -> tuple[int, int]:
        return (sum(not s.waiter.claimed() for s in self._sendq),
                sum(not s.waiter.claimed() for s in self._recvq))

    def _describe(self) -> str:
        senders, receivers = self._blocked()
        return (f"<{type(self).__name__} cap={self._cap} len={len(self._buf)} closed={self._closed}"
                f" parked senders={senders} receivers={receivers}>")


# ---------------------------------------------------------------------- select's passes, once

Op = tuple[bool, Any, Any]      # (is_send, channel, value)


def _parse(cases: Sequence[tuple[Any, ...]], kind: type, default: bool) -> list[Op]:
    ops: list[Op] = []
    for case in cases:
        what, ch, *rest = case
        if not isinstance(ch, kind):
            raise TypeError(f"{case!r}: expected a {kind.__name__} (nil channels are not modelled)")
        if what == "send" and len(rest) == 1:
            ops.append((True, ch, rest[0]))
        elif what == "recv" and not rest:
            ops.append((False, ch, None))
        else:
            raise ValueError(f"{case!r}: a case is ('send', ch, value) or ('recv', ch)")
    if not ops and not default:
        raise ValueError("select with no cases and no default blocks forever (Go: select {})")
    return ops


def _pollorder(n: int, rng: random.Random) -> list[int]:
    """selectgo's shuffle, one case at a time::

        j := cheaprandn(uint32(norder + 1)); pollorder[norder] = pollorder[j]; pollorder[j] = i
    """
    order: list[int] = []
    for i in range(n):
        j = rng.randrange(i + 1)
        order.append(i)
        order[i], order[j] = order[j], i
    return order


def _pass1(ops: list[Op], order: list[int]) -> Result | None:
    """Look for a case that can go now, in poll order; do it. None when none can."""
    for i in order:
        sending, ch, value = ops[i]
        if sending:
            if ch._poll_send(value):
                return i, None, False
        else:
            done, got, ok = ch._poll_recv()
            if done:
                return i, got, ok
    return None


def _pass2(ops: list[Op], waiter: Any) -> list[tuple[Any, _Sudog, bool]]:
    """Park one sudog per case, all for the same waiter (Go: sg.isSelect = true).

    Go walks ``lockorder`` here; the order is not observable, so this walks the cases."""
    parked = []
    for i, (sending, ch, value) in enumerate(ops):
        sudog = _Sudog(waiter, i, value)
        ch._park(sudog, sending)
        parked.append((ch, sudog, sending))
    return parked


def _pass3(parked: list[tuple[Any, _Sudog, bool]]) -> None:
    """Take our sudogs off every queue they are still on (dequeueSudoG)."""
    for ch, sudog, sending in parked:
        ch._unpark(sudog, sending)


def _outcome(ops: list[Op], result: Result) -> Result:
    """A woken case's result as select returns it; a sender woken by close raises (sclose)."""
    index, value, success = result
    if ops[index][0]:
        if not success:
            raise Closed("send on closed channel")
        return index, None, False
    return index, value, success


# ---------------------------------------------------------------------- threads

class Chan(_Core):
    """A Go channel for threads: ``send`` and ``recv`` block the calling thread.

    ``Chan(cap)``: ``make(chan T, cap)``. ``zero`` is what a receive gets once the channel is
    closed and drained (Go: T's zero value; None unless you say, ``Chan(3, zero=0)``)."""

    def __init__(self, cap: int = 0, zero: Any = None) -> None:
        super().__init__(cap, zero)
        self._lock = threading.Condition(threading.Lock())     # hchan.lock

    def send(self, value: Any) -> None:
        """ch <- value. Blocks until a receiver takes it or the buffer has room."""
        select([("send", self, value)])

    def recv(self) -> tuple[Any, bool]:
        """v, ok := <-ch. ``(zero, False)`` once the channel is closed and drained."""
        _, value, ok = select([("recv", self)])
        return value, ok

    def close(self) -> None:
        """close(ch): wakes every parked receiver and sender (the senders raise Closed)."""
        with self._lock:
            self._close()

    def __iter__(self) -> Iterator[Any]:
        """for v := range ch: until closed and drained."""
        while True:
            value, ok = self.recv()
            if not ok:
                return
            yield value

    def __len__(self) -> int:
        with self._lock:
            return len(self._buf)

    def blocked(self) -> tuple[int, int]:
        """(parked senders, parked receivers), selects included: what a goroutine dump shows."""
        with self._lock:
            return self._blocked()

    def wait_blocked(self, senders: int = 0, receivers: int = 0,
                     timeout: float | None = 10.0) -> bool:
        """Wait until at least that many parties are parked here; False on timeout."""
        def enough() -> bool:
            parked_senders, parked_receivers = self._blocked()
            return parked_senders >= senders and parked_receivers >= receivers
        with self._lock:
            return self._lock.wait_for(enough, timeout)

    def _park(self, sudog: _Sudog, sending: bool) -> None:
        super()._park(sudog, sending)
        self._lock.notify_all()         # for wait_blocked only

    def __repr__(self) -> str:
        with self._lock:
            return self._describe()


@contextlib.contextmanager
def _sellock(chans: list[Chan]) -> Iterator[None]:
    """Lock each channel once, in address order, as sellock does; unlock in reverse."""
    with contextlib.ExitStack() as stack:
        for ch in sorted({id(ch): ch for ch in chans}.values(), key=id):
            stack.enter_context(ch._lock)
        yield


def select(cases: Sequence[tuple[Any, ...]], default: bool = False,
           rng: random.Random | None = None) -> Result:
    """Go's select for threads. ``cases``: ``("send", ch, value)`` or ``("recv", ch)``.

    Returns ``(index, value, ok)``: the case that ran, and for a receive what it got (``ok`` is
    False after close). For a send, value is None and ok False (selectgo's recvOK). With
    ``default=True`` and nothing ready, returns ``(-1, None, False)`` at once."""
    ops = _parse(cases, Chan, default)
    order = _pollorder(len(ops), rng or _rng)
    chans = [ch for _, ch, _ in ops]
    with _sellock(chans):
        result = _pass1(ops, order)
        if result is not None:
            return result
        if default:
            return -1, None, False
        waiter = _ThreadWaiter()
        parked = _pass2(ops, waiter)
    try:
        result = waiter.wait()
    finally:    # on Ctrl-C too: after this nobody finds us (a value handed over meanwhile is lost)
        with _sellock(chans):
            _pass3(parked)
    return _outcome(ops, result)


def go(fn: Callable[..., Any], *args: Any) -> threading.Thread:
    """The go statement: run fn(*args) in a new daemon thread (it dies with the program)."""
    thread = threading.Thread(target=fn, args=args, daemon=True, name=getattr(fn, "__name__", "go"))
    thread.start()
    return thread


# ---------------------------------------------------------------------- the event loop

class AsyncChan(_Core):
    """A Go channel for coroutines on one asyncio loop: ``await ch.send(v)``, ``await ch.recv()``.

    Not thread-safe: use it from the loop's own thread only."""

    async def send(self, value: Any) -> None:
        await aselect([("send", self, value)])

    async def recv(self) -> tuple[Any, bool]:
        _, value, ok = await aselect([("recv", self)])
        return value, ok

    def close(self) -> None:
        self._close()

    def __aiter__(self) -> AsyncChan:
        return self

    async def __anext__(self) -> Any:
        value, ok = await self.recv()
        if not ok:
            raise StopAsyncIteration
        return value

    def __len__(self) -> int:
        return len(self._buf)

    def blocked(self) -> tuple[int, int]:
        """(parked senders, parked receivers), selects included."""
        return self._blocked()

    def __repr__(self) -> str:
        return self._describe()


async def aselect(cases: Sequence[tuple[Any, ...]], default: bool = False,
                  rng: random.Random | None = None) -> Result:
    """``select`` for AsyncChan cases, awaited instead of blocking; same arguments and result."""
    ops = _parse(cases, AsyncChan, default)
    result = _pass1(ops, _pollorder(len(ops), rng or _rng))
    if result is not None:
        return result
    if default:
        return -1, None, False
    waiter = _LoopWaiter()
    parked = _pass2(ops, waiter)
    try:
        result = await waiter.future
    except asyncio.CancelledError as exc:
        if waiter.future.cancelled():
            raise                       # nobody completed us: the operation did not happen
        # A partner completed us before the cancellation arrived: the operation happened.
        # Keep its result and ask for the cancellation again, for the task's next await.
        task = asyncio.current_task()
        assert task is not None
        task.uncancel()
        task.cancel(exc.args[0] if exc.args else None)
        result = waiter.future.result()
    finally:
        _pass3(parked)
    return _outcome(ops, result)


# ---------------------------------------------------------------------- demos

On = Literal["threads", "loop"]


def _run(on: On, threads: Callable[[], Any], loop: Callable[[], Awaitable[Any]]) -> Any:
    if on == "threads":
        return threads()
    if on == "loop":
        return aiorun.run(loop, loop_factory=Loop, timeout=60)
    raise ValueError(f"on={on!r}: 'threads' or 'loop'")


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(timeout=30)         # a safety net: Go would report the deadlock
        if thread.is_alive():
            raise TimeoutError(f"{thread.name} did not finish: a deadlock?")


def ping_pong(n: int = 3, on: On = "threads") -> list[str]:
    """Two parties exchange a counter over two unbuffered channels, n round trips.

    Main sends v on ``ping``; the other party replies v + 1 on ``pong``; main counts on. Main
    writes the whole trace, so it is the same on every run (Go twin: ``pingPong``)."""

    def replier(ping: Chan, pong: Chan) -> None:
        for v in ping:
            pong.send(v + 1)
        pong.close()

    def threads() -> list[str]:
        trace, ping, pong = [], Chan(), Chan()
        party = go(replier, ping, pong)
        v = 0
        for _ in range(n):
            ping.send(v)
            trace.append(f"ping sent {v}")
            v, _ = pong.recv()
            trace.append(f"pong replied {v}")
            v += 1
        ping.close()
        _join([party])
        return trace

    async def areplier(ping: AsyncChan, pong: AsyncChan) -> None:
        async for v in ping:
            await pong.send(v + 1)
        pong.close()

    async def loop() -> list[str]:
        trace, ping, pong = [], AsyncChan(), AsyncChan()
        party = asyncio.create_task(areplier(ping, pong))
        v = 0
        for _ in range(n):
            await ping.send(v)
            trace.append(f"ping sent {v}")
            v, _ = await pong.recv()
            trace.append(f"pong replied {v}")
            v += 1
        ping.close()
        await party
        return trace

    return _run(on, threads, loop)


def sieve(n: int = 10, on: On = "threads") -> list[int]:
    """The first n primes from a pipeline: a generator, then one filter per prime found.

    The Go distribution's concurrent sieve (``doc/play/sieve.go``; Hoare's section 6.1 builds
    the same chain from a fixed array of processes). Its Go twin leaves its goroutines blocked
    when main returns, and they die with the program; threads left so would pile up call after
    call, so here every stage also watches a ``done`` channel: closing it makes each stage's
    select pick ``<-done`` and return ("Go Concurrency Patterns: Pipelines and cancellation",
    the Go blog, 2014)."""

    def generate(out: Chan, done: Chan) -> None:
        i = 2
        while True:
            if select([("send", out, i), ("recv", done)])[0] == 1:
                return
            i += 1

    def keep(inp: Chan, out: Chan, prime: int, done: Chan) -> None:
        while True:
            index, i, _ = select([("recv", inp), ("recv", done)])
            if index == 1:
                return
            if i % prime != 0 and select([("send", out, i), ("recv", done)])[0] == 1:
                return

    def threads() -> list[int]:
        done, ch = Chan(), Chan()
        stages = [go(generate, ch, done)]
        primes = []
        for _ in range(n):
            prime, _ = ch.recv()
            primes.append(prime)
            ch1 = Chan()
            stages.append(go(keep, ch, ch1, prime, done))
            ch = ch1
        done.close()
        _join(stages)
        return primes

    async def agenerate(out: AsyncChan, done: AsyncChan) -> None:
        i = 2
        while True:
            if (await aselect([("send", out, i), ("recv", done)]))[0] == 1:
                return
            i += 1

    async def akeep(inp: AsyncChan, out: AsyncChan, prime: int, done: AsyncChan) -> None:
        while True:
            index, i, _ = await aselect([("recv", inp), ("recv", done)])
            if index == 1:
                return
            if i % prime != 0 and (await aselect([("send", out, i), ("recv", done)]))[0] == 1:
                return

    async def loop() -> list[int]:
        done, ch = AsyncChan(), AsyncChan()
        stages = [asyncio.create_task(agenerate(ch, done))]
        primes = []
        for _ in range(n):
            prime, _ = await ch.recv()
            primes.append(prime)
            ch1 = AsyncChan()
            stages.append(asyncio.create_task(akeep(ch, ch1, prime, done)))
            ch = ch1
        done.close()
        await asyncio.gather(*stages)
        return primes

    return _run(on, threads, loop)


pipeline = sieve        # the pipeline demo is the sieve


def fan_in(names: Sequence[str] = ("a", "b"), n: int = 3, on: On = "threads") -> list[str]:
    """Rob Pike's fan-in ("Go Concurrency Patterns", 2012): producers, one merged channel.

    One merger selects over the producers' channels and drops a case when its channel closes
    (Go sets the channel to nil). The interleaving is not deterministic; each producer's order
    and the set of values are."""

    def produce(name: str, out: Chan) -> None:
        for i in range(n):
            out.send(f"{name}{i}")
        out.close()

    def merge(inputs: list[Chan], merged: Chan) -> None:
        while inputs:
            index, value, ok = select([("recv", ch) for ch in inputs])
            if not ok:
                del inputs[index]
                continue
            merged.send(value)
        merged.close()

    def threads() -> list[str]:
        inputs = [Chan() for _ in names]
        merged = Chan()
        workers = [go(produce, name, ch) for name, ch in zip(names, inputs)]
        workers.append(go(merge, list(inputs), merged))
        out = list(merged)
        _join(workers)
        return out

    async def aproduce(name: str, out: AsyncChan) -> None:
        for i in range(n):
            await out.send(f"{name}{i}")
        out.close()

    async def amerge(inputs: list[AsyncChan], merged: AsyncChan) -> None:
        while inputs:
            index, value, ok = await aselect([("recv", ch) for ch in inputs])
            if not ok:
                del inputs[index]
                continue
            await merged.send(value)
        merged.close()

    async def loop() -> list[str]:
        inputs = [AsyncChan() for _ in names]
        merged = AsyncChan()
        workers = [asyncio.create_task(aproduce(name, ch)) for name, ch in zip(names, inputs)]
        workers.append(asyncio.create_task(amerge(list(inputs), merged)))
        out = [value async for value in merged]
        await asyncio.gather(*workers)
        return out

    return _run(on, threads, loop)


def buffered_then_closed(n: int = 3, on: On = "threads") -> dict[str, Any]:
    """Fill a buffered channel with no receiver, close it, drain it (one party; Go twin: main).

    ``buffered_len`` is n: n sends completed with nobody receiving. ``drained_after_close`` is
    the buffered values first, then the zero value and false (``Chan(n, zero=0)`` is Go's
    ``make(chan int, n)``: 0 is an int channel's zero value)."""

    def threads() -> dict[str, Any]:
        ch = Chan(n, zero=0)
        for i in range(1, n + 1):
            ch.send(i)
        out: dict[str, Any] = {"buffered_len": len(ch)}
        ch.close()
        drained = []
        while True:
            value, ok = ch.recv()
            drained.append([value, ok])
            if not ok:
                break
        out["drained_after_close"] = drained
        return out

    async def loop() -> dict[str, Any]:
        ch = AsyncChan(n, zero=0)
        for i in range(1, n + 1):
            await ch.send(i)
        out: dict[str, Any] = {"buffered_len": len(ch)}
        ch.close()
        drained = []
        while True:
            value, ok = await ch.recv()
            drained.append([value, ok])
            if not ok:
                break
        out["drained_after_close"] = drained
        return out

    return _run(on, threads, loop)


def select_with_default(on: On = "threads") -> str:
    """A receive that would block, with a default case: select takes the default at once."""

    def threads() -> str:
        index, value, _ = select([("recv", Chan(zero=0))], default=True)
        return f"received {value}" if index == 0 else "default: nothing ready"

    async def loop() -> str:
        index, value, _ = await aselect([("recv", AsyncChan(zero=0))], default=True)
        return f"received {value}" if index == 0 else "default: nothing ready"

    return _run(on, threads, loop)


def rendezvous_trace(on: On = "threads") -> dict[str, list[str]]:
    """An unbuffered send returns only after the receiver came; a buffered one returns at once.

    For each channel a sender sends "x" while the main party watches. Unbuffered: main waits
    until the sender is parked (``wait_blocked``; on the loop one ``sleep(0)``) and sees that
    its send has not returned; it returns once main receives. Buffered (cap 1): the send has
    returned before main receives. Main waits for the sender's "returned" event before its last
    line, so the trace is the same on every run. No sleeps."""

    def threads() -> dict[str, list[str]]:
        out = {}
        for label, cap in (("unbuffered", 0), ("buffered", 1)):
            trace: list[str] = []
            ch, returned = Chan(cap), threading.Event()

            def sender() -> None:
                trace.append("sender: send('x') called")
                ch.send("x")
                trace.append("sender: send returned")
                returned.set()

            thread = go(sender)
            if cap == 0:
                ch.wait_blocked(senders=1)
            else:
                returned.wait(timeout=10)
            trace.append(f"main: len={len(ch)} parked senders={ch.blocked()[0]} "
                         f"send returned={returned.is_set()}")
            trace.append("main: recv() called")
            value, ok = ch.recv()
            returned.wait(timeout=10)
            trace.append(f"main: recv() returned {(value, ok)}")
            _join([thread])
            out[label] = trace
        return out

    async def loop() -> dict[str, list[str]]:
        out = {}
        for label, cap in (("unbuffered", 0), ("buffered", 1)):
            trace: list[str] = []
            ch, returned = AsyncChan(cap), asyncio.Event()

            async def sender() -> None:
                trace.append("sender: send('x') called")
                await ch.send("x")
                trace.append("sender: send returned")
                returned.set()

            task = asyncio.create_task(sender())
            await asyncio.sleep(0)      # the sender runs until it parks or returns
            trace.append(f"main: len={len(ch)} parked senders={ch.blocked()[0]} "
                         f"send returned={returned.is_set()}")
            trace.append("main: recv() called")
            value, ok = await ch.recv()
            await returned.wait()
            trace.append(f"main: recv() returned {(value, ok)}")
            await task
            out[label] = trace
        return out

    return _run(on, threads, loop)
