"""A cluster whose nodes speak mutual TLS on their gRPC ports (docs/tls.md):
three nodes given one CA and certificates it signed form one cluster and
replicate changes; warrenctl reaches them with the CA; a node whose
certificate another CA signed cannot join, even holding the cluster secret.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "ctl"))
sys.path.insert(0, os.path.join(HERE, "..", "tls"))

import certs  # noqa: E402
from ctl import harness, wait_for  # noqa: E402
from nodes import NO_DEFINITIONS, secret_file  # noqa: E402
from test_cluster import Cluster  # noqa: E402


def warrenctl(node, ca, *args, cert=None):
    cmd = [os.environ["WARREN_CTL_BIN"], "-n", "127.0.0.1:%d" % node.grpc_port, "-t", "20",
           "--tls-ca", ca]
    if cert:
        cmd += ["--tls-cert", cert.cert, "--tls-key", cert.key]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60)


def running_members(node, ca):
    p = warrenctl(node, ca, "cluster_status", "--formatter", "json")
    if p.returncode != 0:
        return None
    return sorted(json.loads(p.stdout).get("running_nodes", []))


class TlsClusterTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="warren-tls-cluster-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.pki = certs.Pki(os.path.join(self.dir, "ca"))
        self.node_cert = self.pki.issue("localhost")

    def tls_args(self, issued, ca):
        return ["--tls-cert", issued.cert, "--tls-key", issued.key, "--tls-ca", ca]

    def test_nodes_form_a_cluster_over_mutual_tls(self):
        with Cluster(self, args=self.tls_args(self.node_cert, self.pki.ca)) as c:
            for n in c.nodes:
                self.assertIn("(TLS)", n.logs())
            names = sorted(n.node_name for n in c.nodes)
            wait_for(lambda: running_members(c.nodes[0], self.pki.ca) == names,
                     "three running members seen over TLS", timeout=30)
            p = warrenctl(c.nodes[1], self.pki.ca, "add_vhost", "over-tls")
            self.assertEqual(p.returncode, 0, p.stderr)
            for n in c.nodes:
                wait_for(lambda: "over-tls" in warrenctl(n, self.pki.ca, "list_vhosts").stdout,
                         "the vhost replicated to " + n.node_name, timeout=15)

    def test_a_node_certified_by_another_ca_cannot_join(self):
        other = certs.Pki(os.path.join(self.dir, "other"), name="Other CA")
        intruder_cert = other.issue("localhost")
        with Cluster(self, args=self.tls_args(self.node_cert, self.pki.ca)) as c:
            names = sorted(n.node_name for n in c.nodes)
            wait_for(lambda: running_members(c.nodes[0], self.pki.ca) == names,
                     "three running members", timeout=30)
            # It trusts the cluster's CA and holds the cluster's secret, but
            # its own certificate is not the cluster CA's.
            bundle = os.path.join(self.dir, "both.pem")
            with open(bundle, "w") as f:
                for ca in (self.pki.ca, other.ca):
                    with open(ca) as part:
                        f.write(part.read())
            with harness.Broker(NO_DEFINITIONS, args=[
                    "--node-name", "warren@intruder",
                    "--cluster-secret-file", secret_file(self)]
                    + self.tls_args(intruder_cert, bundle)) as intruder:
                p = warrenctl(intruder, bundle, "stop_app")
                self.assertEqual(p.returncode, 0, p.stderr)
                p = warrenctl(intruder, bundle, "join_cluster",
                              "127.0.0.1:%d" % c.nodes[0].grpc_port)
                self.assertNotEqual(p.returncode, 0, "the intruder joined:\n" + p.stdout)
                self.assertIn("cannot reach", p.stderr)
            self.assertEqual(running_members(c.nodes[0], self.pki.ca), names)

    def test_the_cluster_service_refuses_a_client_without_a_certificate(self):
        # A TLS client that trusts the CA but presents no certificate may
        # reach the Admin service (warrenctl does), never the Cluster one.
        import grpc  # Debian's python3-grpcio
        with Cluster(self, args=self.tls_args(self.node_cert, self.pki.ca)) as c:
            with open(self.pki.ca, "rb") as f:
                credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
            target = "127.0.0.1:%d" % c.nodes[0].grpc_port
            with grpc.secure_channel(target, credentials) as channel:
                hello = channel.unary_unary("/warren.v1.Cluster/Hello")
                node = b"warren@outsider"
                request = b"\x0a\x20" + os.urandom(32) + b"\x12" + bytes([len(node)]) + node
                with self.assertRaises(grpc.RpcError) as refused:
                    hello(request, timeout=10)
            self.assertEqual(refused.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
            self.assertIn("no client certificate signed by the cluster's CA",
                          refused.exception.details())
            wait_for(lambda: "no client certificate" in c.nodes[0].logs(), "the refusal logged")


if __name__ == "__main__":
    harness.main()
