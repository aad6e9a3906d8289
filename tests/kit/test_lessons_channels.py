"""Kit tests of lessons.channels: Go's channel rules on threads and on the course's loop.

Interleavings are forced, never waited for with sleeps: on threads with Event, Barrier and
``Chan.wait_blocked`` (a Condition: it returns once the parties are parked); on the loop with
``await asyncio.sleep(0)``, which lets every ready task run one step. A ``join(timeout=10)``
is only a safety net, so that a broken rule fails instead of hanging."""

import asyncio
import collections
import json
import random
import threading

import pytest

from lessons import aiorun, channels
from lessons.channels import AsyncChan, Chan, Closed, aselect, go, select
from lessons.eventloop import Loop

PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


def finishes(fn, *args):
    """fn(*args) in a thread; its value. Fails (instead of hanging) if it blocks."""
    box = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:        # noqa: BLE001 - re-raised below
            box["error"] = exc

    thread = go(target)
    thread.join(timeout=10)
    assert not thread.is_alive(), f"{fn} blocked"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def run(main):
    """Run the coroutine main() on the course's loop."""
    return aiorun.run(main, loop_factory=Loop, timeout=30)


def queued(ch):
    """(sendq, recvq) lengths, stale sudogs included: pass 3 must leave none behind."""
    return len(ch._sendq), len(ch._recvq)


def park(fn, *args):
    """Start fn(*args) in a thread; the thread and a list that gets its result."""
    out = []
    return go(lambda: out.append(fn(*args))), out


# ---------------------------------------------------------------------- threads: rendezvous, buffer

def test_an_unbuffered_send_returns_only_after_a_receiver_took_the_value():
    ch, returned = Chan(), threading.Event()
    thread = go(lambda: (ch.send("x"), returned.set()))
    assert ch.wait_blocked(senders=1)               # the sender is parked in sendq ...
    assert not returned.is_set() and len(ch) == 0   # ... and its send has not returned
    assert ch.recv() == ("x", True)
    assert returned.wait(timeout=10)
    thread.join(timeout=10)


def test_an_unbuffered_recv_waits_for_a_sender():
    ch = Chan()
    thread, got = park(ch.recv)
    assert ch.wait_blocked(receivers=1) and got == []
    ch.send(5)                                      # hands the value to the parked receiver
    thread.join(timeout=10)
    assert got == [(5, True)] and ch.blocked() == (0, 0)


def test_a_buffered_channel_takes_cap_values_without_a_receiver():
    ch = Chan(2)
    assert ch.cap == 2 and len(ch) == 0
    finishes(lambda: (ch.send(1), ch.send(2)))      # room for two: no receiver needed
    assert len(ch) == 2
    assert select([("send", ch, 3)], default=True)[0] == -1       # full: would block
    thread = go(ch.send, 3)
    assert ch.wait_blocked(senders=1) and len(ch) == 2
    # a parked sender's value goes to the tail when the head is taken (chan.go, recv)
    assert [ch.recv() for _ in range(3)] == [(1, True), (2, True), (3, True)]
    thread.join(timeout=10)
    assert len(ch) == 0 and ch.blocked() == (0, 0)


def test_a_buffered_send_goes_straight_to_a_parked_receiver():
    ch = Chan(1)
    thread, got = park(ch.recv)
    assert ch.wait_blocked(receivers=1)
    ch.send("direct")
    thread.join(timeout=10)
    assert got == [("direct", True)] and len(ch) == 0      # it never sat in the buffer


def test_cap_below_zero_is_refused():
    with pytest.raises(ValueError, match="makechan: size out of range"):
        Chan(-1)
    with pytest.raises(ValueError, match="makechan"):
        AsyncChan(-1)


# ---------------------------------------------------------------------- threads: FIFO

def test_parked_senders_are_served_first_come_first_served():
    ch = Chan()
    senders = []
    for i, name in enumerate("ABCD"):
        senders.append(go(ch.send, name))
        assert ch.wait_blocked(senders=i + 1)       # each parks before the next one starts
    assert [ch.recv()[0] for _ in range(4)] == list("ABCD")
    for thread in senders:
        thread.join(timeout=10)


def test_parked_receivers_are_served_first_come_first_served():
    ch = Chan(1)
    got = {}
    receivers = []
    for i, name in enumerate("ABCD"):
        receivers.append(go(lambda name=name: got.setdefault(name, ch.recv()[0])))
        assert ch.wait_blocked(receivers=i + 1)
    for value in range(4):
        ch.send(value)
    for thread in receivers:
        thread.join(timeout=10)
    assert got == {"A": 0, "B": 1, "C": 2, "D": 3}


# ---------------------------------------------------------------------- threads: close

def test_close_drains_the_buffer_then_returns_none_false_forever():
    ch = Chan(3)
    ch.send(1)
    ch.send(2)
    ch.close()
    assert len(ch) == 2
    assert [ch.recv() for _ in range(4)] == [(1, True), (2, True), (None, False), (None, False)]
    assert finishes(list, ch) == []


def test_zero_is_what_a_closed_channel_gives_as_go_gives_the_types_zero_value():
    ch = Chan(1, zero=0)                            # make(chan int, 1)
    thread, got = park(ch.recv)
    assert ch.wait_blocked(receivers=1)
    ch.close()                                      # the parked receiver gets the zero value
    thread.join(timeout=10)
    assert got == [(0, False)]
    assert ch.recv() == (0, False) and select([("recv", ch)]) == (0, 0, False)


def test_range_over_a_channel_ends_when_it_is_closed_and_drained():
    ch = Chan(2)
    thread, got = park(list, ch)
    for i in range(5):
        ch.send(i)
    ch.close()
    thread.join(timeout=10)
    assert got == [[0, 1, 2, 3, 4]]


def test_send_on_a_closed_channel_and_a_second_close_raise():
    for ch in (Chan(), Chan(1)):
        ch.close()
        with pytest.raises(Closed, match="^send on closed channel$"):
            ch.send(1)
        with pytest.raises(Closed, match="^send on closed channel$"):
            select([("send", ch, 1)], default=True)
        with pytest.raises(Closed, match="^close of closed channel$"):
            ch.close()


def test_close_wakes_every_parked_receiver():
    ch = Chan()
    receivers = [park(ch.recv) for _ in range(3)]
    assert ch.wait_blocked(receivers=3)
    ch.close()
    for thread, got in receivers:
        thread.join(timeout=10)
        assert got == [(None, False)]


def test_close_wakes_every_parked_sender_and_they_raise():
    ch = Chan()
    errors = []

    def sender(i):
        try:
            ch.send(i)
        except Closed as exc:
            errors.append(str(exc))

    threads = [go(sender, i) for i in range(3)]
    assert ch.wait_blocked(senders=3)
    ch.close()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == ["send on closed channel"] * 3 and ch.blocked() == (0, 0)


def test_close_wakes_a_parked_select():
    a, b = Chan(), Chan()
    thread, got = park(select, [("recv", a), ("recv", b)])
    assert a.wait_blocked(receivers=1) and b.wait_blocked(receivers=1)
    b.close()
    thread.join(timeout=10)
    assert got == [(1, None, False)] and queued(a) == (0, 0)


# ---------------------------------------------------------------------- threads: select

def test_select_picks_uniformly_at_random_among_ready_cases():
    picks = collections.Counter()
    for seed in range(300):
        ready = [Chan(1) for _ in range(3)]
        for i, ch in enumerate(ready):
            ch.send(i)
        idle = Chan()                               # never ready: never picked
        index, value, ok = select([("recv", ready[0]), ("recv", idle), ("recv", ready[1]),
                                   ("recv", ready[2])], rng=random.Random(seed))
        assert ok and value == {0: 0, 2: 1, 3: 2}[index]
        picks[index] += 1
    assert set(picks) == {0, 2, 3}
    assert all(70 <= count <= 130 for count in picks.values()), picks     # 100 each expected


def test_the_same_seed_makes_the_same_choice_and_different_seeds_both_choices():
    def pick(seed):
        a, b = Chan(1), Chan(1)
        a.send("a")
        b.send("b")
        return select([("recv", a), ("recv", b)], rng=random.Random(seed))[1]

    assert [pick(7) for _ in range(5)] == [pick(7)] * 5
    assert {pick(seed) for seed in range(20)} == {"a", "b"}


def test_select_send_case_and_recv_of_a_closed_channel():
    full, closed = Chan(1), Chan()
    full.send(0)
    closed.close()
    # the full channel's send is not ready, the closed channel's recv is (value None, ok False)
    assert select([("send", full, 1), ("recv", closed)]) == (1, None, False)
    empty = Chan(1)
    assert select([("send", empty, 1), ("recv", Chan())]) == (0, None, False)
    assert empty.recv() == (1, True)


def test_select_with_default_returns_minus_one_when_nothing_is_ready():
    a, b = Chan(), Chan(1)
    b.send("full")
    nothing_ready = [("recv", a), ("send", b, 1), ("send", a, 2)]
    assert finishes(select, nothing_ready, True) == (-1, None, False)
    assert a.blocked() == (0, 0) and b.blocked() == (0, 0)     # default parks nothing
    assert select([("recv", a), ("recv", b)], default=True) == (1, "full", True)
    assert select([], default=True) == (-1, None, False)


def test_a_parked_select_is_completed_by_exactly_one_of_two_racing_senders():
    for _ in range(30):
        a, b = Chan(1), Chan(1)
        selector, got = park(select, [("recv", a), ("recv", b)])
        assert a.wait_blocked(receivers=1) and b.wait_blocked(receivers=1)
        start = threading.Barrier(2)
        senders = [go(lambda ch=ch, v=v: (start.wait(timeout=10), ch.send(v)))
                   for ch, v in ((a, "a"), (b, "b"))]
        for thread in senders + [selector]:
            thread.join(timeout=10)
        [(index, value, ok)] = got
        # one value went to the select, the other to its channel's buffer: none lost, none twice
        loser = (b, "b") if index == 0 else (a, "a")
        assert ok and value == ("a" if index == 0 else "b")
        assert len(loser[0]) == 1 and loser[0].recv() == (loser[1], True)
        assert queued(a) == queued(b) == (0, 0)                        # pass 3 cleaned up


def test_a_sender_that_loses_the_claim_skips_the_stale_sudog():
    # White box, to force Go's "we lost the race to wake this goroutine" every time: the select
    # is woken through a, but cannot run pass 3 while we hold b's lock, so its sudog is still
    # in b's recvq when we send on b.
    a, b = Chan(), Chan(1)
    selector, got = park(select, [("recv", a), ("recv", b)])
    assert a.wait_blocked(receivers=1) and b.wait_blocked(receivers=1)
    with b._lock:
        finishes(a.send, "via a")                   # claims the select and wakes it
        assert len(b._recvq) == 1                   # the stale sudog
        assert b._poll_send("via b")                # its claim fails: the value goes to the buffer
    selector.join(timeout=10)
    assert got == [(0, "via a", True)]
    assert b.recv() == ("via b", True) and queued(a) == queued(b) == (0, 0)


def test_a_select_with_send_and_recv_on_one_channel():
    ch = Chan()
    thread, got = park(select, [("send", ch, "out"), ("recv", ch)])
    assert ch.wait_blocked(senders=1, receivers=1)
    assert ch.recv() == ("out", True)               # takes the send case
    thread.join(timeout=10)
    assert got == [(0, None, False)] and queued(ch) == (0, 0)


def test_select_rejects_bad_cases():
    with pytest.raises(ValueError, match="blocks forever"):
        select([])
    with pytest.raises(ValueError, match="a case is"):
        select([("put", Chan(), 1)])
    with pytest.raises(TypeError, match="nil channels"):
        select([("recv", None)])
    with pytest.raises(TypeError):
        select([("recv", AsyncChan())])


def test_go_starts_a_daemon_thread():
    done = threading.Event()
    thread = go(done.set)
    assert isinstance(thread, threading.Thread) and thread.daemon
    assert done.wait(timeout=10)


# ---------------------------------------------------------------------- the loop

def test_loop_rendezvous_buffer_fifo_and_close():
    async def main():
        log = []
        ch = AsyncChan()

        async def send(v):
            await ch.send(v)
            log.append(f"sent {v}")

        senders = [asyncio.create_task(send(v)) for v in "ABC"]
        await asyncio.sleep(0)
        assert ch.blocked() == (3, 0) and log == []         # unbuffered: all parked, in order
        assert [(await ch.recv())[0] for _ in range(3)] == list("ABC")
        await asyncio.gather(*senders)
        assert log == ["sent A", "sent B", "sent C"]

        buffered = AsyncChan(2)
        await buffered.send(1)
        await buffered.send(2)                              # no receiver needed
        assert len(buffered) == 2 and buffered.cap == 2
        assert (await aselect([("send", buffered, 3)], default=True))[0] == -1
        buffered.close()
        assert [v async for v in buffered] == [1, 2]
        assert await buffered.recv() == (None, False)
        with pytest.raises(Closed, match="send on closed channel"):
            await buffered.send(3)
        with pytest.raises(Closed, match="close of closed channel"):
            buffered.close()

        receivers = [asyncio.create_task(ch.recv()) for _ in range(2)]
        stuck, blocked = AsyncChan(), []
        for _ in range(2):
            blocked.append(asyncio.create_task(stuck.send(1)))
        await asyncio.sleep(0)
        assert ch.blocked() == (0, 2) and stuck.blocked() == (2, 0)
        ch.close()                                  # wakes both receivers ...
        stuck.close()                               # ... and both senders, which raise
        assert await asyncio.gather(*receivers) == [(None, False)] * 2
        for task in blocked:
            with pytest.raises(Closed, match="send on closed channel"):
                await task
        return "ok"

    assert run(main) == "ok"


def test_loop_receivers_are_fifo():
    async def main():
        ch, got = AsyncChan(), []

        async def receive(name):
            got.append((name, (await ch.recv())[0]))

        tasks = [asyncio.create_task(receive(n)) for n in "ABC"]
        await asyncio.sleep(0)
        for v in range(3):
            await ch.send(v)
        await asyncio.gather(*tasks)
        return got

    assert run(main) == [("A", 0), ("B", 1), ("C", 2)]


def test_loop_select_random_choice_and_default():
    async def main():
        picks = collections.Counter()
        for seed in range(200):
            a, b = AsyncChan(1), AsyncChan(1)
            await a.send("a")
            await b.send("b")
            picks[(await aselect([("recv", a), ("recv", b)], rng=random.Random(seed)))[1]] += 1
        none_ready = await aselect([("recv", AsyncChan()), ("send", AsyncChan(), 1)], default=True)
        return picks, none_ready

    picks, none_ready = run(main)
    assert set(picks) == {"a", "b"} and all(70 <= n <= 130 for n in picks.values()), picks
    assert none_ready == (-1, None, False)


def test_loop_select_is_completed_once_when_two_channels_become_ready():
    async def main():
        a, b = AsyncChan(1), AsyncChan(1)
        selector = asyncio.create_task(aselect([("recv", a), ("recv", b)]))
        await asyncio.sleep(0)
        assert a.blocked() == b.blocked() == (0, 1)
        # both in one step: the select has not run its pass 3, so its sudog is still on b
        await a.send("a")
        await b.send("b")           # loses the claim, goes to b's buffer
        result = await selector
        return result, len(a), await b.recv(), queued(a), queued(b)

    assert run(main) == ((0, "a", True), 0, ("b", True), (0, 0), (0, 0))


def test_loop_a_cancelled_receiver_is_taken_off_the_queue():
    async def main():
        ch = AsyncChan()
        first = asyncio.create_task(ch.recv())
        second = asyncio.create_task(ch.recv())
        await asyncio.sleep(0)
        assert ch.blocked() == (0, 2)
        first.cancel()
        # at once, before first has even run: its future is cancelled, so it cannot be claimed
        assert (await aselect([("send", ch, 5)], default=True))[0] == 0
        assert await second == (5, True)
        with pytest.raises(asyncio.CancelledError):
            await first
        assert queued(ch) == (0, 0)
        # now nobody waits: a non-blocking send finds no receiver (the cancelled one is gone)
        assert (await aselect([("send", ch, 6)], default=True))[0] == -1
        return "ok"

    assert run(main) == "ok"


def test_loop_a_receiver_cancelled_after_its_value_arrived_keeps_the_value():
    async def main():
        ch, got = AsyncChan(), []

        async def receiver():
            got.append(await ch.recv())
            await asyncio.sleep(0)              # the cancellation arrives here
            got.append("not reached")

        task = asyncio.create_task(receiver())
        await asyncio.sleep(0)
        assert (await aselect([("send", ch, 7)], default=True))[0] == 0   # handed over
        task.cancel()                           # before the receiver ran again
        with pytest.raises(asyncio.CancelledError):
            await task
        return got, task.cancelled(), queued(ch)

    assert run(main) == ([(7, True)], True, (0, 0))


def test_loop_cancelled_senders_withdraw_their_values():
    async def main():
        a, b = AsyncChan(), AsyncChan()
        plain = asyncio.create_task(a.send("lost?"))
        both = asyncio.create_task(aselect([("send", a, "a"), ("send", b, "b")]))
        await asyncio.sleep(0)
        assert a.blocked() == (2, 0) and b.blocked() == (1, 0)
        plain.cancel()
        both.cancel()
        await asyncio.sleep(0)
        assert plain.cancelled() and both.cancelled()
        assert queued(a) == queued(b) == (0, 0)
        return [await aselect([("recv", ch)], default=True) for ch in (a, b)]

    assert run(main) == [(-1, None, False)] * 2


def test_loop_a_timeout_that_fires_while_parked_withdraws_the_receiver():
    async def main():
        ch = AsyncChan()
        try:
            async with asyncio.timeout(0):
                await ch.recv()
        except TimeoutError:
            return queued(ch), asyncio.current_task().cancelling()

    assert run(main) == ((0, 0), 0)


def test_loop_a_timeout_that_fires_after_the_value_arrived_keeps_it_and_still_times_out():
    # The receiver is completed first and cancelled (by its timeout) before it runs again: it
    # keeps the value, and the re-armed cancellation leaves the timeout block as TimeoutError,
    # because the task's cancel count is what asyncio.timeout expects (uncancel, then cancel).
    async def main():
        ch, got, scopes = AsyncChan(), [], []

        async def receiver():
            try:
                async with asyncio.timeout(None) as scope:
                    scopes.append(scope)
                    got.append(await ch.recv())
                    await asyncio.sleep(0)
                    got.append("not reached")
            except TimeoutError:
                got.append("TimeoutError")
            got.append(asyncio.current_task().cancelling())

        task = asyncio.create_task(receiver())
        await asyncio.sleep(0)
        scopes[0].reschedule(asyncio.get_running_loop().time())     # fires first ...
        assert (await aselect([("send", ch, 1)], default=True))[0] == 0   # ... after this
        await task
        return got

    assert run(main) == [(1, True), "TimeoutError", 0]


def test_loop_aselect_rejects_thread_channels():
    async def main():
        with pytest.raises(TypeError):
            await aselect([("recv", Chan())])
        return "ok"

    assert run(main) == "ok"


# ---------------------------------------------------------------------- the demos

GO_CHANNELS = {      # what lessons/go/channels.go prints (one JSON object), as Python values
    "ping_pong": ["ping sent 0", "pong replied 1", "ping sent 2", "pong replied 3",
                  "ping sent 4", "pong replied 5"],
    "sieve": PRIMES,
    "buffered_len": 3,
    "drained_after_close": [[1, True], [2, True], [3, True], [0, False]],
    "select": "default: nothing ready",
}


def python_programs(on):
    """The programs of lessons/go/channels.go, as the lesson's cell calls them."""
    return {"ping_pong": channels.ping_pong(3, on=on), "sieve": channels.sieve(10, on=on),
            **channels.buffered_then_closed(3, on=on),
            "select": channels.select_with_default(on=on)}


@pytest.mark.parametrize("on", ["threads", "loop"])
def test_demos_on_threads_and_on_the_loop(on):
    assert python_programs(on) == GO_CHANNELS
    assert channels.ping_pong(1, on=on) == ["ping sent 0", "pong replied 1"]
    assert channels.pipeline(3, on=on) == PRIMES[:3]
    merged = channels.fan_in(("a", "b", "c"), 4, on=on)
    assert sorted(merged) == sorted(f"{n}{i}" for n in "abc" for i in range(4))
    for name in "abc":
        assert [v for v in merged if v[0] == name] == [f"{name}{i}" for i in range(4)]
    assert channels.rendezvous_trace(on=on) == {
        "unbuffered": ["sender: send('x') called",
                       "main: len=0 parked senders=1 send returned=False",
                       "main: recv() called",
                       "sender: send returned",
                       "main: recv() returned ('x', True)"],
        "buffered": ["sender: send('x') called",
                     "sender: send returned",
                     "main: len=1 parked senders=0 send returned=True",
                     "main: recv() called",
                     "main: recv() returned ('x', True)"]}


def test_threads_and_loop_agree():
    assert python_programs("threads") == python_programs("loop")
    assert channels.rendezvous_trace(on="threads") == channels.rendezvous_trace(on="loop")
    with pytest.raises(ValueError, match="threads"):
        channels.sieve(on="gevent")


def test_the_go_twin_prints_what_the_python_programs_return():
    golang = pytest.importorskip("lessons.golang")
    if golang.skip_reason() and not golang.required():
        pytest.skip(golang.skip_reason())
    done = golang.run("channels")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == GO_CHANNELS == python_programs("threads")
