"""Frame-level checks that need the node process and warrenctl: a raw socket
speaks AMQP through pika's frame codec (python3-pika), so the test decides
every frame the client sends and sees every frame the node sends back.

- A connection blocked by a resource alarm (connection.blocked: the node no
  longer reads it) that an operator closes (warrenctl close_connection) is
  read again: the client's answer to connection.close arrives and is
  answered, rather than the socket being cut after the close-ok timeout."""
import os
import socket
import subprocess
import sys
import time
import unittest

from pika import frame, spec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

WAIT = 10.0  # bound on any single wait for the node


class RawConnection:
    """One AMQP connection over a plain socket; every read has a deadline."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=WAIT)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, channel, method):
        self.sock.sendall(frame.Method(channel, method).marshal())

    def publish(self, channel, routing_key, body):
        self.send(channel, spec.Basic.Publish(exchange="", routing_key=routing_key))
        self.sock.sendall(frame.Header(channel, len(body), spec.BasicProperties()).marshal())
        self.sock.sendall(frame.Body(channel, body).marshal())

    def next_frame(self):
        """The next frame that is not a heartbeat; None on EOF or deadline."""
        deadline = time.monotonic() + WAIT
        while True:
            used, f = frame.decode_frame(self.buf)
            if f is not None:
                self.buf = self.buf[used:]
                if isinstance(f, frame.Heartbeat):
                    continue
                return f
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                return None
            if not data:
                return None
            self.buf += data

    def expect(self, method_class, channel=0):
        f = self.next_frame()
        if not (isinstance(f, frame.Method) and isinstance(f.method, method_class)
                and f.channel_number == channel):
            raise AssertionError("expected %s on channel %d, got %r"
                                 % (method_class.NAME, channel, f))
        return f.method

    def handshake(self, capabilities):
        self.sock.sendall(b"AMQP\x00\x00\x09\x01")
        self.expect(spec.Connection.Start)
        self.send(0, spec.Connection.StartOk(
            client_properties={"product": "warren raw-frame test", "capabilities": capabilities},
            mechanism="PLAIN", response=b"\0guest\0guest", locale="en_US"))
        tune = self.expect(spec.Connection.Tune)
        self.send(0, spec.Connection.TuneOk(tune.channel_max, tune.frame_max, 0))
        self.send(0, spec.Connection.Open(virtual_host="/"))
        self.expect(spec.Connection.OpenOk)


class BlockedConnectionCloseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # A memory limit every process is past: the alarm is on from the start.
        cls.broker = harness.Broker(
            extra_config="[alarms]\nmemory_limit = 1\npaging_ratio = 2.0\n").__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def ctl(self, *args):
        binary = os.environ.get("WARREN_CTL_BIN")
        if not binary:
            self.skipTest("needs WARREN_CTL_BIN (warrenctl)")
        r = subprocess.run([binary, "-n", "127.0.0.1:%d" % self.broker.grpc_port, *args],
                           capture_output=True, text=True, timeout=WAIT * 3)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_operator_close_of_a_blocked_connection_reads_the_clients_answer(self):
        if self.broker.target != "warren":
            self.skipTest("drives warrenctl")
        c = RawConnection(self.broker.host, self.broker.port)
        self.addCleanup(c.close)
        c.handshake({"connection.blocked": True})
        c.send(1, spec.Channel.Open())
        c.expect(spec.Channel.OpenOk, 1)
        c.publish(1, "nowhere", b"x")
        c.expect(spec.Connection.Blocked)
        # The node now reads nothing from this connection until it closes it.
        local_port = c.sock.getsockname()[1]
        self.ctl("close_connection", "127.0.0.1:%d -> 127.0.0.1:%d" % (local_port, self.broker.port),
                 "maintenance")
        close = c.expect(spec.Connection.Close)
        self.assertEqual(close.reply_code, 320)
        # A close crossing the node's own (spec 4.2.2): the node answers it
        # only if it reads the socket again.
        c.send(0, spec.Connection.Close(reply_code=200, reply_text="bye", class_id=0,
                                         method_id=0))
        c.expect(spec.Connection.CloseOk)
        self.assertIsNone(c.next_frame())  # then EOF


if __name__ == "__main__":
    harness.main()
