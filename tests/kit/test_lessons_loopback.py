"""Kit tests of lessons.loopback: each mode, the gates (send: one piece a permit; sink: one byte
a permit), the socket-buffer options, bad arguments, and that close() ends every thread.

Deterministic: a gated fixture cannot send or read without a permit, so "nothing more has
arrived" is checked with a non-blocking recv right after the permitted bytes came; waits use
the fixture's own wait_* calls or blocking reads, with generous safety time-outs only.
"""

import socket
import threading

import pytest

from lessons.loopback import MODES, Fixture

SAFETY = 10.0   # seconds: turns a hang into a failure, never a bound on speed


def read_exactly(sock: socket.socket, n: int) -> bytes:
    got = bytearray()
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        if not chunk:
            break
        got += chunk
    return bytes(got)


def read_to_eof(sock: socket.socket) -> bytes:
    got = bytearray()
    while chunk := sock.recv(65536):
        got += chunk
    return bytes(got)


def nothing_waiting(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        sock.recv(1)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)
    return False


def fixture_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("fixture-")]


def test_echo_sends_back_and_answers_eof_with_eof():
    with Fixture("echo") as fx:
        with socket.create_connection(fx.address, timeout=SAFETY) as s:
            s.sendall(b"hello\n")
            assert read_exactly(s, 6) == b"hello\n"
            s.sendall(b"x" * 100_000)
            s.shutdown(socket.SHUT_WR)
            assert read_to_eof(s) == b"x" * 100_000
        assert fx.wait_received(0, 100_006, SAFETY)
        assert bytes(fx.received[0]) == b"hello\n" + b"x" * 100_000


def test_echo_in_chunks_keeps_every_byte_in_order():
    data = bytes(range(256)) * 40
    with Fixture("echo", chunk=3) as fx:
        with socket.create_connection(fx.address, timeout=SAFETY) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            assert read_to_eof(s) == data


def test_send_ungated_sends_the_payload_then_eof():
    payload = b"0123456789" * 1000
    with Fixture("send", payload=payload, chunk=7) as fx:
        with socket.create_connection(fx.address, timeout=SAFETY) as s:
            assert read_to_eof(s) == payload


def test_gated_send_sends_one_piece_per_permit():
    with Fixture("send", payload=b"abcdefgh", chunk=3, gated=True) as fx:
        with socket.create_connection(fx.address, timeout=SAFETY) as s:
            assert fx.wait_connections(1, SAFETY)
            assert nothing_waiting(s), "a gated send fixture sent before any permit"
            fx.permit()
            assert read_exactly(s, 3) == b"abc"
            assert nothing_waiting(s), "one permit let more than one piece through"
            fx.permit()
            assert read_exactly(s, 3) == b"def"
            assert nothing_waiting(s)
            fx.permit()
            assert read_to_eof(s) == b"gh", "the last piece is the rest, then EOF"


def test_gated_sink_reads_one_byte_per_permit_and_the_client_fills_up():
    with Fixture("sink", gated=True, rcvbuf=4096) as fx:
        with socket.create_connection(fx.address, timeout=SAFETY) as s:
            s.setblocking(False)
            sent = bytearray()
            block = bytes(range(256)) * 64
            while True:                       # fill every buffer between us and the fixture
                try:
                    sent += block[:s.send(block)]
                except BlockingIOError:
                    break
            assert fx.wait_connections(1, SAFETY)
            assert len(fx.received[0]) == 0, "a gated sink read before any permit"
            fx.permit(10)
            assert fx.wait_received(0, 10, SAFETY)
            # one byte a permit: exactly the first 10 bytes, however long we look
            assert bytes(fx.received[0]) == bytes(sent[:10])
            fx.permit(0)
            assert not fx.wait_received(0, 11, 0)
    assert not fixture_threads()


def test_sink_ungated_reads_everything():
    data = b"z" * (1 << 20)
    with Fixture("sink") as fx:
        with socket.create_connection(fx.address, timeout=SAFETY) as s:
            s.sendall(data)
        assert fx.wait_received(0, len(data), SAFETY)
        assert bytes(fx.received[0]) == data


def test_stall_never_reads_nor_writes():
    with Fixture("stall", rcvbuf=4096) as fx:
        with socket.create_connection(fx.address, timeout=SAFETY) as s:
            s.setblocking(False)
            total = 0
            while True:
                try:
                    total += s.send(b"y" * 65536)
                except BlockingIOError:
                    break
            assert total > 0
            assert fx.wait_connections(1, SAFETY)
            assert len(fx.received[0]) == 0
            assert nothing_waiting(s)
    assert not fixture_threads(), "close() should end the stalled connection's thread"


def test_buffer_options_reach_the_listener():
    with Fixture("echo", rcvbuf=8192, sndbuf=8192) as fx:
        # Linux doubles what setsockopt asked for (man 7 socket)
        assert fx.listener.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 8192
        assert fx.listener.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= 8192


def test_connections_are_recorded_in_accept_order():
    with Fixture("sink") as fx:
        socks = []
        for i in range(3):
            s = socket.create_connection(fx.address, timeout=SAFETY)
            assert fx.wait_connections(i + 1, SAFETY)
            s.sendall(b"%d" % i)
            assert fx.wait_received(i, 1, SAFETY)
            socks.append(s)
        assert [bytes(r) for r in fx.received] == [b"0", b"1", b"2"]
        for s in socks:
            s.close()


@pytest.mark.parametrize("kwargs", [{"mode": "chaos"}, {"chunk": -1}, {"rcvbuf": -5}, {"sndbuf": -1}])
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        Fixture(**kwargs)
    with Fixture("echo") as fx:
        with pytest.raises(ValueError):
            fx.permit(-1)


@pytest.mark.parametrize("mode", MODES)
def test_close_ends_every_thread_with_clients_still_connected(mode):
    fx = Fixture(mode, gated=True, payload=b"abc", chunk=1)
    socks = [socket.create_connection(fx.address, timeout=SAFETY) for _ in range(3)]
    assert fx.wait_connections(3, SAFETY)
    fx.close()
    assert not fixture_threads(), f"threads left after close() in mode {mode}: {fixture_threads()}"
    for s in socks:
        s.close()
