"""warren-exporter facing hostile or careless clients and odd names: slow
clients (slowloris) do not keep Prometheus from scraping and are cut off at
their deadline; queue names that are not UTF-8, or hold quotes, backslashes
and newlines, never fail a scrape and promtool accepts it; other paths and
methods are refused; SIGTERM stops it at once with a scrape in flight."""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pika  # noqa: E402  (Debian's python3-pika)

from test_exporter import PROMTOOL, Exporter, harness, samples  # noqa: E402
from hostile import RawName, closed_by_peer, connect, raw, silent_server, slow_clients  # noqa: E402


def status_of(port, request):
    return raw(port, request)[0]

HEAD_TIMEOUT = 2


class HardeningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = harness.Broker().__enter__()
        cls.node = "127.0.0.1:%d" % cls.broker.grpc_port
        cls.exporter = Exporter([cls.node], 'head_timeout = "%ds"\n' % HEAD_TIMEOUT)

    @classmethod
    def tearDownClass(cls):
        cls.exporter.stop()
        cls.broker.__exit__(None, None, None)

    def test_slow_clients_do_not_starve_scrapes_and_are_cut_off(self):
        slow = slow_clients(self, self.exporter.port, b"GET /metrics HTTP/1.1\r\n")
        started = time.monotonic()
        text = self.exporter.metrics()
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertEqual(list(samples(text, "warren_node_up").values()), [1])
        deadline = time.monotonic() + HEAD_TIMEOUT + 10
        for s in slow:
            self.assertTrue(closed_by_peer(s, deadline), "a slow client was not cut off")

    def test_names_of_any_bytes_never_fail_a_scrape(self):
        c = pika.BlockingConnection(pika.ConnectionParameters(self.broker.host, self.broker.port))
        self.addCleanup(c.close)
        ch = c.channel()
        odd = [b"q\xff", b'quote"back\\slash\nnewline']
        for name in odd:
            ch.queue_declare(RawName(name))
        ch.queue_bind(RawName(b"q\xff"), "amq.direct", routing_key=RawName(b"key\xfe"))
        ch.basic_consume(RawName(b"q\xff"), lambda *a: None, consumer_tag=RawName(b"tag\xfd"))
        for path in ("/metrics", "/metrics/per-object"):
            text = self.exporter.metrics(path)
            self.assertEqual(list(samples(text, "warren_node_up").values()), [1], path)
            check = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                                   capture_output=True, text=True, timeout=60)
            self.assertEqual((check.returncode, check.stdout + check.stderr), (0, ""), path)
        text = self.exporter.metrics("/metrics/per-object")
        self.assertIn('queue="q\ufffd"', text)
        self.assertIn(r'queue="quote\"back\\slash\nnewline"', text)

    def test_other_paths_methods_and_bodies_are_refused(self):
        port = self.exporter.port
        self.assertEqual(status_of(port, b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n"), 404)
        self.assertEqual(status_of(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\n"
                                         b"Content-Length: 0\r\n\r\n"), 405)
        self.assertEqual(status_of(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                         b"Content-Length: 100000000\r\n\r\n"), 413)
        self.assertEqual(status_of(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                         + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n"), 431)
        self.assertEqual(status_of(port, b"NOT HTTP\r\n\r\n"), 400)


class StopTest(unittest.TestCase):
    def test_sigterm_stops_promptly_with_a_scrape_in_flight(self):
        # A "node" that accepts and never answers.
        silent, accepted = silent_server(self)
        e = Exporter(["127.0.0.1:%d" % silent], 'timeout = "60s"\n')
        self.addCleanup(e.stop)
        scrape = connect(e.port)
        self.addCleanup(scrape.close)
        scrape.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(accepted.wait(10), "the exporter never called the node")
        started = time.monotonic()
        e.proc.send_signal(signal.SIGTERM)
        self.assertEqual(e.proc.wait(timeout=10), 0)
        self.assertLess(time.monotonic() - started, 5.0)


if __name__ == "__main__":
    harness.main()
