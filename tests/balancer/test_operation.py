"""Running warren-balancer: its command line, bad config files, SIGHUP and
SIGTERM, the stats page in its three formats, maxconn, and clients and
servers that misbehave (the balancer keeps serving and says so in its log)."""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lb  # noqa: E402
from lb import connect, harness, node_connections, round_trip, wait_until  # noqa: E402


HEADER = b"AMQP\x00\x00\x09\x01"


def run(*args, env=None):
    return subprocess.run([lb.binary(), *args], capture_output=True, text=True, timeout=30,
                          env=env)


class CommandLine(unittest.TestCase):
    def test_help_and_version(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--config", r.stdout)
        r = run("--version")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "warren-balancer 0.1.0"))

    def bad(self, text, env_var=False):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write(text)
        self.addCleanup(os.unlink, f.name)
        if env_var:
            r = run(env=dict(os.environ, WARREN_CONFIG=f.name))
        else:
            r = run("--config", f.name)
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        return lines[0]

    def test_bad_files_are_refused_with_one_line_naming_the_key(self):
        template = lb.Balancer([("node1", 5672)])
        template.stop()  # never started: removes its temp dir
        good = template.config_text([("node1", 5672)])
        cases = [
            (good.replace("retries = 3", "retries = 3\nretry = 1"), "defaults.retry: unknown key"),
            (good.replace('inter = "100ms"', 'inter = "5 parsecs"'),
             "listen[0].server[0].inter: expected a duration"),
            (good.replace('balance = "roundrobin"', 'balance = "random"'),
             "listen[0].balance: must be \"roundrobin\", \"leastconn\" or \"source\""),
            (good.replace('check = "amqp"', 'check = "http"'), "listen[0].server[0].check:"),
            (good.replace('rise = 2', 'rise = 0'), "listen[0].server[0].rise: must be between 1"),
            (good.replace('address = "127.0.0.1:5672"', 'address = "nowhere"'),
             "listen[0].server[0].address: expected HOST:PORT"),
            (good.replace('mode = "tcp"', 'mode = "http"'), "listen[0].mode: only \"tcp\""),
            ("[global\nmaxconn = 1", ":1: "),
            # Timeouts: 0 would let a silent peer hold a session for ever;
            # negative or past haproxy's 24.8 days makes no sense.
            (good.replace('timeout_client = "120s"', 'timeout_client = "0s"'),
             "defaults.timeout_client: must be above 0"),
            (good.replace('timeout_server = "120s"', 'timeout_server = 0'),
             "defaults.timeout_server: must be above 0"),
            (good.replace('timeout_server = "120s"', 'timeout_server = -5'),
             "defaults.timeout_server: must not be negative"),
            (good.replace('timeout_client = "120s"', 'timeout_client = "-1s"'),
             "defaults.timeout_client: must not be negative"),
            (good.replace('timeout_connect = "1s"', 'timeout_connect = "999999999999h"'),
             "defaults.timeout_connect: must be at most 2147483647ms"),
            (good.replace('timeout_client = "120s"', 'timeout_client = "25d"'),
             "defaults.timeout_client: must be at most 2147483647ms"),
            (good.replace('timeout_server = "120s"', 'timeout_server = "999999999999d"'),
             "defaults.timeout_server: must be at most 2147483647ms"),
            (good.replace('retries = 3', 'retries = 3\ntimeout_client_fin = "0ms"'),
             "defaults.timeout_client_fin: must be above 0"),
            (good.replace('refresh = "5s"', 'refresh = "0s"'), "stats.refresh: must be above 0"),
            (good.replace('name = "node1"', 'name = "node\\u001b[2J1"'),
             "listen[0].server[0].name: must not contain control characters"),
            (good.replace('uri = "/rabbitmq_stats"', 'uri = "/a b"'),
             "stats.uri: must be a path of visible ASCII characters"),
            (good.replace('maxconn = 0\n', 'maxconn = 0\nmaxconn_per_source = -1\n'),
             "listen[0].maxconn_per_source: must be between 0 and 1000000"),
        ]
        for text, expected in cases:
            with self.subTest(expected=expected):
                self.assertIn(expected, self.bad(text))
        self.assertIn("stats.colour: unknown key", self.bad(good + 'colour = "red"\n', True))

    def test_unreadable_file(self):
        r = run("--config", "/nonexistent/balancer.toml")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(),
                         "warren-balancer: /nonexistent/balancer.toml: cannot be read")


class WithOneNode(lb.OneNodeTest):
    def test_unreachable_server_is_logged_marked_down_and_skipped(self):
        dead = harness.free_port()
        b = self.balancer([("node1", self.node.port), ("ghost", dead)])
        b.wait_state("ghost", "DOWN")
        b.wait_log("rabbitmq_cluster/ghost (127.0.0.1:%d) is DOWN (2 checks failed: connect: "
                   "Connection refused)" % dead)
        conns = [connect(b) for _ in range(3)]
        self.assertEqual(node_connections(self.node), 3)
        self.assertEqual(b.servers()["ghost"]["total_sessions"], 0)
        for c in conns:
            c.close()
        self.assertIsNone(b.proc.poll())

    def test_garbage_and_abrupt_clients_leave_the_balancer_serving(self):
        b = self.balancer()
        ports = []
        for i in range(10):
            s = socket.create_connection((b.host, b.port))
            ports.append(s.getsockname()[1])
            # Accepted and being served before it misbehaves.
            wait_until(lambda: b.stats()["listeners"][0]["total_sessions"] == i + 1, 5,
                       "client %d accepted" % i)
            if i % 2:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(512))
                s.close()
                continue
            s.sendall(HEADER[:5])
            # RST instead of FIN: SO_LINGER with a zero timeout.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        for p in ports:
            b.wait_log("client 127.0.0.1:%d -> node1: " % p)
        self.assertTrue(re.search(r"client 127\.0\.0\.1:\d+ -> node1: client error: "
                                  r"Connection reset by peer", b.log()), b.log())
        with connect(b) as conn:
            self.assertEqual(round_trip(conn), b"ping")
        self.assertIsNone(b.proc.poll())

    def test_sighup_rereads_the_file_and_keeps_established_sessions(self):
        b = self.balancer()
        conn = connect(b)
        self.addCleanup(lambda: conn.is_open and conn.close())
        b.write_config([("node1", self.node.port), ("spare", harness.free_port())],
                       balance="leastconn")
        mark = len(b.lines)
        b.signal(signal.SIGHUP)
        b.wait_log("SIGHUP: reloaded", start=mark)
        self.assertEqual(b.stats()["listeners"][0]["balance"], "leastconn")
        self.assertEqual(sorted(b.servers()), ["node1", "spare"])
        self.assertEqual(b.servers()["node1"]["current_sessions"], 1, "state kept across reload")
        self.assertEqual(round_trip(conn), b"ping")
        # A bad file is logged and changes nothing.
        with open(b.config_path, "a") as f:
            f.write("\nbogus = 1\n")
        mark = len(b.lines)
        b.signal(signal.SIGHUP)
        b.wait_log("bogus: unknown key; keeping the running configuration", start=mark)
        self.assertEqual(sorted(b.servers()), ["node1", "spare"])
        self.assertEqual(round_trip(conn), b"ping")

    def test_sigterm_stops_accepting_and_lets_sessions_finish(self):
        b = self.balancer()
        conn = connect(b)
        b.signal(signal.SIGTERM)
        b.wait_log("rabbitmq_cluster: stopped accepting (1 sessions still open)")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((b.host, b.port), timeout=2)
        self.assertEqual(round_trip(conn), b"ping")
        self.assertIsNone(b.proc.poll(), "still running while a session is open")
        conn.close()
        self.assertEqual(b.proc.wait(timeout=5), 0)

    def test_stats_page_json_and_metrics(self):
        b = self.balancer()
        with connect(b) as conn:
            round_trip(conn)
            status, ctype, html = b.http("/rabbitmq_stats")
            self.assertEqual((status, ctype), (200, "text/html; charset=utf-8"))
            self.assertIn('<meta http-equiv="refresh" content="5">', html)
            self.assertRegex(html, r"<td>node1</td><td>127\.0\.0\.1:%d</td><td>UP</td>"
                             % self.node.port)
            server = b.servers()["node1"]
            self.assertEqual((server["current_sessions"], server["total_sessions"]), (1, 1))
            self.assertGreater(server["bytes_in"], 0)
            self.assertGreater(server["bytes_out"], 0)
            self.assertTrue(server["last_check"]["detail"].startswith("connection.start, AMQP 0-9"))
            status, ctype, metrics = b.http("/metrics")
            self.assertEqual(status, 200)
            self.assertIn('warren_balancer_server_up{listener="rabbitmq_cluster",server="node1"} 1',
                          metrics)
            self.assertIn('warren_balancer_server_current_sessions{listener="rabbitmq_cluster",'
                          'server="node1"} 1', metrics)

    def test_maxconn_holds_excess_clients_in_the_backlog(self):
        b = self.balancer(maxconn=2)
        first = [connect(b) for _ in range(2)]
        waiting = socket.create_connection((b.host, b.port), timeout=5)
        self.addCleanup(waiting.close)
        waiting.sendall(HEADER)
        waiting.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            waiting.recv(1)  # not accepted yet: no connection.start
        first[0].close()
        waiting.settimeout(5)
        self.assertEqual(waiting.recv(1), b"\x01", "connection.start once a slot frees")
        first[1].close()


if __name__ == "__main__":
    lb.main()
