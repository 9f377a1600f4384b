"""warren-balancer against clients and servers that try to use it up: silent
clients, a full maxconn, half-closed sessions, servers that stop reading or
never answer a connect, idle sessions' memory, running out of file
descriptors, slow clients of the stats page, bytes from a backend or a
stats client that would forge log lines, and names that would break the
stats page. Servers that misbehave are lb.FakeServer threads; a real
warren-node stands in where an AMQP client is involved."""
import os
import re
import resource
import select
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lb  # noqa: E402
from lb import connect, harness, round_trip, wait_closed, wait_until  # noqa: E402

import pika  # noqa: E402

IDLE = {"sessions": 0, "buffers": 0, "buffered_bytes": 0}


def close_later(test, conn):
    """Closes `conn` at cleanup, if the test left it open and it still works."""
    def close():
        try:
            if conn.is_open:
                conn.close()
        except pika.exceptions.AMQPError:
            pass
    test.addCleanup(close)
    return conn


def balancer(test, servers, **kwargs):
    b = lb.Balancer(servers, **kwargs).__enter__()
    test.addCleanup(b.stop)
    return b


def fake(test, mode="hold", payload=b""):
    server = lb.FakeServer(mode, payload)
    test.addCleanup(server.close)
    return server


def open_clients(test, b, count, source="127.0.0.1"):
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.bind((source, 0))
        s.connect((b.host, b.port))
        test.addCleanup(s.close)
        socks.append(s)
    return socks


def fill(sock, stuck, timeout=10):
    """Sends on `sock` as fast as it takes bytes until `stuck()` says the
    balancer holds them back; returns how many were sent."""
    sock.setblocking(False)
    chunk, sent = b"x" * 65536, 0
    deadline = time.monotonic() + timeout
    while True:
        try:
            sent += sock.send(chunk)
            continue
        except BlockingIOError:
            pass
        if stuck():
            return sent
        if time.monotonic() > deadline:
            raise AssertionError("the balancer never held bytes back (%d B sent)" % sent)
        select.select([], [sock], [], 0.2)


def log_is_clean(test, b):
    """Every log line is one of the balancer's own (date first): no line was
    forged by a newline in bytes from outside, and no control byte got in."""
    forged = [l for l in b.lines if not re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[", l)]
    test.assertEqual(forged, [], b.log())
    test.assertFalse(re.search(r"[\x00-\x08\x0b-\x1f\x7f]", b.log()), b.log())


def closed_one(sock):
    """True when the peer has closed `sock` (nothing to read is expected)."""
    sock.settimeout(0)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def listener(b):
    return b.stats()["listeners"][0]


def server_sessions(b, name):
    return b.servers()[name]["current_sessions"]


class IdleTimeouts(unittest.TestCase):
    """timeout_client/timeout_server as haproxy applies them: inactivity of
    one side, where a byte read from it or written to it is activity."""

    def test_silent_clients_are_closed_after_timeout_client(self):
        backend = fake(self)
        b = balancer(self, [lb.server_toml("hold", backend.port, check=False)],
                     timeout_client="1s", timeout_server="60s")
        socks = open_clients(self, b, 5)
        wait_until(lambda: server_sessions(b, "hold") == 5, 5, "five sessions connected")
        start = time.monotonic()
        for s in socks:
            wait_closed(s, 10, "the silent client is closed")
        self.assertGreater(time.monotonic() - start, 0.5, "closed by the timeout, not at once")
        wait_until(lambda: b.log().count("-> hold: client timeout after") == 5, 5,
                   "five 'client timeout' lines:\n" + b.log())

    def test_half_closed_session_of_a_silent_client_ends_after_the_fin_timeout(self):
        # The server hangs up at once (as a node does when the AMQP handshake
        # times out); the silent client keeps its end open. timeout_client is
        # long: the session must end on timeout_client_fin (5 s by default).
        backend = fake(self, "close")
        b = balancer(self, [lb.server_toml("closer", backend.port, check=False)],
                     timeout_client="120s", timeout_server="120s")
        s = open_clients(self, b, 1)[0]
        s.settimeout(5)
        self.assertEqual(s.recv(1), b"", "the server's FIN is passed on")
        wait_until(lambda: listener(b)["current_sessions"] == 0, 12,
                   "the half-closed session ends; stats %s" % listener(b))
        b.wait_log("-> closer: client timeout (half-closed) after")

    def test_server_that_stops_reading_is_cut_by_timeout_server(self):
        # The server keeps talking (so it is not silent) but never reads: the
        # client's bytes wait in the balancer, at most one buffer of them,
        # and timeout_server ends the session although the client side is
        # busy and timeout_client is long.
        backend = fake(self, "talk")
        b = balancer(self, [lb.server_toml("deaf", backend.port, check=False)],
                     timeout_client="120s", timeout_server="3s")
        s = open_clients(self, b, 1)[0]
        wait_until(lambda: server_sessions(b, "deaf") == 1, 5, "session connected")
        sent = fill(s, lambda: b.process()["buffers"] == 1)
        gauges = b.process()
        self.assertEqual(gauges["buffers"], 1)
        self.assertLessEqual(gauges["buffered_bytes"], 65536, "%d B sent" % sent)
        start = time.monotonic()
        wait_closed(s, 15, "the session is cut by timeout_server")
        self.assertGreater(time.monotonic() - start, 1.0)
        b.wait_log("-> deaf: server timeout after")
        wait_until(lambda: b.process() == IDLE, 5, "nothing held: %s" % b.process())


    def test_client_held_back_by_a_stuck_server_is_not_idle(self):
        # The client's bytes wait for a server that takes none: the client
        # is not read meanwhile, which is not inactivity of the client, so
        # the session ends on timeout_server although timeout_client is
        # shorter.
        backend = fake(self, "mute")
        b = balancer(self, [lb.server_toml("mute", backend.port, check=False)],
                     timeout_client="1s", timeout_server="3s")
        s = open_clients(self, b, 1)[0]
        wait_until(lambda: server_sessions(b, "mute") == 1, 5, "session connected")
        fill(s, lambda: b.process()["buffers"] == 1)
        start = time.monotonic()
        wait_closed(s, 15, "the session is cut by timeout_server")
        b.wait_log("-> mute: server timeout after")
        self.assertGreater(time.monotonic() - start, 1.5, "not timeout_client")


class NodeTimeouts(lb.OneNodeTest):
    def test_one_way_traffic_keeps_both_sides_active(self):
        # A publisher that never hears back from its node (no confirms, no
        # heartbeats) and a consumer that never speaks (auto-ack): each
        # side sees bytes in one direction only, which is activity.
        b = self.balancer(timeout_client="1s", timeout_server="1s")
        publisher, consumer = close_later(self, connect(b)), close_later(self, connect(b))
        cch = consumer.channel()
        q = cch.queue_declare("", exclusive=True).method.queue
        got = []
        cch.basic_consume(q, lambda ch, m, p, body: got.append(body), auto_ack=True)
        pch = publisher.channel()
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < 3.5:  # three and a half timeouts
            pch.basic_publish("", q, b"m%d" % i)
            i += 1
            consumer.process_data_events(time_limit=0.1)
        wait_until(lambda: consumer.process_data_events(time_limit=0.05) or len(got) == i, 5,
                   "the consumer gets all %d messages (got %d)" % (i, len(got)))
        self.assertEqual(round_trip(publisher), b"ping")
        self.assertNotIn("timeout", b.log())

    def test_heartbeats_keep_an_idle_connection_open(self):
        # heartbeat 60 s under timeout 120 s, scaled down: pika beats every
        # half heartbeat, so the idle connection is never idle for a timeout.
        b = self.balancer(timeout_client="2s", timeout_server="2s")
        conn = close_later(self, connect(b, heartbeat=1))
        conn.sleep(5)  # the duration under test: pika keeps beating meanwhile
        self.assertEqual(round_trip(conn), b"ping")
        self.assertNotIn("timeout", b.log())

    def test_maxconn_full_of_silent_clients_lets_a_real_client_in(self):
        b = self.balancer(maxconn=10, timeout_client="1s")
        silent = open_clients(self, b, 10)
        wait_until(lambda: listener(b)["current_sessions"] == 10, 5, "ten silent sessions")
        start = time.monotonic()
        with connect(b) as conn:  # waits in the backlog until a silent one times out
            self.assertEqual(round_trip(conn), b"ping")
        self.assertLess(time.monotonic() - start, 10)
        for s in silent:
            wait_closed(s, 5, "the silent client is closed")


class Connect(unittest.TestCase):
    def test_blackhole_server_times_out_and_the_next_server_takes_the_client(self):
        port, holders = lb.blackhole()
        for h in holders:
            self.addCleanup(h.close)
        with harness.Broker() as node:
            b = balancer(self, [lb.server_toml("hole", port, check=False),
                                lb.server_toml("node1", node.port)],
                         timeout_connect="300ms", retries=3)
            b.wait_checked(["node1"])
            conns = [connect(b) for _ in range(2)]  # roundrobin: one is sent to the hole first
            for c in conns:
                self.assertEqual(round_trip(c), b"ping")
                c.close()
        b.wait_log("connect to hole (127.0.0.1:%d) failed: Connection timed out, retrying on "
                   "node1" % port)

    def test_only_a_blackhole_gives_up_after_retries(self):
        port, holders = lb.blackhole()
        for h in holders:
            self.addCleanup(h.close)
        b = balancer(self, [lb.server_toml("hole", port, check=False)],
                     timeout_connect="300ms", retries=2)
        s = open_clients(self, b, 1)[0]
        start = time.monotonic()
        wait_closed(s, 10, "closed once every attempt timed out")
        self.assertGreater(time.monotonic() - start, 0.8, "three attempts of 300 ms")
        b.wait_log("-> hole: no server could be reached")
        self.assertEqual(b.log().count("connect to hole (127.0.0.1:%d) failed: Connection timed "
                                       "out" % port), 3)


class Memory(unittest.TestCase):
    def test_idle_sessions_hold_no_buffers_and_leave_nothing_behind(self):
        count = 300
        backend = fake(self)
        b = balancer(self, [lb.server_toml("hold", backend.port, check=False)],
                     timeout_client="60s", timeout_server="60s")
        b.stats()  # the stats page has served once: its own allocations are made
        before = b.rss_kib()
        socks = open_clients(self, b, count)
        wait_until(lambda: server_sessions(b, "hold") == count, 10, "%d sessions" % count)
        # Two 64 KiB buffers each would be 37 MiB; a session itself is a few KiB.
        grown = b.rss_kib() - before
        self.assertLess(grown, count * 16, "RSS grew by %d KiB for %d idle sessions" % (grown, count))
        self.assertEqual(b.process(), {"sessions": count, "buffers": 0, "buffered_bytes": 0})
        for s in socks:
            s.close()
        wait_until(lambda: b.process() == IDLE, 10, "sessions released: %s" % b.process())
        kept = b.rss_kib() - before
        self.assertLess(kept, count * 16, "RSS still %d KiB above the start" % kept)

    def test_large_transfers_both_ways_with_half_close(self):
        # Bytes the slower side cannot take at once wait in a buffer and go
        # out in order; a FIN goes on after them.
        echo = fake(self, "echo_at_eof")
        flood = fake(self, "flood", payload=bytes(range(256)) * 16384)  # 4 MiB
        b = balancer(self, [lb.server_toml("echo", echo.port, check=False)])
        s = open_clients(self, b, 1)[0]
        s.sendall(os.urandom(3 << 20))
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(wait_closed(s, 20, "the echo server answers and closes"),
                         b"got %d bytes" % (3 << 20))
        b2 = balancer(self, [lb.server_toml("flood", flood.port, check=False)])
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader
        s.connect((b2.host, b2.port))
        self.addCleanup(s.close)
        held = wait_until(lambda: (lambda p: p if p["buffers"] == 1 else None)(b2.process()), 10,
                          "the balancer holds what the client cannot take")
        self.assertLessEqual(held["buffered_bytes"], 65536)
        got = wait_closed(s, 20, "the flood arrives whole")
        self.assertEqual(len(got), len(flood.payload))
        self.assertEqual(got, flood.payload)
        wait_until(lambda: b2.process() == IDLE, 5, "session released: %s" % b2.process())


class FileDescriptors(unittest.TestCase):
    def test_running_out_of_descriptors_pauses_accepting_without_spinning(self):
        backend = fake(self)
        b = balancer(self, [lb.server_toml("hold", backend.port, check=False)],
                     timeout_client="60s", timeout_server="60s")
        open_clients(self, b, 5)
        # Connected to the server: every descriptor of the five sessions is
        # open (no stats request yet, whose socket could close meanwhile).
        wait_until(lambda: backend.accepted == 5, 5, "five sessions connected")
        fds = b.fds()
        # Lower the balancer's file limit to its lowest free descriptor: from
        # now on every accept fails with EMFILE, until the limit is raised.
        lowest_free = min(set(range(len(fds) + 1)) - fds)
        limits = resource.prlimit(b.proc.pid, resource.RLIMIT_NOFILE)
        resource.prlimit(b.proc.pid, resource.RLIMIT_NOFILE, (lowest_free, limits[1]))
        open_clients(self, b, 2)
        b.wait_log("rabbitmq_cluster: accept failed: Too many open files")
        stats = []
        for _ in range(3):
            s = socket.create_connection((b.host, b.stats_port), timeout=5)
            s.sendall(b"GET /rabbitmq_stats?format=json HTTP/1.0\r\n\r\n")
            self.addCleanup(s.close)
            stats.append(s)
        used, wall = b.cpu_seconds(), time.monotonic()
        time.sleep(1.5)  # the span measured: a loop retrying at once burns all of it
        cpu, wall = b.cpu_seconds() - used, time.monotonic() - wall
        self.assertLess(cpu, 0.1, "%.2f s of CPU in %.2f s while out of descriptors" % (cpu, wall))
        resource.prlimit(b.proc.pid, resource.RLIMIT_NOFILE, limits)
        for s in stats:
            reply = wait_closed(s, 10, "the stats request is answered once accepts work again")
            self.assertTrue(reply.startswith(b"HTTP/1.0 200 OK"), reply[:100])
        wait_until(lambda: server_sessions(b, "hold") == 7, 5, "the waiting clients get in")
        b.wait_log("rabbitmq_cluster: accepting again after")
        self.assertEqual(b.log().count("rabbitmq_cluster: accept failed"), 1, "logged once")


class StatsPage(unittest.TestCase):
    def setUp(self):
        self.backend = fake(self)
        self.b = balancer(self, [lb.server_toml("hold", self.backend.port, check=False)])

    def raw(self, request, timeout=5):
        with socket.create_connection((self.b.host, self.b.stats_port), timeout=timeout) as s:
            s.sendall(request)
            return wait_closed(s, timeout, "an answer to %r" % request[:40])

    def test_slow_clients_cannot_hold_the_stats_page(self):
        slow = []
        for _ in range(150):
            s = socket.create_connection((self.b.host, self.b.stats_port), timeout=5)
            s.sendall(b"GET /rabbitmq_stats HTTP/1.0\r\n")  # and never the end of the headers
            self.addCleanup(s.close)
            slow.append(s)
        opened = time.monotonic()

        def closed():
            return sum(1 for s in slow if closed_one(s))
        # Each slow client beyond 64 closes the oldest one, well before the
        # 5 s a request may take.
        count = wait_until(lambda: (lambda n: n if n >= 150 - 64 else None)(closed()), 3,
                           "slow clients beyond 64 closed")
        self.assertLess(time.monotonic() - opened, 5.0, "before their own deadline")
        self.assertEqual(count, 150 - 64)
        status, _, _ = self.b.http("/rabbitmq_stats")
        self.assertEqual(status, 200)
        survivors = [s for s in slow if not closed_one(s)]
        self.assertEqual(len(survivors), 63, "the page's request took the oldest one's place")
        for s in survivors:  # and the rest still get no more than 5 s
            wait_closed(s, 10, "a slow client is closed at its deadline")

    def test_bad_requests_get_4xx_and_are_logged_escaped(self):
        reply = self.raw(b"GET /" + b"a" * 9000)
        self.assertTrue(reply.startswith(b"HTTP/1.0 431 "), reply[:80])
        self.assertIn(b"8 KiB", reply)
        reply = self.raw(b"POST /rabbitmq_stats HTTP/1.0\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.0 405 "), reply[:80])
        self.assertIn(b"Allow: GET, HEAD", reply)
        reply = self.raw(b"GET /\x1b[2J\x07\r\nX-Forged: 1\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.0 400 "), reply[:80])
        reply = self.raw(b"HEAD /rabbitmq_stats HTTP/1.0\r\n\r\n")
        head, _, body = reply.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.0 200 OK"), head)
        self.assertEqual(body, b"", "HEAD has no body")
        self.b.wait_log('"GET /\\x1b[2J\\x07" 400')
        log_is_clean(self, self.b)


class Names(unittest.TestCase):
    def test_every_value_on_the_stats_page_is_escaped(self):
        backend = fake(self)
        name = "a<b>&'\"\\c"
        toml_name = name.replace("\\", "\\\\").replace('"', '\\"')
        server = lb.server_toml("x", backend.port, check=False).replace(
            'name = "x"', 'name = "%s"' % toml_name)
        b = balancer(self, [server])
        self.assertIn(name, b.servers(), "JSON carries the name as it is")
        _, _, html = b.http("/rabbitmq_stats")
        self.assertIn("<td>a&lt;b&gt;&amp;&#39;&quot;\\c</td>", html)
        self.assertNotIn(name, html)
        _, _, metrics = b.http("/metrics")
        self.assertIn('warren_balancer_server_up{listener="rabbitmq_cluster",'
                      'server="a<b>&\'\\"\\\\c"} 1', metrics)


class HealthCheckBytes(unittest.TestCase):
    def test_malformed_backends_go_down_and_their_bytes_are_logged_escaped(self):
        cases = {
            # An HTTP server on the port, trying to forge a log line.
            "http": b"HTTP/1.1 400 Bad Request\r\n\x1b[31mrabbitmq_cluster/x is UP\r\n",
            # A frame header announcing 4 GiB: refused on sight.
            "huge": b"\x01\x00\x00\xff\xff\xff\xf0",
            # A method frame whose payload is not connection.start.
            "garbled": b"\x01\x00\x00\x00\x00\x00\x04\xff\xff\xff\xff\xce",
            # A broker of another AMQP version (spec 4.2.2).
            "amqp10": b"AMQP\x00\x01\x00\x00",
        }
        servers = {name: fake(self, "reply", payload) for name, payload in cases.items()}
        b = balancer(self, [lb.server_toml(name, s.port, inter="100ms", fall=1)
                            for name, s in servers.items()])
        for name in cases:
            b.wait_state(name, "DOWN", timeout=10)
        details = {n: s["last_check"]["detail"] for n, s in b.servers().items()}
        self.assertEqual(details["http"], "not an AMQP frame (FRAME_ERROR - unknown frame type "
                         "72); the server sent 'HTTP/1.1 400 Bad Request\\r\\n\\x1b[31m"
                         "rabbitmq_cluster/x is UP\\r\\n'")
        self.assertIn("exceeds frame_max 65536", details["huge"])
        self.assertIn("first frame is not connection.start; the server sent '\\x01\\x00",
                      details["garbled"])
        self.assertEqual(details["amqp10"], "the server wants another protocol version, it sent "
                         "'AMQP\\x00\\x01\\x00\\x00'")
        b.wait_log("the server sent 'HTTP/1.1 400 Bad Request\\r\\n\\x1b[31m")
        log_is_clean(self, b)
        self.assertIsNone(b.proc.poll())


class PerSource(unittest.TestCase):
    def test_maxconn_per_source_refuses_one_address_and_not_the_others(self):
        backend = fake(self)
        b = balancer(self, [lb.server_toml("hold", backend.port, check=False)],
                     listen_extra="maxconn_per_source = 3\n")
        first = open_clients(self, b, 3, source="127.0.0.2")
        wait_until(lambda: server_sessions(b, "hold") == 3, 5, "three sessions from 127.0.0.2")
        extra = open_clients(self, b, 1, source="127.0.0.2")[0]
        wait_closed(extra, 5, "a fourth client from 127.0.0.2 is refused")
        b.wait_log("127.0.0.2 already holds 3 sessions (maxconn_per_source); refusing client "
                   "127.0.0.2:")
        open_clients(self, b, 2, source="127.0.0.3")
        wait_until(lambda: server_sessions(b, "hold") == 5, 5, "127.0.0.3 is let in")
        first[0].close()
        wait_until(lambda: server_sessions(b, "hold") == 4, 10, "a slot of 127.0.0.2 frees")
        open_clients(self, b, 1, source="127.0.0.2")
        wait_until(lambda: server_sessions(b, "hold") == 5, 5, "127.0.0.2 may come back")
        self.assertEqual(listener(b)["errors"], 1)


if __name__ == "__main__":
    lb.main()
