"""warren-mgmt over HTTPS and in front of a node whose gRPC port speaks TLS
(docs/tls.md), with a CA and certificates each run makes (tests/tls/certs.py):
the API over HTTPS with a client certificate; each bad client (plaintext on
the HTTPS port, an untrusted, expired or missing client certificate, TLS 1.1,
a handshake never finished) refused with one log line naming it while the
server keeps serving; SIGHUP reloading the certificate without dropping an
established connection; and, without the CA, the node refused with a 503 and
a log line rather than a crash."""
import base64
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tls"))

import https  # noqa: E402  (tests/tls/https.py)
from https import client_context, eof_within  # noqa: E402
from harness import wait_for  # noqa: E402  (put on the path by https)

GUEST = "Basic " + base64.b64encode(b"guest:guest").decode()


def mgmt_args(node, *more):
    return [os.environ["WARREN_MGMT_BIN"], "--nodes", "127.0.0.1:%d" % node.grpc_port] + list(more)


def get(port, ctx, path="/api/overview", conn=None):
    """(status, body) of a GET with guest's credentials; over `conn` when
    given (kept alive), else a new HTTPS connection to localhost:`port`."""
    own = conn is None
    conn = conn or http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": GUEST})
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        if own:
            conn.close()


def raw_tls(port, ctx):
    """A TLS connection to localhost:`port`, handshaken; the caller closes it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return ctx.wrap_socket(sock, server_hostname="localhost")
    except BaseException:
        sock.close()
        raise


class HttpsTest(unittest.TestCase):
    """One TLS node, and warren-mgmt in front of it serving HTTPS only, with
    verify = peer and fail_if_no_peer_cert."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="warren-mgmt-tls-")
        cls.pkis = https.Pkis(cls.dir)
        cls.node = https.tls_node(cls.pkis)
        config = os.path.join(cls.dir, "mgmt.toml")
        with open(config, "w") as f:
            f.write(https.tls_table())
        try:
            cls.mgmt = https.Served(mgmt_args(
                cls.node, "--config", config, "--http-listen", "none",
                "--https-listen", "127.0.0.1:0", *https.tls_flags(cls.pkis)))
        except BaseException:
            cls.node.stop()
            raise
        cls.port = cls.mgmt.ports["https"]
        cls.alice = client_context(cls.pkis.ca, cls.pkis.alice)

    @classmethod
    def tearDownClass(cls):
        cls.mgmt.stop()
        cls.node.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def assert_still_serving(self):
        self.assertTrue(self.mgmt.alive(), self.mgmt.logs())
        status, body = get(self.port, self.alice)
        self.assertEqual(status, 200, body)

    def refusal_of(self, local_port, reason):
        """The one log line refusing the client that connected from
        `local_port`, once logged; it must name `reason`."""
        who = "TLS handshake with 127.0.0.1:%d refused" % local_port
        wait_for(lambda: self.mgmt.lines(who), "warren-mgmt logs '%s'" % who, timeout=10)
        lines = self.mgmt.lines(who)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(reason, lines[0])
        return lines[0]

    def refused(self, ctx):
        """Connects with `ctx` and sends a request; the client's local port
        once the server has refused it (in the handshake, or for TLS 1.3,
        where the client finishes first, at the first read)."""
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        local_port = sock.getsockname()[1]
        with sock:
            try:
                with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
                    tls.sendall(b"GET /api/overview HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    data = tls.recv(4096)
                    self.assertEqual(data, b"", "a refused client got an answer")
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
                pass
        return local_port

    def test_overview_over_https_reaches_the_tls_node(self):
        status, body = get(self.port, self.alice)
        self.assertEqual(status, 200, body)
        self.assertIn("node", json.loads(body))
        with raw_tls(self.port, self.alice) as tls:
            self.assertIn(tls.version(), ("TLSv1.2", "TLSv1.3"))

    def test_certificate_expiration_check_sees_the_nodes_certificate(self):
        # The run's certificates are valid for two days (tests/tls/certs.py).
        status, body = get(self.port, self.alice,
                           "/api/health/checks/certificate-expiration/1/days")
        self.assertEqual((status, json.loads(body)), (200, {"status": "ok"}), body)
        status, body = get(self.port, self.alice,
                           "/api/health/checks/certificate-expiration/1/weeks")
        self.assertEqual(status, 503, body)
        failed = json.loads(body)
        self.assertEqual((failed["status"], failed["reason"]), ("failed", "Certificates expiring"))
        grpc = [e for e in failed["expired"] if e["protocol"] == "grpc"]
        self.assertEqual(len(grpc), 1, failed)
        self.assertEqual(grpc[0]["certfile"], self.pkis.server.cert)
        self.assertEqual(grpc[0]["cacertfile"], self.pkis.ca)
        expected = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in",
                                   self.pkis.server.cert], capture_output=True, text=True,
                                  check=True).stdout.strip().split("=", 1)[1]
        parsed = time.strptime(expected, "%b %d %H:%M:%S %Y %Z")
        self.assertEqual(grpc[0]["certfile_expires_on"],
                         [time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)])
        for bad in ("x/days", "1/fortnights", "-1/days"):
            status, body = get(self.port, self.alice,
                               "/api/health/checks/certificate-expiration/" + bad)
            self.assertEqual(status, 400, bad + ": " + body)

    def test_plaintext_http_on_the_https_port_is_refused_in_one_line(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            local_port = sock.getsockname()[1]
            sock.sendall(b"GET /api/overview HTTP/1.1\r\nHost: localhost\r\n\r\n")
            sock.settimeout(10)
            answer = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        self.assertFalse(answer.startswith(b"HTTP/"), answer)
        self.refusal_of(local_port, "http request")
        self.assert_still_serving()

    def test_a_client_certificate_of_another_ca_is_refused(self):
        port = self.refused(client_context(self.pkis.ca, self.pkis.stranger))
        self.refusal_of(port, "certificate verify failed")
        self.assert_still_serving()

    def test_an_expired_client_certificate_is_refused(self):
        port = self.refused(client_context(self.pkis.ca, self.pkis.expired))
        self.refusal_of(port, "certificate verify failed (certificate has expired)")
        self.assert_still_serving()

    def test_a_client_without_a_certificate_is_refused(self):
        port = self.refused(client_context(self.pkis.ca))
        self.refusal_of(port, "peer did not return a certificate")
        self.assert_still_serving()

    def test_tls_1_1_is_refused(self):
        port = self.refused(client_context(self.pkis.ca, self.pkis.alice,
                                           maximum=ssl.TLSVersion.TLSv1_1))
        self.refusal_of(port, "unsupported protocol")
        self.assert_still_serving()

    def test_a_handshake_never_started_is_cut_off_after_handshake_timeout(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            local_port = sock.getsockname()[1]
            start = time.monotonic()
            self.assertTrue(eof_within(sock, 5), "the server hangs up within 5 s")
            waited = time.monotonic() - start
        self.assertGreaterEqual(waited, https.HANDSHAKE_TIMEOUT_MS / 1000 * 0.9)
        self.refusal_of(local_port, "not finished within %d ms" % https.HANDSHAKE_TIMEOUT_MS)
        self.assert_still_serving()


class ReloadTest(unittest.TestCase):
    """SIGHUP: new certificate files are read; a connection made before
    keeps working, a new one sees the new certificate."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="warren-mgmt-reload-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.pkis = https.Pkis(self.dir)
        self.node = https.tls_node(self.pkis)
        self.addCleanup(self.node.stop)
        # The files the server is pointed at, replaced in place later.
        self.cert = https.certs.Issued(os.path.join(self.dir, "served.pem"),
                                       os.path.join(self.dir, "served.key"))
        self.serve(self.pkis.server)
        self.mgmt = https.Served(mgmt_args(
            self.node, "--http-listen", "none", "--https-listen", "127.0.0.1:0",
            *https.tls_flags(self.pkis, self.cert)))
        self.addCleanup(self.mgmt.stop)
        self.port = self.mgmt.ports["https"]
        self.ctx = client_context(self.pkis.ca)

    def serve(self, issued):
        shutil.copyfile(issued.cert, self.cert.cert)
        shutil.copyfile(issued.key, self.cert.key)

    def serial(self, sock):
        return sock.getpeercert()["serialNumber"]

    def reload(self, expect):
        before = len(self.mgmt.lines(expect))
        self.mgmt.hangup()
        wait_for(lambda: len(self.mgmt.lines(expect)) > before,
                 "warren-mgmt logs '%s' after SIGHUP" % expect, timeout=10)

    def test_sighup_serves_the_new_certificate_and_keeps_established_connections(self):
        kept = http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=10)
        self.addCleanup(kept.close)
        self.assertEqual(get(self.port, self.ctx, conn=kept)[0], 200)
        old_sock, old_serial = kept.sock, self.serial(kept.sock)
        renewed = self.pkis.pki.issue("localhost")
        self.serve(renewed)
        self.reload("https: certificates reloaded from " + self.cert.cert)
        # The connection made before the reload still answers, itself.
        self.assertEqual(get(self.port, self.ctx, conn=kept)[0], 200)
        self.assertIs(kept.sock, old_sock)
        self.assertEqual(self.serial(kept.sock), old_serial)
        # A new one is served the new certificate.
        with raw_tls(self.port, self.ctx) as fresh:
            new_serial = self.serial(fresh)
        self.assertNotEqual(new_serial, old_serial)
        expected = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", renewed.cert],
                                  capture_output=True, text=True, check=True).stdout
        self.assertEqual(expected.strip(), "serial=" + new_serial)

    def test_sighup_with_bad_files_keeps_the_certificate_in_use(self):
        with raw_tls(self.port, self.ctx) as before:
            serial = self.serial(before)
        with open(self.cert.cert, "w") as f:
            f.write("not a certificate\n")
        self.reload("https: certificates not reloaded, those in use stay")
        self.assertTrue(self.mgmt.alive())
        with raw_tls(self.port, self.ctx) as after:
            self.assertEqual(self.serial(after), serial)
        self.assertEqual(get(self.port, self.ctx)[0], 200)


class NodeTlsTest(unittest.TestCase):
    """warren-mgmt reaching a TLS node: with the CA it works (above); without
    TLS settings, or trusting another CA, the node cannot be reached: 503
    and a log line, and warren-mgmt keeps running."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="warren-mgmt-node-tls-")
        cls.pkis = https.Pkis(cls.dir)
        cls.node = https.tls_node(cls.pkis)

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def overview_over_http(self, *flags):
        with https.Served(mgmt_args(self.node, "--http-listen", "127.0.0.1:0", *flags),
                          schemes=("http",)) as mgmt:
            conn = http.client.HTTPConnection("127.0.0.1", mgmt.ports["http"], timeout=30)
            conn.request("GET", "/api/overview", headers={"Authorization": GUEST})
            r = conn.getresponse()
            status, body = r.status, r.read().decode(errors="replace")
            conn.close()
            self.assertTrue(mgmt.alive(), mgmt.logs())
            return status, body, mgmt

    def test_with_the_ca_the_node_answers(self):
        status, body, _ = self.overview_over_http("--tls-ca", self.pkis.ca)
        self.assertEqual(status, 200, body)

    def test_without_tls_settings_the_node_is_unreachable(self):
        status, body, mgmt = self.overview_over_http()
        self.assertEqual(status, 503, body)
        self.assertIn("no node reachable", body)
        self.assertTrue(mgmt.lines("127.0.0.1:%d unreachable" % self.node.grpc_port),
                        mgmt.logs())

    def test_trusting_another_ca_the_node_is_unreachable(self):
        status, body, mgmt = self.overview_over_http("--tls-ca", self.pkis.other.ca)
        self.assertEqual(status, 503, body)
        self.assertTrue(mgmt.lines("127.0.0.1:%d unreachable" % self.node.grpc_port),
                        mgmt.logs())


class SettingsTest(unittest.TestCase):
    def run_mgmt(self, *args, env=None):
        return subprocess.run([os.environ["WARREN_MGMT_BIN"]] + list(args), capture_output=True,
                              text=True, timeout=30, env=env)

    def test_https_without_a_certificate_is_a_clear_error(self):
        p = self.run_mgmt("--https-listen", "127.0.0.1:0")
        self.assertEqual(p.returncode, 1)
        self.assertIn("https_listen needs a certificate", p.stderr)

    def test_no_listener_at_all_is_a_clear_error(self):
        p = self.run_mgmt("--http-listen", "none")
        self.assertEqual(p.returncode, 1)
        self.assertIn("nothing to serve", p.stderr)

    def test_the_environment_names_the_listener_and_the_files(self):
        d = tempfile.mkdtemp(prefix="warren-mgmt-env-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        pkis = https.Pkis(d)
        env = dict(os.environ, WARREN_HTTP_LISTEN="none", WARREN_HTTPS_LISTEN="127.0.0.1:0",
                   WARREN_TLS_CERT_FILE=pkis.server.cert, WARREN_TLS_KEY_FILE=pkis.server.key,
                   WARREN_NODES="127.0.0.1:1")
        with https.Served([os.environ["WARREN_MGMT_BIN"]], env=env) as mgmt:
            with raw_tls(mgmt.ports["https"], client_context(pkis.ca)) as tls:
                self.assertEqual(tls.getpeercert()["subject"][0][0], ("commonName", "localhost"))
            self.assertFalse(mgmt.lines("http listening"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
