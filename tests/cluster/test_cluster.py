"""Three warren-node processes on loopback formed into one cluster from seeds
(docs/cluster.md, "Forming a cluster"): a metadata change sent to any node
is seen on every node (vhost limits, global parameters and the cluster's
name and id too), users are set up once, a node with another secret is
refused, a node whose own seed answers only a while after it starts (a pod's
DNS name) asks again and forms the cluster, a node left without a majority
refuses changes instead of hanging,
the two that remain after the leader is killed go on with nothing that
was acknowledged lost, and cluster_status on any node lists every member and
which of them answer.

Each test starts its own cluster (harness.Broker per node, fixed gRPC ports
chosen free at run time, because the seeds must name them before any node
starts) and stops it.
"""
import os
import re
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ctl"))

import json  # noqa: E402

import pika  # noqa: E402
from ctl import connect, harness, listing, wait_for, warrenctl  # noqa: E402
from nodes import NO_DEFINITIONS, SECRET, NodeGroup, secret_file  # noqa: E402
_LEADS = re.compile(r"cluster: member (\d+) leads the metadata in term (\d+)")


class Cluster(NodeGroup):
    """Three nodes given the same seeds; `secrets` per node (default shared),
    and node1's config file's access `definitions`. With `fixed_amqp`, a
    restarted node listens on the AMQP port it had (for a balancer). `args`:
    more flags for every node."""

    def __init__(self, test, secrets=(SECRET, SECRET, SECRET), definitions=NO_DEFINITIONS,
                 fixed_amqp=False, args=()):
        self.test = test
        self._spec = (secrets, definitions, fixed_amqp, list(args))
        self._make_nodes()

    def _make_nodes(self):
        secrets, definitions, fixed_amqp, args = self._spec
        test = self.test
        ports = [harness.free_port() for _ in secrets]
        seeds = ",".join("127.0.0.1:%d" % p for p in ports)
        self.nodes = []
        for i, (port, secret) in enumerate(zip(ports, secrets)):
            node = harness.Broker(definitions if i == 0 else NO_DEFINITIONS, grpc_port=port,
                                  amqp_port=harness.free_port() if fixed_amqp else 0,
                                  args=["--node-name", "warren@c%d" % (i + 1),
                                        "--cluster-secret-file", secret_file(test, secret),
                                        "--cluster-seeds", seeds] + args)
            node.node_name = "warren@c%d" % (i + 1)
            self.nodes.append(node)
        # Member ids are the seeds' places in sorted order.
        self.by_id = {i + 1: n for i, n in enumerate(
            sorted(self.nodes, key=lambda n: "127.0.0.1:%d" % n.grpc_listen_port))}

    def __enter__(self):
        # The ports are chosen free before any node starts (the seeds name
        # them); another process may take one meanwhile. Then the cluster
        # starts again on new ports, at most twice more.
        for attempt in range(3):
            try:
                return super().__enter__()
            except RuntimeError as e:
                if "cannot listen" not in str(e) or attempt == 2:
                    raise
                self._make_nodes()

    def leader(self, among=None):
        """The node the logs of `among` (default: all) last name as leader."""
        def named():
            latest = None
            for n in among or self.nodes:
                for m in _LEADS.finditer(n.logs()):
                    if latest is None or int(m.group(2)) > latest[1]:
                        latest = (int(m.group(1)), int(m.group(2)))
            return latest
        member, _ = wait_for(named, "a metadata leader named in the logs", timeout=20)
        return self.by_id[member]


def declare(node, queue, user="guest", password="guest", **kwargs):
    with connect(node, user, password) as c:
        c.channel().queue_declare(queue, **kwargs)


def exists(node, queue):
    try:
        with connect(node) as c:
            c.channel().queue_declare(queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker as e:
        if e.reply_code == 404:
            return False
        raise


def refused_with(node, queue):
    """The reply code a declare of `queue` on `node` is refused with."""
    try:
        declare(node, queue)
    except pika.exceptions.ConnectionClosedByBroker as e:
        return e.reply_code, e.reply_text
    except pika.exceptions.ChannelClosedByBroker as e:
        return e.reply_code, e.reply_text
    return None


class Forwarder:
    """While open, a port on 127.0.0.1 that forwards every connection to
    `target`: a node's own address that answers only a while after the node
    starts, as a pod's DNS name does."""

    def __init__(self, port, target):
        self.target = target
        self.server = socket.create_server(("127.0.0.1", port))
        self.sockets = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the other side went

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for s in self.sockets:
            s.close()


class ClusterTest(unittest.TestCase):
    def test_changes_sent_to_any_node_are_seen_on_every_node(self):
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            # The tutorial's user, set up once, through three different nodes,
            # each step at once: a node that has not yet applied the change
            # before catches up with its leader before it refuses for "no such
            # user" (docs/cluster.md, "A barrier").
            warrenctl(n2, "add_user", "admin", "123456")
            warrenctl(n3, "set_user_tags", "admin", "administrator")
            warrenctl(n1, "set_permissions", "-p", "/", "admin", ".*", ".*", ".*")
            # The third node applies each change a moment after it is answered.
            for n in c.nodes:
                wait_for(lambda: {"user": "admin", "tags": ["administrator"]}
                         in listing(n, "list_users"), "admin, tagged, on every node", timeout=10)
            declare(n3, "orders", "admin", "123456", durable=True)
            self.assertTrue(exists(n3, "orders"), "read-your-writes on the node asked")
            declare(n1, "audit", durable=False)
            self.assertTrue(exists(n1, "audit"), "read-your-writes on the node asked")
            for n in c.nodes:
                wait_for(lambda: exists(n, "orders") and exists(n, "audit"),
                         "both queues on every node", timeout=10)
            # The model's refusal comes back from whichever node is asked.
            code, text = refused_with(n2, "orders")  # durable=False against durable
            self.assertEqual(code, 406, text)
            self.assertIn("inequivalent arg 'durable'", text)

    def test_parameters_and_the_cluster_name_set_on_one_node_are_every_nodes(self):
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            warrenctl(n1, "set_vhost_limits", "-p", "/", '{"max-queues": 100}')
            warrenctl(n2, "set_global_parameter", "region", '"eu-west"')
            warrenctl(n3, "set_cluster_name", "three-of-us")
            for n in c.nodes:
                wait_for(lambda: {"vhost": "/", "limits": {"max-queues": 100}}
                         in listing(n, "list_vhost_limits", "--global")
                         and {"name": "region", "value": "eu-west"}
                         in listing(n, "list_global_parameters")
                         and listing(n, "status")["cluster_name"] == "three-of-us",
                         "the limit, the parameter and the name on every node", timeout=10)
                self.assertEqual(listing(n, "cluster_status")["cluster_name"], "three-of-us")

    # Each member proposes internal_cluster_id and cluster_name (its own
    # name) through the log at its start, only where none is set: the first
    # applied wins on every member (docs/parameters.md).
    def test_every_member_reports_one_cluster_name_and_id(self):
        with Cluster(self) as c:
            def ids(n):
                s = listing(n, "status")
                return s["cluster_name"], s["cluster_id"]
            # Unnamed, every member says one member's name.
            wait_for(lambda: len({ids(n) for n in c.nodes}) == 1 and ids(c.nodes[0])[1],
                     "one cluster name and id on every node", timeout=10)
            name, cluster_id = ids(c.nodes[0])
            self.assertIn(name, [n.node_name for n in c.nodes])
            self.assertRegex(cluster_id, r"^rabbitmq-cluster-id-")

    def test_users_in_one_nodes_config_file_are_the_clusters(self):
        # As rabbitmq.conf's definitions import: through the log, so every
        # node has them, not only the node whose file names them.
        config = {"vhosts": ["shop"],
                  "users": [{"name": "clerk", "password": "s3cret", "tags": []}],
                  "permissions": [{"user": "clerk", "vhost": "shop", "configure": ".*",
                                   "write": ".*", "read": ".*"}]}
        with Cluster(self, definitions=config) as c:
            n3 = c.nodes[2]
            wait_for(lambda: "clerk" in [u["user"] for u in listing(n3, "list_users")],
                     "node1's config user on node3", timeout=10)
            wait_for(lambda: {"user": "clerk", "configure": ".*", "write": ".*", "read": ".*"}
                     in listing(n3, "list_permissions", "-p", "shop"),
                     "its permissions on node3", timeout=10)
            with connect(n3, "clerk", "s3cret", vhost="shop") as conn:
                conn.channel().queue_declare("orders", durable=True)

    def test_a_load_definitions_file_given_to_every_node_is_the_clusters_once(self):
        # What docker/compose.yaml and the Helm chart do: every node reads the
        # same file at every start, and proposes it through the log.
        defs = {"policies": [{"vhost": "/", "name": "ha-all", "pattern": "^",
                              "apply-to": "queues", "priority": 0,
                              "definition": {"ha-mode": "all", "ha-sync-mode": "automatic"}}],
                "exchanges": [{"name": "orders", "vhost": "/", "type": "topic", "durable": True,
                               "auto_delete": False, "internal": False, "arguments": {}}],
                "queues": [{"name": "orders.created", "vhost": "/", "durable": True,
                            "auto_delete": False, "arguments": {}}],
                "bindings": [{"source": "orders", "vhost": "/", "destination": "orders.created",
                              "destination_type": "queue", "routing_key": "order.*",
                              "arguments": {}}]}
        path = harness.temp_file(self, json.dumps(defs), suffix=".json")
        with Cluster(self, args=["--load-definitions", path]) as c:
            for n in c.nodes:
                wait_for(lambda: [p["name"] for p in listing(n, "list_policies")] == ["ha-all"],
                         "the policy on every node", timeout=10)
                wait_for(lambda: [q["name"] for q in listing(n, "list_queues", "name")]
                         == ["orders.created"], "the queue on every node", timeout=10)
            # The binding routes through any node, and the queue is mirrored
            # on the other two.
            with connect(c.nodes[2]) as conn:
                ch = conn.channel()
                ch.confirm_delivery()
                ch.basic_publish("orders", "order.new", b"x",
                                 pika.BasicProperties(delivery_mode=2))
            others = wait_for(lambda: next((q["slave_pids"] for q in listing(
                c.nodes[0], "list_queues", "name", "slave_pids", "messages")
                if q["messages"] == 1 and len(q["slave_pids"]) == 2), None),
                "the queue, mirrored twice, with the message", timeout=15)
            self.assertEqual(len(set(others)), 2)

    def test_a_node_whose_own_seed_answers_only_later_asks_again_and_forms_the_cluster(self):
        grpc_port, later_port = harness.free_port(), harness.free_port()
        node = harness.Broker(NO_DEFINITIONS, grpc_port=grpc_port,
                              args=["--node-name", "warren@later",
                                    "--cluster-secret-file", secret_file(self),
                                    "--cluster-seeds", "127.0.0.1:%d" % later_port])
        # The node is started from a thread that then waits for the test's
        # end: the harness's child dies with the thread that started it.
        started, done = threading.Event(), threading.Event()

        def start():
            node.__enter__()
            started.set()
            done.wait()
        self.addCleanup(node.stop)
        self.addCleanup(done.set)
        threading.Thread(target=start, daemon=True).start()
        wait_for(lambda: "no seed answers as this node (warren@later) yet" in node.logs(),
                 "the node asking its seeds again", timeout=30)
        self.assertNotIn("amqp listening", node.logs())
        with Forwarder(later_port, grpc_port):
            self.assertTrue(started.wait(60), "the node serves once its seed answers")
            self.assertIn("the seeds make this node member 1 of 1 (127.0.0.1:%d)" % later_port,
                          node.logs())
            declare(node, "after-the-wait", durable=True)
            self.assertTrue(exists(node, "after-the-wait"))

    def test_an_exclusive_queue_is_locked_to_its_connection_on_every_node(self):
        with Cluster(self) as c:
            n1, n2, _ = c.nodes
            with connect(n1) as owner:
                owner.channel().queue_declare("mine", exclusive=True)
                # Wait through gRPC: node2's first AMQP connection is the one
                # tried below (each node numbers its connections from its own
                # base, so it is not the owner's number over again).
                wait_for(lambda: "mine" in [q["name"] for q in listing(n2, "list_queues", "name")],
                         "the exclusive queue on node2")
                with connect(n2) as other:
                    with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as refused:
                        other.channel().queue_declare("mine", passive=True)
                    self.assertEqual(refused.exception.reply_code, 405)

    def test_a_node_formed_from_seeds_refuses_join_cluster_and_reset_and_stays_a_member(self):
        # Its next start would form the seed cluster again: refused before
        # anything changes, stopped or not.
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            warrenctl(n2, "stop_app")
            for args in (("join_cluster", "127.0.0.1:%d" % n3.grpc_port), ("reset",)):
                status, _, err = warrenctl(n2, *args, check=False)
                self.assertNotEqual(status, 0, args)
                self.assertIn("forms its cluster from its seeds", err)
            warrenctl(n2, "start_app")
            declare(n1, "after-refusals", durable=True)
            wait_for(lambda: exists(n2, "after-refusals"), "node2 still applying the log",
                     timeout=10)
            s = json.loads(warrenctl(n3, "cluster_status", "--formatter", "json")[1])
            self.assertEqual(len(s["disk_nodes"]), 3, s)

    def test_a_node_with_another_secret_is_refused_and_both_sides_say_so(self):
        with Cluster(self, secrets=(SECRET, SECRET, "ANOTHERSECRETZZZZZZZZZZZZZZZZZZZ")) as c:
            n1, n2, n3 = c.nodes
            declare(n1, "q")  # the two that share the secret are a majority
            self.assertTrue(exists(n2, "q"))
            code, text = refused_with(n3, "q3")
            self.assertEqual(code, 504, text)
            self.assertFalse(exists(n1, "q3"))
            # Each side refuses the other once its Raft link tries to connect.
            wait_for(lambda: re.search(r"refused node warren@c[12] at .*another cluster secret",
                                       n3.logs()), "the odd node logging the refusal")
            for n in (n1, n2):
                wait_for(lambda: re.search(r"refused node warren@c3 at .*another cluster secret",
                                           n.logs()), "the others logging the refusal")
                self.assertEqual(n.logs().count("refused node warren@c3"), 1, n.logs())

    def test_a_node_without_a_majority_refuses_changes_within_seconds(self):
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            declare(n1, "before")
            n2.kill()
            n3.kill()
            started = time.monotonic()
            code, text = refused_with(n1, "after")
            self.assertLess(time.monotonic() - started, 15.0)
            self.assertEqual(code, 504, text)
            self.assertIn("not committed", text)
            self.assertTrue(exists(n1, "before"))
            self.assertFalse(exists(n1, "after"))

    def test_a_killed_member_restarts_from_its_data_directory_and_catches_up(self):
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            # A queue declared, deleted and declared again through the log, then
            # given confirmed messages: replaying the log over what the store
            # kept would delete it, and them, once more.
            declare(n2, "again", durable=False)
            with connect(n2) as conn:
                conn.channel().queue_delete("again")
            declare(n2, "again", durable=True)
            with connect(n2) as conn:
                ch = conn.channel()
                ch.confirm_delivery()
                for i in range(10):
                    ch.basic_publish("", "again", b"m%d" % i,
                                     pika.BasicProperties(delivery_mode=2))
            n2.kill()
            declare(n3, "while-down", durable=True)
            warrenctl(n1, "add_user", "late", "pw")
            n2.restart()
            self.assertIn("restarted with the metadata applied through entry", n2.logs())
            wait_for(lambda: exists(n2, "while-down"), "the change made while it was down")
            wait_for(lambda: "late" in [u["user"] for u in listing(n2, "list_users")],
                     "the user added while it was down")
            with connect(n2) as conn:
                again = conn.channel().queue_declare("again", durable=True)
                self.assertEqual(again.method.message_count, 10, "confirmed messages kept")
            # It serves changes again, as a member of the cluster.
            declare(n2, "after-restart")
            for n in c.nodes:
                wait_for(lambda: exists(n, "after-restart"), "a change made on the restarted node")

    def test_a_restarted_member_routes_through_transient_exchanges_and_drops_its_transient_queues(self):
        # The store keeps only durable definitions; the rest comes back from
        # the log (docs/cluster.md, "A member's restart").
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            with connect(n1) as conn:
                ch = conn.channel()
                ch.exchange_declare("events", "fanout", durable=False)
                ch.queue_declare("on-n1", durable=False)  # homed on node1
                ch.queue_bind("on-n1", "events")
                ch.queue_declare("kept", durable=True)
                ch.queue_bind("kept", "events")
            with connect(n2) as conn:
                ch = conn.channel()
                ch.queue_declare("on-n2", durable=False)  # homed on node2: lost with it
                ch.queue_bind("on-n2", "events")
            wait_for(lambda: exists(n2, "on-n1") and exists(n2, "kept"), "node2 has every record")
            n2.kill()
            n2.restart()
            self.assertIn("rebuilt from the log 1 transient exchanges, 1 records", n2.logs())
            # Published through node2: the exchange, its bindings and node1's
            # queue are there again.
            with connect(n2) as conn:
                ch = conn.channel()
                ch.confirm_delivery()
                ch.basic_publish("events", "", b"after the restart")
            for n in c.nodes:
                wait_for(lambda: not exists(n, "on-n2"), "node2's transient queue gone from %s"
                         % n.node_name, timeout=10)
            with connect(n3) as conn:
                ch = conn.channel()
                for queue in ("on-n1", "kept"):
                    count = ch.queue_declare(queue, passive=True).method.message_count
                    self.assertEqual(count, 1, queue)

    def test_killing_the_leader_loses_no_acknowledged_change_and_a_new_leader_serves(self):
        with Cluster(self) as c:
            leader = c.leader()
            survivors = [n for n in c.nodes if n is not leader]
            acknowledged = []
            for i in range(20):
                declare(survivors[0], "before-%d" % i)
                acknowledged.append("before-%d" % i)
            leader.kill()
            killed_at = time.monotonic()

            def declared_again():
                name = "after-%d" % len(acknowledged)
                if refused_with(survivors[0], name) is None:
                    acknowledged.append(name)
                    return True
                return False
            wait_for(declared_again, "a change accepted after the leader was killed", timeout=20)
            failover = time.monotonic() - killed_at
            for i in range(20):
                declare(survivors[1], "later-%d" % i)
                acknowledged.append("later-%d" % i)
            # Nothing acknowledged is lost: every name reaches both survivors
            # (the one not asked applies the last ones a moment later).
            for n in survivors:
                wait_for(lambda: all(exists(n, name) for name in acknowledged),
                         "every acknowledged queue on node %d" % n.grpc_port, timeout=10)
            print("new leader accepting changes %.2f s after kill -9" % failover, file=sys.stderr)


    def test_cluster_status_lists_every_member_and_drops_a_killed_one_from_running(self):
        def status(node):
            return json.loads(warrenctl(node, "cluster_status", "--formatter", "json")[1])

        def status_once_running(node, running, what):
            """`node`'s status once its running_nodes are `running`."""
            def reached():
                s = status(node)
                return s if s["running_nodes"] == running else None
            return wait_for(reached, "%s %s" % (node.node_name, what), timeout=10)

        with Cluster(self) as c:
            names = sorted(n.node_name for n in c.nodes)
            leader = c.leader()
            for n in c.nodes:
                # Running: answering this node's Ping, which a node just
                # started may not do at once.
                s = status_once_running(n, names, "seeing all three running")
                self.assertEqual(s["disk_nodes"], names, s)
                self.assertEqual((s["partitions"], s["alarms"]), ({}, []), s)
                # One member's name (the same on every node: below).
                self.assertIn(s["cluster_name"], names, s)
                self.assertEqual([(m["id"], m["node_name"], m["voter"]) for m in s["members"]],
                                 [(i, c.by_id[i].node_name, True) for i in (1, 2, 3)], s)
            wait_for(lambda: len({status(n)["cluster_name"] for n in c.nodes}) == 1,
                     "one cluster name on every node", timeout=10)
            # The leader the logs name is the one its own node reports.
            wait_for(lambda: status(leader)["leader"] == leader.node_name,
                     "the leader reporting itself as leader", timeout=10)
            # The text form names every node, in both node sections.
            out = warrenctl(c.nodes[0], "cluster_status")[1]
            for section in ("Disk Nodes", "Running Nodes"):
                self.assertIn("\n%s\n\n%s\n\n" % (section, "\n".join(names)), out)
            self.assertIn("\nNetwork Partitions\n\n(none)\n", out)

            killed, survivors = c.nodes[2], c.nodes[:2]
            killed.kill()
            alive = sorted(n.node_name for n in survivors)
            for n in survivors:
                s = status_once_running(n, alive, "dropping the killed node from running")
                self.assertEqual(s["disk_nodes"], names, "a killed member is still a member")
                out = warrenctl(n, "cluster_status")[1]
                self.assertIn("\nDisk Nodes\n\n%s\n\n" % "\n".join(names), out)
                self.assertIn("\nRunning Nodes\n\n%s\n\n" % "\n".join(alive), out)


if __name__ == "__main__":
    harness.main()
