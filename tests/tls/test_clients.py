"""Real clients over AMQPS (docs/tls.md) against a warren-node the test
starts with a CA and certificates it makes (certs.py):

- the tutorial's Java Producer/Consumer steps with an SSLContext trusting
  the CA (amqp-client from Debian's librabbitmq-client-java), as admin with
  PLAIN and, with a PKCS12 client certificate whose CN is admin, with
  EXTERNAL;
- amqplib (npm, tests/interop/js) with amqps:// and a CA, then EXTERNAL
  with a client certificate.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.path.insert(0, HERE)

import certs  # noqa: E402
import harness  # noqa: E402
import test_java  # noqa: E402  (the tutorial's Java set-up)

P12_PASSWORD = "warren-test"


class TlsClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="warren-tls-clients-")
        pki = certs.Pki(os.path.join(cls.dir, "ca"))
        cls.ca = pki.ca
        server = pki.issue("localhost")
        cls.admin = pki.issue("admin", client=True)
        cls.p12 = os.path.join(cls.dir, "admin.p12")
        subprocess.run(["openssl", "pkcs12", "-export", "-in", cls.admin.cert, "-inkey",
                        cls.admin.key, "-out", cls.p12, "-passout", "pass:" + P12_PASSWORD],
                       check=True, capture_output=True, timeout=60)
        cls.broker = harness.Broker(
            extra_config='[tls]\nverify = "peer"\n',
            args=["--amqps-listen", "127.0.0.1:0", "--tls-cert", server.cert,
                  "--tls-key", server.key, "--tls-ca", cls.ca])
        cls.broker.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def java(self, **env):
        classes = test_java.compile_tutorial(self, os.path.join(HERE, "java"))
        env = dict(os.environ, AMQP_HOST="localhost", AMQPS_PORT=str(self.broker.amqps_port),
                   TLS_CA_FILE=self.ca, **env)
        r = subprocess.run(test_java.JAVA + ["-cp", ":".join(test_java.JARS + [classes]),
                                             "TlsTutorial"],
                           env=env, capture_output=True, text=True, timeout=180)
        self.assertEqual(r.returncode, 0, "TlsTutorial failed:\n" + r.stdout + r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["sent", "hello world"])

    def test_java_with_an_ssl_context_and_plain_login(self):
        self.java(AMQP_USER="admin", AMQP_PASSWORD="123456")

    def test_java_with_a_client_certificate_and_external(self):
        self.java(TLS_CLIENT_P12=self.p12, TLS_CLIENT_P12_PASSWORD=P12_PASSWORD)

    def test_amqplib_over_amqps_and_external(self):
        modules = os.path.join(HERE, "..", "interop", "js", "node_modules", "amqplib")
        self.assertTrue(os.path.isdir(modules), "run `make interop-deps` (npm ci) first")
        env = dict(os.environ, AMQPS_PORT=str(self.broker.amqps_port), TLS_CA_FILE=self.ca,
                   TLS_CLIENT_CERT=self.admin.cert, TLS_CLIENT_KEY=self.admin.key)
        r = subprocess.run(["node", os.path.join(HERE, "amqplib_tls.js")], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["plain ok", "external ok"])


if __name__ == "__main__":
    harness.main()
