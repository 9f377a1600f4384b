"""warren-exporter over HTTPS and reading a node whose gRPC port speaks TLS
(docs/tls.md), with a CA and certificates each run makes (tests/tls/certs.py):
Debian's Prometheus scrapes it with `scheme: https` and a client certificate
and finds the node up; /metrics over HTTPS carries the node's series; without
the CA the node is down (warren_node_up 0) while the exporter keeps serving;
a plaintext client on the HTTPS port is refused in one log line; SIGHUP
reloads the certificate."""
import os
import shutil
import socket
import sys
import tempfile
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tls"))

import https  # noqa: E402  (tests/tls/https.py)
from https import client_context  # noqa: E402
from harness import wait_for  # noqa: E402  (put on the path by https)

sys.path.insert(0, HERE)
import test_exporter  # noqa: E402  (its Prometheus)

PROMETHEUS = test_exporter.PROMETHEUS


def exporter_args(node, *more):
    return [os.environ["WARREN_EXPORTER_BIN"], "--nodes", "127.0.0.1:%d" % node.grpc_port,
            "--log-level", "info"] + list(more)


def metrics_over_https(port, ctx):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx))
    with opener.open("https://localhost:%d/metrics" % port, timeout=30) as r:
        return r.status, r.read().decode()


def node_up(text):
    """warren_node_up's value in exposition text."""
    for line in text.splitlines():
        if line.startswith("warren_node_up{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no warren_node_up in:\n" + text)


class ExporterTlsTest(unittest.TestCase):
    """One TLS node; each test its own exporter."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="warren-exporter-tls-")
        cls.pkis = https.Pkis(cls.dir)
        cls.node = https.tls_node(cls.pkis)
        cls.config = os.path.join(cls.dir, "exporter.toml")
        with open(cls.config, "w") as f:
            f.write(https.tls_table())

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def exporter(self, *more, schemes=("https",)):
        e = https.Served(exporter_args(self.node, *more), schemes=schemes)
        self.addCleanup(e.stop)
        return e

    def https_exporter(self):
        """HTTPS only (verify = peer, a client certificate required), TLS
        to the node."""
        return self.exporter("--config", self.config, "--http-listen", "none",
                             "--https-listen", "127.0.0.1:0", *https.tls_flags(self.pkis))

    def test_metrics_over_https_carry_the_tls_node(self):
        e = self.https_exporter()
        status, text = metrics_over_https(e.ports["https"],
                                          client_context(self.pkis.ca, self.pkis.alice))
        self.assertEqual(status, 200)
        self.assertEqual(node_up(text), 1, text)
        self.assertIn("rabbitmq_identity_info{", text)
        self.assertFalse(e.lines("http listening"), "no plain HTTP listener")

    def test_prometheus_scrapes_https_with_the_ca(self):
        if not os.access(PROMETHEUS, os.X_OK):
            self.fail(PROMETHEUS + " is missing (apt-get install prometheus; `make deps`)")
        e = self.https_exporter()
        query = test_exporter.prometheus(
            self, "scheme: https\ntls_config:\n  ca_file: %s\n  cert_file: %s\n"
            "  key_file: %s\nstatic_configs:\n  - targets: ['localhost:%d']\n"
            % (self.pkis.ca, self.pkis.alice.cert, self.pkis.alice.key, e.ports["https"]))

        wait_for(lambda: query('up{job="warren"}') == 1,
                 "Prometheus scrapes the exporter over HTTPS (up == 1)", timeout=60)
        wait_for(lambda: query("warren_node_up") == 1,
                 "Prometheus reads warren_node_up 1 (the exporter reached the TLS node)",
                 timeout=60)

    def test_without_the_ca_the_node_is_down_and_the_exporter_serves(self):
        e = self.exporter("--http-listen", "127.0.0.1:0", schemes=("http",))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open("http://127.0.0.1:%d/metrics" % e.ports["http"], timeout=30) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(node_up(r.read().decode()), 0)
        self.assertTrue(e.alive(), e.logs())

    def test_plaintext_on_the_https_port_is_refused_in_one_line(self):
        e = self.https_exporter()
        with socket.create_connection(("127.0.0.1", e.ports["https"]), timeout=10) as sock:
            local_port = sock.getsockname()[1]
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
            self.assertFalse(sock.recv(4096).startswith(b"HTTP/"))
        who = "TLS handshake with 127.0.0.1:%d refused: http request" % local_port
        wait_for(lambda: e.lines(who), "warren-exporter logs '%s'" % who, timeout=10)
        self.assertEqual(len(e.lines(who)), 1)
        status, _ = metrics_over_https(e.ports["https"],
                                       client_context(self.pkis.ca, self.pkis.alice))
        self.assertEqual(status, 200)

    def test_sighup_reloads_the_certificate(self):
        e = self.https_exporter()
        e.hangup()
        done = "https: certificates reloaded from " + self.pkis.server.cert
        wait_for(lambda: e.lines(done), "warren-exporter logs '%s'" % done, timeout=10)
        self.assertTrue(e.alive())
        status, _ = metrics_over_https(e.ports["https"],
                                       client_context(self.pkis.ca, self.pkis.alice))
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
