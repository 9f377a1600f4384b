"""warren-balancer in front of AMQPS nodes (docs/tls.md): TLS passes through
the TCP listener untouched (the client verifies the node's certificate for
"localhost" through the balancer), and the "amqps" health check speaks TLS
then waits for connection.start: a node is UP while it answers, DOWN once it
is stopped, and DOWN with the reason in one log line and on the stats page
when its certificate is not trusted by the check's CA, has expired, names
another host, when the port speaks plain AMQP or never answers, or when the
node wants a client certificate the check does not have. Bad check_tls_* keys stop the
start with one line naming the key. Every certificate is made by this run
(tests/tls/certs.py); nodes and balancers listen on free loopback ports.
"""
import os
import ssl
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tls"))

import lb  # noqa: E402  (puts tests/interop on sys.path)
import certs  # noqa: E402
import harness  # noqa: E402
import pika  # noqa: E402


def amqps_node(server, ca=None, extra_config=""):
    """A warren-node serving AMQPS with `server`'s certificate."""
    args = ["--amqps-listen", "127.0.0.1:0", "--tls-cert", server.cert, "--tls-key", server.key]
    if ca:
        args += ["--tls-ca", ca]
    return harness.Broker(args=args, extra_config=extra_config)


def amqps_server(name, port, ca=None, verify=None, server_name=None, cert=None, inter="250ms"):
    """A [[listen.server]] with check = "amqps" and its check_tls_* keys."""
    text = lb.server_toml(name, port, check="amqps", inter=inter, rise=1, fall=1)
    for key, value in (("ca_file", ca), ("verify", verify), ("server_name", server_name),
                       ("cert_file", cert and cert.cert), ("key_file", cert and cert.key)):
        if value is not None:
            text += 'check_tls_%s = "%s"\n' % (key, value)
    return text


class TlsChecks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="warren-balancer-tls-")
        cls.pki = certs.Pki(os.path.join(cls.tmp, "ca"))
        cls.other = certs.Pki(os.path.join(cls.tmp, "other"), name="Other CA")
        cls.server = cls.pki.issue("localhost")

    def start(self, node):
        node.__enter__()
        self.addCleanup(node.stop)
        return node

    def balancer(self, servers):
        b = lb.Balancer(servers).__enter__()
        self.addCleanup(b.stop)
        return b

    def assert_down_for(self, b, name, reason):
        """`name` DOWN with `reason` in its last check and in one log line."""
        b.wait_state(name, "DOWN")
        s = b.servers()[name]
        self.assertFalse(s["last_check"]["ok"], s)
        self.assertIn(reason, s["last_check"]["detail"])
        self.assertEqual(s["check"], "amqps")
        down = [l for l in b.lines if "/%s " % name in l and "is DOWN" in l]
        self.assertEqual(len(down), 1, b.log())
        self.assertIn(reason, down[0])
        html = b.http("/rabbitmq_stats")[2]
        self.assertIn(reason, html)

    def test_tls_passes_through_to_two_nodes_checked_over_amqps(self):
        n1 = self.start(amqps_node(self.server))
        n2 = self.start(amqps_node(self.server))
        b = self.balancer([amqps_server("node1", n1.amqps_port, ca=self.pki.ca),
                           amqps_server("node2", n2.amqps_port, ca=self.pki.ca)])
        b.wait_checked(["node1", "node2"])
        for s in b.servers().values():
            self.assertIn("connection.start, AMQP 0-9 over TLSv1.", s["last_check"]["detail"])
        # The client verifies the node's certificate for "localhost" through
        # the balancer: the bytes pass as they are. Roundrobin: one each.
        ctx = ssl.create_default_context(cafile=self.pki.ca)
        for _ in range(2):
            conn = pika.BlockingConnection(pika.ConnectionParameters(
                "127.0.0.1", b.port, "/", pika.PlainCredentials("guest", "guest"),
                ssl_options=pika.SSLOptions(ctx, "localhost"), heartbeat=0,
                connection_attempts=1, socket_timeout=10))
            try:
                self.assertEqual(lb.round_trip(conn, b"through TLS"), b"through TLS")
            finally:
                conn.close()
        totals = sorted(s["total_sessions"] for s in b.servers().values())
        self.assertEqual(totals, [1, 1])
        # A client that does not trust the node's CA is refused by the node,
        # not by the balancer, which only forwarded its bytes.
        with self.assertRaises((pika.exceptions.AMQPConnectionError, ssl.SSLError)):
            pika.BlockingConnection(pika.ConnectionParameters(
                "127.0.0.1", b.port, ssl_options=pika.SSLOptions(
                    ssl.create_default_context(cafile=self.other.ca), "localhost"),
                connection_attempts=1, socket_timeout=10))

    def test_a_stopped_node_goes_down(self):
        n1 = self.start(amqps_node(self.server))
        b = self.balancer([amqps_server("node1", n1.amqps_port, ca=self.pki.ca)])
        b.wait_checked(["node1"])
        n1.stop_node()
        self.assert_down_for(b, "node1", "connect: Connection refused")

    def test_untrusted_expired_plaintext_and_wrong_name_are_down_with_why(self):
        good = self.start(amqps_node(self.server))
        untrusted = self.start(amqps_node(self.other.issue("localhost")))
        expired = self.start(amqps_node(self.pki.issue("localhost", expired=True)))
        mute = lb.FakeServer("mute")  # accepts, never answers the ClientHello
        self.addCleanup(mute.close)
        b = self.balancer([
            amqps_server("good", good.amqps_port, ca=self.pki.ca),
            amqps_server("untrusted", untrusted.amqps_port, ca=self.pki.ca),
            amqps_server("expired", expired.amqps_port, ca=self.pki.ca),
            amqps_server("plaintext", good.port, ca=self.pki.ca),
            amqps_server("named", good.amqps_port, ca=self.pki.ca, server_name="rabbit.example"),
            amqps_server("mute", mute.port, ca=self.pki.ca),
            # verify = "none" takes any certificate, as haproxy's verify none.
            amqps_server("unverified", untrusted.amqps_port, verify="none"),
        ])
        self.assert_down_for(b, "untrusted", "certificate not trusted")
        self.assert_down_for(b, "expired", "certificate expired")
        self.assert_down_for(b, "plaintext", "the server does not speak TLS")
        self.assert_down_for(b, "named", "certificate names another server")
        self.assert_down_for(b, "mute", "no TLS handshake within 250 ms")
        b.wait_checked(["good", "unverified"])
        stats = b.stats()["listeners"][0]["servers"]
        self.assertEqual({s["name"]: s["state"] for s in stats},
                         {"good": "UP", "unverified": "UP", "untrusted": "DOWN",
                          "expired": "DOWN", "plaintext": "DOWN", "named": "DOWN",
                          "mute": "DOWN"})
        self.assertIsNone(b.proc.poll())

    def test_client_certificate_for_a_node_that_requires_one(self):
        node = self.start(amqps_node(
            self.server, ca=self.pki.ca,
            extra_config='[tls]\nverify = "peer"\nfail_if_no_peer_cert = true\n'))
        b = self.balancer([
            amqps_server("with_cert", node.amqps_port, ca=self.pki.ca,
                         cert=self.pki.issue("balancer", client=True)),
            amqps_server("without", node.amqps_port, ca=self.pki.ca),
        ])
        b.wait_checked(["with_cert"])
        self.assert_down_for(b, "without", "the server refused the connection: tlsv13 alert certificate required")

    def test_bad_check_tls_keys_stop_the_start_with_one_line(self):
        def refused(server):
            b = lb.Balancer([server])
            self.addCleanup(b.stop)
            r = subprocess.run([lb.binary(), "--config", b.config_path], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            return lines[0]

        missing = os.path.join(self.tmp, "missing.pem")
        self.assertIn("server[0].check_tls_ca_file: tls: ca_file %s: cannot be read" % missing,
                      refused(amqps_server("n", 5671, ca=missing)))
        self.assertIn("check_tls_ca_file: tls: ca_file %s: holds no PEM certificate"
                      % self.server.key, refused(amqps_server("n", 5671, ca=self.server.key)))
        self.assertIn('check_tls_verify: "maybe" is not none or peer',
                      refused(amqps_server("n", 5671, verify="maybe")))
        client = self.pki.issue("balancer", client=True)
        self.assertIn("check_tls_key_file: tls: key_file %s: does not match" % self.server.key,
                      refused(amqps_server("n", 5671, ca=self.pki.ca, cert=certs.Issued(
                          client.cert, self.server.key))))
        self.assertIn("check_tls_cert_file: needs check_tls_key_file",
                      refused(amqps_server("n", 5671) + 'check_tls_cert_file = "%s"\n' % client.cert))
        self.assertIn('check_tls_ca_file: is only for check = "amqps"',
                      refused(lb.server_toml("n", 5672) + 'check_tls_ca_file = "%s"\n' % self.pki.ca))
        self.assertIn("check: must be \"tcp\", \"amqp\", \"amqps\" or false",
                      refused(lb.server_toml("n", 5672, check="tls")))


if __name__ == "__main__":
    lb.main()
