"""AMQPS (docs/tls.md) against a warren-node the tests start, with a CA and
certificates each run makes (certs.py): pika and openssl s_client over TLS
(a TLS 1.3 key update included),
EXTERNAL logins by the certificate's CN, every refusal the node must log in
one line while it keeps serving (plaintext on the TLS port, TLS 1.0, an
expired or untrusted certificate, no certificate where one is required, a
handshake that never finishes), SIGHUP reloading the certificates without
dropping a connection, and warrenctl reaching the node's gRPC port over TLS.
"""
import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.path.insert(0, HERE)

import pika  # noqa: E402  (Debian's python3-pika)

import certs  # noqa: E402
import harness  # noqa: E402
from https import eof_within  # noqa: E402
from harness import wait_for  # noqa: E402

HANDSHAKE_TIMEOUT_MS = 500


def tls_config(verify="peer", fail_if_no_peer_cert=False):
    return ('[tls]\nverify = "%s"\nfail_if_no_peer_cert = %s\nhandshake_timeout = %d\n'
            % (verify, "true" if fail_if_no_peer_cert else "false", HANDSHAKE_TIMEOUT_MS))


def tls_args(server, ca):
    return ["--amqps-listen", "127.0.0.1:0", "--tls-cert", server.cert, "--tls-key", server.key,
            "--tls-ca", ca]


def client_context(ca, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def connect(broker, ctx, credentials=None):
    params = pika.ConnectionParameters(
        "localhost", broker.amqps_port, "/",
        credentials or pika.PlainCredentials("admin", "123456"),
        ssl_options=pika.SSLOptions(ctx, "localhost"), heartbeat=0,
        connection_attempts=1, socket_timeout=10, blocked_connection_timeout=10)
    return pika.BlockingConnection(params)


def round_trip(test, conn, queue, body):
    ch = conn.channel()
    ch.queue_declare(queue, auto_delete=True)
    ch.confirm_delivery()
    ch.basic_publish("", queue, body)
    method, _, got = ch.basic_get(queue, auto_ack=True)
    test.assertIsNotNone(method, "the message published over TLS came back")
    test.assertEqual(got, body)
    ch.close()


def warrenctl(broker, *args, tls_ca=None):
    cmd = [os.environ["WARREN_CTL_BIN"], "-n", "127.0.0.1:%d" % broker.grpc_port,
           "-u", "admin", "-p", "123456", "-t", "10"]
    if tls_ca:
        cmd += ["--tls-ca", tls_ca]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60)


def connections(broker, ca):
    p = warrenctl(broker, "list_connections", "user", "ssl", "ssl_protocol", "auth_mechanism",
                  "peer_cert_subject", "--formatter", "json", tls_ca=ca)
    if p.returncode != 0:
        raise AssertionError("warrenctl list_connections: " + p.stderr)
    return json.loads(p.stdout)


def log_has(broker, text):
    return text in broker.logs()


class Pkis:
    """The run's CA, the node's certificate and the clients' certificates."""

    def __init__(self, directory):
        self.pki = certs.Pki(os.path.join(directory, "ca"))
        self.ca = self.pki.ca
        self.server = self.pki.issue("localhost")
        self.admin = self.pki.issue("admin", client=True)
        self.nobody = self.pki.issue("nobody", client=True)
        self.expired = self.pki.issue("admin", client=True, expired=True)
        self.other = certs.Pki(os.path.join(directory, "other"), name="Other CA")
        self.stranger = self.other.issue("admin", client=True)


def read_until(stream, marker, seconds=15):
    """What `stream` (a pipe) gives until `marker` shows or it ends or times out."""
    got = b""
    deadline = time.monotonic() + seconds
    while marker not in got and time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], deadline - time.monotonic())
        if not ready:
            break
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        got += chunk
    return got


class AmqpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="warren-tls-")
        cls.pkis = Pkis(cls.dir)
        cls.broker = harness.Broker(extra_config=tls_config(),
                                    args=tls_args(cls.pkis.server, cls.pkis.ca))
        cls.broker.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def still_serving(self):
        with connect(self.broker, client_context(self.pkis.ca)) as conn:
            round_trip(self, conn, "still-serving", b"after a refusal")

    def test_pika_publishes_and_gets_over_tls(self):
        body = os.urandom(300_000)  # several TLS records, several frames
        with connect(self.broker, client_context(self.pkis.ca)) as conn:
            round_trip(self, conn, "tls-pika", body)
            rows = [r for r in connections(self.broker, self.pkis.ca) if r["user"] == "admin"]
            self.assertEqual(len(rows), 1, rows)
            self.assertTrue(rows[0]["ssl"])
            self.assertIn(rows[0]["ssl_protocol"], ("TLSv1.3", "TLSv1.2"))
            self.assertEqual(rows[0]["auth_mechanism"], "PLAIN")
            self.assertEqual(rows[0]["peer_cert_subject"], "")

    def test_plain_listener_still_serves_beside_amqps(self):
        params = pika.ConnectionParameters(self.broker.host, self.broker.port, "/",
                                           pika.PlainCredentials("admin", "123456"))
        with pika.BlockingConnection(params) as conn:
            round_trip(self, conn, "tls-beside-plain", b"plain")

    def test_external_logs_in_as_the_certificates_cn(self):
        ctx = client_context(self.pkis.ca, self.pkis.admin.cert, self.pkis.admin.key)
        with connect(self.broker, ctx, pika.credentials.ExternalCredentials()) as conn:
            round_trip(self, conn, "tls-external", b"by certificate")
            rows = [r for r in connections(self.broker, self.pkis.ca)
                    if r["auth_mechanism"] == "EXTERNAL"]
            self.assertEqual(len(rows), 1, rows)
            self.assertEqual(rows[0]["user"], "admin")
            self.assertIn("CN=admin", rows[0]["peer_cert_subject"])

    def test_external_refuses_a_cn_that_is_no_user(self):
        ctx = client_context(self.pkis.ca, self.pkis.nobody.cert, self.pkis.nobody.key)
        with self.assertRaises(pika.exceptions.AMQPConnectionError):
            connect(self.broker, ctx, pika.credentials.ExternalCredentials())
        wait_for(lambda: log_has(self.broker, "login refused for user 'nobody'"),
                 "the refused EXTERNAL login logged")
        self.still_serving()

    def test_external_is_not_offered_without_a_certificate(self):
        # The client finds EXTERNAL missing from connection.start's list.
        with self.assertRaises(pika.exceptions.AMQPConnectionError):
            connect(self.broker, client_context(self.pkis.ca),
                    pika.credentials.ExternalCredentials())

    def s_client(self, *extra):
        return subprocess.Popen(["openssl", "s_client", "-connect",
                                 "127.0.0.1:%d" % self.broker.amqps_port, "-CAfile", self.pkis.ca,
                                 "-servername", "localhost", "-verify_return_error",
                                 "-cert", self.pkis.admin.cert, "-key", self.pkis.admin.key,
                                 *extra],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def test_openssl_s_client_gets_connection_start(self):
        p = self.s_client("-quiet")
        try:
            p.stdin.write(b"AMQP\x00\x00\x09\x01")
            p.stdin.flush()
            got = read_until(p.stdout, b"EXTERNAL")
            # connection.start (class 10, method 10) offering EXTERNAL to a
            # client whose certificate was verified.
            self.assertEqual(got[:1], b"\x01", got[:32])
            self.assertEqual(got[7:11], b"\x00\x0a\x00\x0a")
            self.assertIn(b"PLAIN AMQPLAIN EXTERNAL", got)
        finally:
            p.kill()
            p.communicate()

    def test_a_key_update_the_client_asks_for_is_answered(self):
        # TLS 1.3 KeyUpdate with update_requested ("K" to s_client): the node
        # must send its own KeyUpdate before anything it encrypts with its new
        # keys, or the client cannot read the connection.close that the
        # bytes after it earn.
        p = self.s_client("-tls1_3")
        try:
            p.stdin.write(b"AMQP\x00\x00\x09\x01")
            p.stdin.flush()
            self.assertIn(b"EXTERNAL", read_until(p.stdout, b"EXTERNAL"))
            p.stdin.write(b"K\n")
            p.stdin.flush()
            self.assertIn(b"KEYUPDATE", read_until(p.stderr, b"KEYUPDATE"))
            p.stdin.write(b"AMQP\x00\x00\x09\x01")  # not a frame: connection.close
            p.stdin.flush()
            got = read_until(p.stdout, b"\x00\x0a\x00\x32")
            self.assertIn(b"\x00\x0a\x00\x32", got, "connection.close, decrypted")
        finally:
            p.kill()
            p.communicate()
        self.still_serving()

    def test_plaintext_client_on_the_tls_port_is_refused(self):
        with socket.create_connection(("127.0.0.1", self.broker.amqps_port), timeout=10) as s:
            s.sendall(b"AMQP\x00\x00\x09\x01")
            self.assertTrue(eof_within(s, 10), "the node closed the plaintext connection")
        wait_for(lambda: log_has(self.broker, "a plaintext AMQP client on the TLS port"),
                 "the plaintext client logged")
        self.still_serving()

    def test_tls_1_0_is_refused(self):
        p = subprocess.run(["openssl", "s_client", "-connect",
                            "127.0.0.1:%d" % self.broker.amqps_port, "-tls1",
                            "-cipher", "DEFAULT@SECLEVEL=0"],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0, "the TLS 1.0 handshake failed")
        wait_for(lambda: log_has(self.broker, "refused: unsupported protocol"),
                 "the TLS 1.0 client logged")
        self.still_serving()

    def refused_certificate(self, issued, reason):
        ctx = client_context(self.pkis.ca, issued.cert, issued.key)
        with self.assertRaises((pika.exceptions.AMQPConnectionError, ssl.SSLError)):
            connect(self.broker, ctx)
        wait_for(lambda: log_has(self.broker, reason), "the refusal logged: " + reason)
        self.still_serving()

    def test_expired_client_certificate_is_refused(self):
        self.refused_certificate(self.pkis.expired, "(certificate has expired)")

    def test_untrusted_client_certificate_is_refused(self):
        self.refused_certificate(self.pkis.stranger, "(unable to get local issuer certificate)")

    def test_a_handshake_that_never_finishes_is_cut(self):
        with socket.create_connection(("127.0.0.1", self.broker.amqps_port), timeout=10) as s:
            s.sendall(b"\x16\x03\x01")  # the start of a record, then nothing
            self.assertTrue(eof_within(s, 10), "the node closed the stalled handshake")
        wait_for(lambda: log_has(self.broker, "not finished within %d ms" % HANDSHAKE_TIMEOUT_MS),
                 "the stalled handshake logged")
        self.still_serving()

    def test_warrenctl_reaches_the_grpc_port_over_tls(self):
        p = warrenctl(self.broker, "status", tls_ca=self.pkis.ca)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("AMQP 0-9-1 over TLS", p.stdout)
        p = warrenctl(self.broker, "status")  # plaintext to a TLS port
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("unreachable", p.stderr)
        p = warrenctl(self.broker, "status", tls_ca=self.pkis.other.ca)  # the wrong CA
        self.assertNotEqual(p.returncode, 0)


class RequiredCertificateTest(unittest.TestCase):
    """fail_if_no_peer_cert = true: no certificate, no connection."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="warren-tls-")
        cls.pkis = Pkis(cls.dir)
        cls.broker = harness.Broker(extra_config=tls_config(fail_if_no_peer_cert=True),
                                    args=tls_args(cls.pkis.server, cls.pkis.ca),
                                    plain_amqp=False)
        cls.broker.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_amqps_only(self):
        self.assertIsNone(self.broker.port, "no plaintext listener")
        self.assertNotIn("amqp listening on", self.broker.logs())

    def test_a_client_without_a_certificate_is_refused(self):
        with self.assertRaises((pika.exceptions.AMQPConnectionError, ssl.SSLError)):
            connect(self.broker, client_context(self.pkis.ca))
        wait_for(lambda: log_has(self.broker, "peer did not return a certificate"),
                 "the missing certificate logged")
        ctx = client_context(self.pkis.ca, self.pkis.admin.cert, self.pkis.admin.key)
        with connect(self.broker, ctx) as conn:
            round_trip(self, conn, "tls-required", b"with a certificate")


class ReloadTest(unittest.TestCase):
    """SIGHUP: new connections get the new certificate, established ones stay;
    the gRPC port watches its files."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="warren-tls-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.pkis = Pkis(self.dir)
        self.cert = os.path.join(self.dir, "node.pem")
        self.key = os.path.join(self.dir, "node.key")
        self.install(self.pkis.server)
        self.broker = harness.Broker(extra_config=tls_config(),
                                     args=tls_args(certs.Issued(self.cert, self.key),
                                                   self.pkis.ca))
        self.broker.__enter__()
        self.addCleanup(self.broker.stop)

    def install(self, issued):
        shutil.copyfile(issued.cert, self.cert)
        shutil.copyfile(issued.key, self.key)

    def served_certificate(self):
        ctx = client_context(self.pkis.ca)
        with socket.create_connection(("127.0.0.1", self.broker.amqps_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                return s.getpeercert(binary_form=True)

    def grpc_certificate(self):
        """The certificate the node's gRPC port serves (HTTP/2 over TLS)."""
        ctx = client_context(self.pkis.ca)
        ctx.set_alpn_protocols(["h2"])
        with socket.create_connection(("127.0.0.1", self.broker.grpc_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                return s.getpeercert(binary_form=True)

    def der(self, issued):
        with open(issued.cert) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    def hangup(self, expect):
        before = self.broker.logs().count(expect)
        self.broker.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: self.broker.logs().count(expect) > before, "SIGHUP logged: " + expect)

    def test_sighup_reloads_without_dropping_a_connection(self):
        self.assertEqual(self.served_certificate(), self.der(self.pkis.server))
        established = connect(self.broker, client_context(self.pkis.ca))
        self.addCleanup(established.close)
        round_trip(self, established, "tls-reload", b"before")

        renewed = self.pkis.pki.issue("localhost")
        self.install(renewed)
        self.hangup("certificates reloaded")
        self.assertEqual(self.served_certificate(), self.der(renewed))
        round_trip(self, established, "tls-reload", b"after")

        # A broken file is refused and the certificate in use stays.
        with open(self.cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64\n")
        self.hangup("certificates not reloaded")
        self.assertEqual(self.served_certificate(), self.der(renewed))
        round_trip(self, established, "tls-reload", b"still")


    def test_the_grpc_port_takes_new_files_within_seconds(self):
        self.assertEqual(self.grpc_certificate(), self.der(self.pkis.server))
        renewed = self.pkis.pki.issue("localhost")
        self.install(renewed)
        # gRPC looks at its files every 5 s (docs/tls.md): no signal needed.
        wait_for(lambda: self.grpc_certificate() == self.der(renewed),
                 "the gRPC port serving the new certificate", timeout=30, interval=0.5)
        p = warrenctl(self.broker, "status", tls_ca=self.pkis.ca)
        self.assertEqual(p.returncode, 0, p.stderr)


class ConfigurationTest(unittest.TestCase):
    def start(self, *args):
        data = tempfile.mkdtemp(prefix="warren-tls-")
        self.addCleanup(shutil.rmtree, data, ignore_errors=True)
        return subprocess.run([os.environ["WARREN_NODE_BIN"], "--amqp-listen", "127.0.0.1:0",
                               "--grpc-listen", "127.0.0.1:0", "--data-dir", data] + list(args),
                              capture_output=True, text=True, timeout=30)

    def test_amqps_without_a_certificate_does_not_start(self):
        p = self.start("--amqps-listen", "127.0.0.1:0")
        self.assertEqual(p.returncode, 2)
        self.assertIn("amqps_listen needs [tls] cert_file and key_file", p.stderr)

    def test_a_key_that_does_not_match_does_not_start(self):
        d = tempfile.mkdtemp(prefix="warren-tls-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        pki = certs.Pki(d)
        a, b = pki.issue("localhost"), pki.issue("localhost")
        p = self.start("--amqps-listen", "127.0.0.1:0", "--tls-cert", a.cert, "--tls-key", b.key)
        self.assertEqual(p.returncode, 2)
        self.assertIn("does not match the certificate", p.stderr)

    def test_verify_peer_without_a_ca_does_not_start(self):
        d = tempfile.mkdtemp(prefix="warren-tls-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        config = os.path.join(d, "n.toml")
        with open(config, "w") as f:
            f.write('[tls]\nverify = "peer"\n')
        p = self.start("--config", config)
        self.assertEqual(p.returncode, 2)
        self.assertIn("needs ca_file", p.stderr)


if __name__ == "__main__":
    harness.main()
