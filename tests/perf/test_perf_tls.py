"""warren-perf over amqps:// against a warren-node serving AMQPS with a
certificate this run makes (tests/tls/certs.py): a counted run moves exactly
its messages, a churn run completes exactly its connections (each a full TLS
handshake, AMQP handshake and close), and a certificate the client does not
trust, a plain AMQP port behind an amqps:// URI, an unreadable CA file and
TLS flags without amqps:// each end the run with status 2 and one line
saying why. The node listens on free loopback ports and is stopped here.
"""
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.path.insert(0, os.path.join(HERE, "..", "tls"))

import certs  # noqa: E402
import harness  # noqa: E402
from test_perf import check, counted, perf  # noqa: E402


class PerfOverTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="warren-perf-tls-")
        cls.pki = certs.Pki(os.path.join(cls.tmp.name, "ca"))
        cls.other = certs.Pki(os.path.join(cls.tmp.name, "other"), name="Other CA")
        server = cls.pki.issue("localhost")
        cls.node = harness.Broker(args=["--amqps-listen", "127.0.0.1:0", "--tls-cert", server.cert,
                                        "--tls-key", server.key]).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.tmp.cleanup()

    def uri(self, host="localhost", port=None):
        return "amqps://guest:guest@%s:%d/%%2F" % (host, port or self.node.amqps_port)

    def test_counted_run_moves_every_message(self):
        counted("--tls-ca", self.pki.ca, "-x", 1, "-y", 1, "-s", 1024, "-C", 5000, "-D", 5000,
                "-c", 100, "-q", 100, "-u", "perf-tls", published=5000, consumed=5000,
                uri=self.uri())

    def test_churn_completes_every_connection(self):
        # By IP address: the certificate names 127.0.0.1 too.
        s = counted("--tls-ca", self.pki.ca, "--churn", "-x", 2, "-y", 1, "-C", 25, "-D", 50,
                    "-u", "perf-tls-churn", published=50, consumed=50, uri=self.uri("127.0.0.1"))
        check(s["connections"] == 50, "connections %d, want 50" % s["connections"])
        check(s["connection_rate"] > 0, "connection_rate: %s" % s)

    def refused(self, *args, uri=None):
        code, _, err, summary = perf("-C", 1, "-y", 0, *args, uri=uri or self.uri())
        self.assertEqual(code, 2, err)
        self.assertIsNone(summary)
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        return lines[0]

    def test_failures_end_the_run_with_one_line(self):
        self.assertIn("certificate not trusted", self.refused("--tls-ca", self.other.ca))
        self.assertIn("the server does not speak TLS",
                      self.refused("--tls-ca", self.pki.ca, uri=self.uri(port=self.node.port)))
        missing = os.path.join(self.tmp.name, "missing.pem")
        self.assertIn("ca_file %s: cannot be read" % missing, self.refused("--tls-ca", missing))
        self.assertIn("--tls-* options need an amqps:// URI",
                      self.refused("--tls-ca", self.pki.ca, uri=harness_uri(self.node)))
        # --tls-no-verify takes the untrusted certificate.
        code, _, err, s = perf("--tls-no-verify", "-C", 10, "-y", 0, "-u", "perf-tls-nv",
                               uri=self.uri())
        self.assertEqual((code, s and s["published"]), (0, 10), err)


def harness_uri(node):
    return "amqp://guest:guest@127.0.0.1:%d/%%2F" % node.port


if __name__ == "__main__":
    harness._terminate_on_sigterm()
    result = unittest.main(exit=False).result
    if not result.wasSuccessful():
        harness.print_logs()
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
