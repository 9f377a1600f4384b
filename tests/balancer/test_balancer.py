"""warren-balancer in front of three warren-nodes (each started by the
interop harness on its own free ports): how each balance algorithm spreads
new connections, as the nodes themselves count them (warrenctl
list_connections against each node's Admin service); health checks taking a
killed node DOWN after `fall` failed AMQP checks and back UP after `rise`;
clients refused at once when every node is DOWN; the tutorial's Java
Producer and Consumer through the balancer."""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lb  # noqa: E402
from lb import connect, harness, node_connections, wait_until  # noqa: E402


NAMES = ["node1", "node2", "node3"]


class ThreeNodes(unittest.TestCase):
    """Three nodes for the whole class; node2 on a fixed AMQP port so that a
    restart comes back where the balancer's config points."""

    @classmethod
    def setUpClass(cls):
        cls.nodes = [harness.Broker(), harness.Broker(amqp_port=harness.free_port()),
                     harness.Broker()]
        for n in cls.nodes:
            n.__enter__()

    @classmethod
    def tearDownClass(cls):
        for n in cls.nodes:
            n.stop()

    def balancer(self, balance="roundrobin", weights=(1, 1, 1), **kwargs):
        servers = [lb.server_toml(name, node.port, weight=w)
                   for name, node, w in zip(NAMES, self.nodes, weights)]
        b = lb.Balancer(servers, balance=balance, **kwargs)
        b.__enter__()
        self.addCleanup(b.stop)
        b.wait_checked(NAMES)
        return b

    def hold(self, endpoint, count):
        conns = [connect(endpoint) for _ in range(count)]
        for c in conns:
            self.addCleanup(lambda c=c: c.is_open and c.close())
        return conns

    def counts(self):
        return [node_connections(n) for n in self.nodes]

    def wait_counts(self, expected):
        return wait_until(lambda: self.counts() == expected, 5,
                          "nodes list %s connections (they list %s)" % (expected, self.counts()))

    def test_roundrobin_spreads_new_connections_evenly(self):
        b = self.balancer()
        self.hold(b, 9)
        self.wait_counts([3, 3, 3])
        self.assertEqual([b.servers()[n]["total_sessions"] for n in NAMES], [3, 3, 3])

    def test_roundrobin_honours_weights(self):
        b = self.balancer(weights=(2, 1, 1))
        self.hold(b, 8)
        self.wait_counts([4, 2, 2])

    def open_tracked(self, endpoint):
        """A new connection and the index of the node it landed on."""
        before = self.counts()
        conn = self.hold(endpoint, 1)[0]
        after = wait_until(lambda: self.counts() != before and self.counts(), 5,
                           "a node lists the new connection")
        grown = [i for i in range(3) if after[i] == before[i] + 1]
        self.assertEqual(len(grown), 1, "%s -> %s" % (before, after))
        return conn, grown[0]

    def test_leastconn_sends_a_new_client_to_the_emptiest_node(self):
        b = self.balancer("leastconn")
        placed = [self.open_tracked(b) for _ in range(3)]
        self.assertEqual(sorted(i for _, i in placed), [0, 1, 2], "one on each node")
        for conn, node in placed:  # empty each node in turn: the next client goes there
            conn.close()
            expected = [1, 1, 1]
            expected[node] = 0
            self.wait_counts(expected)
            _, landed = self.open_tracked(b)
            self.assertEqual(landed, node)
        self.hold(b, 3)
        self.wait_counts([2, 2, 2])

    def test_source_keeps_a_client_address_on_one_node(self):
        b = self.balancer("source")
        # Plain TCP from 16 loopback addresses, two connections each.
        socks = []
        for i in range(16):
            for _ in range(2):
                s = socket.socket()
                s.bind(("127.0.0.%d" % (i + 1), 0))
                s.connect((b.host, b.port))
                self.addCleanup(s.close)
                socks.append(s)
        wait_until(lambda: sum(s["current_sessions"] for s in b.servers().values()) == 32, 5,
                   "32 sessions open")
        per_server = [b.servers()[n]["current_sessions"] for n in NAMES]
        self.assertTrue(all(c % 2 == 0 for c in per_server),
                        "both connections of an address on one node: %s" % per_server)
        self.assertGreaterEqual(sum(1 for c in per_server if c), 2,
                                "16 addresses all hashed to one node: %s" % per_server)


class NodeFailures(unittest.TestCase):
    def test_killed_node_goes_down_after_fall_checks_and_comes_back_after_rise(self):
        fixed = harness.free_port()
        with harness.Broker() as n1, harness.Broker(amqp_port=fixed) as n2, \
                harness.Broker() as n3:
            nodes = [n1, n2, n3]
            with lb.Balancer([(name, n.port) for name, n in zip(NAMES, nodes)]) as b:
                b.wait_checked(NAMES)
                n2.kill()
                b.wait_state("node2", "DOWN", timeout=5)
                b.wait_log("rabbitmq_cluster/node2 (127.0.0.1:%d) is DOWN (2 checks failed" % fixed)
                conns = [connect(b) for _ in range(4)]
                wait_until(lambda: [node_connections(n) for n in (n1, n3)] == [2, 2], 5,
                           "node1 and node3 list two connections each")
                for c in conns:
                    c.close()
                n2.restart()
                self.assertEqual(n2.port, fixed)
                b.wait_state("node2", "UP", timeout=5)
                b.wait_log("rabbitmq_cluster/node2 is UP (2 checks passed")
                self.assertTrue(b.servers()["node2"]["last_check"]["detail"]
                                .startswith("connection.start"))
                conns = [connect(b) for _ in range(3)]
                wait_until(lambda: [node_connections(n) for n in nodes] == [1, 1, 1], 5,
                           "one connection on each node, node2 included")
                for c in conns:
                    c.close()

    def test_all_nodes_down_refuses_a_client_at_once(self):
        with harness.Broker() as n1, harness.Broker() as n2:
            with lb.Balancer([("node1", n1.port), ("node2", n2.port)],
                             timeout_connect="2s") as b:
                b.wait_checked(["node1", "node2"])
                n1.kill()
                n2.kill()
                b.wait_state("node1", "DOWN")
                b.wait_state("node2", "DOWN")
                start = time.monotonic()
                with socket.create_connection((b.host, b.port), timeout=2) as s:
                    self.assertEqual(s.recv(100), b"", "closed without an answer")
                self.assertLess(time.monotonic() - start, 2.0, "within timeout_connect")
                b.wait_log("no server is UP; refusing client 127.0.0.1:")
                self.assertEqual(b.stats()["listeners"][0]["errors"], 1)

    def test_connect_failure_retries_the_next_server_unnoticed(self):
        # node2's address has nothing behind it but check = false keeps it UP,
        # so every other client is first sent there and must be retried.
        dead = harness.free_port()
        with harness.Broker() as n1:
            servers = [lb.server_toml("node1", n1.port),
                       lb.server_toml("node2", dead, check=False)]
            with lb.Balancer(servers) as b:
                b.wait_checked(["node1"])
                conns = [connect(b) for _ in range(4)]
                wait_until(lambda: node_connections(n1) == 4, 5, "node1 lists all four")
                self.assertGreaterEqual(b.servers()["node2"]["errors"], 2)
                b.wait_log("connect to node2 (127.0.0.1:%d) failed: Connection refused, "
                           "retrying on node1" % dead)
                for c in conns:
                    c.close()


class TutorialJava(unittest.TestCase):
    """tests/interop/test_java.py's compile-and-run, pointed at the balancer.
    The nodes are not clustered yet, so the Producer's queue exists on one
    node only: balance = "source" keeps both programs (same client address)
    on the same node."""

    def setUp(self):
        import test_java  # tests/interop, on sys.path through lb
        self.java_test = test_java.TutorialJavaTest
        self.java_test.setUp(self)

    def java(self, endpoint, main_class):
        return self.java_test.java(self, endpoint, main_class)

    def test_producer_then_consumer_through_the_balancer(self):
        with harness.Broker() as n1, harness.Broker() as n2:
            with lb.Balancer([("node1", n1.port), ("node2", n2.port)], balance="source") as b:
                b.wait_checked(["node1", "node2"])
                self.java_test.producer_then_consumer(self, b)
                totals = sorted(s["total_sessions"] for s in b.servers().values())
                self.assertEqual(totals, [0, 2], "Producer and Consumer on one node")


if __name__ == "__main__":
    lb.main()
