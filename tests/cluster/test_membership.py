"""Three warren-node processes started alone (no seeds) and made one cluster
with the tutorial's commands (docs/cluster.md, "Members"): stop_app, reset,
join_cluster, start_app on node2 and node3, then cluster_status, users set up
once, RabbitMQ's refusals, reset leaving the cluster, forget_cluster_node of
a stopped member, and a joined member that a kill -9 and a restart (same data
directory, still no seeds) bring back as the member it was.

Each test starts its own three nodes (harness.Broker per node, sharing one
cluster secret file, each with fixed gRPC and AMQP ports chosen free at run
time, so that start_app and a restart listen where the tests look) and stops
them.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ctl"))

import pika  # noqa: E402
from ctl import connect, harness, listing, wait_for, warrenctl  # noqa: E402
from nodes import NO_DEFINITIONS, NodeGroup, secret_file  # noqa: E402

NAMES = ["warren@m1", "warren@m2", "warren@m3"]
NOT_RUNNING = "the application is not running on this node (stop_app): run start_app first"
ALL = {"vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}


def still_running(name):
    return ("Warren is still running on node %s. Please stop it with 'warrenctl stop_app' "
            "first." % name)


def address(node):
    """The node's gRPC HOST:PORT: what join_cluster and -n name."""
    return "127.0.0.1:%d" % node.grpc_port


class Nodes(NodeGroup):
    """Three nodes, each alone at first: no seeds, one shared secret."""

    def __init__(self, test):
        secret = secret_file(test)
        self.nodes = []
        for name in NAMES:
            node = harness.Broker(NO_DEFINITIONS, grpc_port=harness.free_port(),
                                  amqp_port=harness.free_port(),
                                  args=["--node-name", name, "--cluster-secret-file", secret])
            node.node_name = name
            self.nodes.append(node)


def status(node):
    _, out, _ = warrenctl(node, "cluster_status", "--formatter", "json")
    return json.loads(out)


def members(s):
    return [(m["id"], m["node_name"], m["voter"]) for m in s["members"]]


def queue_names(node):
    return [q["name"] for q in listing(node, "list_queues", "name")]


def vhost_names(node):
    return [v["name"] for v in listing(node, "list_vhosts")]


class MembershipTest(unittest.TestCase):
    # warrenctl, exit status and messages checked -----------------------------
    def ok(self, node, *args, says=None):
        rc, out, err = warrenctl(node, *args, check=False)
        self.assertEqual(rc, 0, "warrenctl -n %s %s exited %d: %s%s"
                         % (address(node), " ".join(args), rc, out, err))
        if says is not None:
            self.assertIn(says, out)
        return out

    def refused(self, node, *args, says):
        rc, out, err = warrenctl(node, *args, check=False)
        self.assertNotEqual(rc, 0, "warrenctl -n %s %s was not refused: %s"
                            % (address(node), " ".join(args), out))
        self.assertTrue(err.startswith("Error: "), err)
        self.assertIn(says, err)
        return err

    # The tutorial's steps ----------------------------------------------------
    def join(self, node, through):
        """stop_app, reset, join_cluster `through`, start_app on `node`."""
        name = node.node_name
        self.ok(node, "stop_app", says="Stopping warren application on node %s ..." % name)
        self.ok(node, "reset", says="Resetting node %s ..." % name)
        self.ok(node, "join_cluster", address(through),
                says="Clustering node %s with %s" % (name, address(through)))
        self.ok(node, "start_app", says="Starting node %s ..." % name)

    def status_once(self, node, what, condition):
        """`node`'s cluster_status once `condition` holds of it."""
        def reached():
            s = status(node)
            return s if condition(s) else None
        return wait_for(reached, "%s: %s" % (node.node_name, what), timeout=15)

    def wait_all_running_voters(self, nodes, names=NAMES):
        for n in nodes:
            s = self.status_once(n, "%s running, all voters" % names,
                                 lambda s: s["running_nodes"] == names and
                                 all(m["voter"] for m in s["members"]))
            self.assertEqual(s["disk_nodes"], names, s)
            self.assertEqual([m["node_name"] for m in s["members"]], names, s)

    def logged(self, c, line):
        """Waits for `line` in some node's log (the leader's, which may change)."""
        wait_for(lambda: any(line in n.logs() for n in c.nodes), "a node logging %r" % line)

    def form(self, c):
        n1, n2, n3 = c.nodes
        self.join(n2, n1)
        self.join(n3, n2)
        self.wait_all_running_voters(c.nodes)

    # Tests -------------------------------------------------------------------
    def test_the_tutorials_steps_make_one_cluster_whose_users_are_set_up_once(self):
        with Nodes(self) as c:
            n1, n2, n3 = c.nodes
            for n in c.nodes:  # each alone: a cluster of one
                self.assertEqual(status(n)["disk_nodes"], [n.node_name])
            self.join(n2, n1)
            # node1, named by a join while alone, founded the cluster and leads it.
            wait_for(lambda: "cluster: %s (%s) joined as member 2" % (NAMES[1], address(n2))
                     in n1.logs(), "node1 logging node2's join")
            wait_for(lambda: "cluster: member 2 has caught up and now votes" in n1.logs(),
                     "node1 logging node2's promotion")
            s = self.status_once(n2, "knowing its leader", lambda s: s["leader"])
            self.assertEqual(s["leader"], NAMES[0], "node3 must join through a non-leader")
            self.join(n3, n2)
            wait_for(lambda: "cluster: %s (%s) joined as member 3" % (NAMES[2], address(n3))
                     in n1.logs(), "the leader logging node3's join (redirected by node2)")
            self.wait_all_running_voters(c.nodes)
            for n in c.nodes:
                s = status(n)
                self.assertEqual(members(s), [(1, NAMES[0], True), (2, NAMES[1], True),
                                              (3, NAMES[2], True)], s)
                self.assertEqual(s["cluster_name"], NAMES[0], s)
                self.assertEqual((s["partitions"], s["alarms"]), ({}, []), s)
            out = self.ok(n3, "cluster_status")
            for section in ("Disk Nodes", "Running Nodes"):
                self.assertIn("\n%s\n\n%s\n\n" % (section, "\n".join(NAMES)), out)

            # The tutorial's administrator, set up once, on node3.
            self.ok(n3, "add_user", "admin", "123456")
            self.ok(n3, "set_user_tags", "admin", "administrator")
            self.ok(n3, "set_permissions", "-p", "/", "admin", ".*", ".*", ".*")
            for n in (n1, n2):
                wait_for(lambda: {"user": "admin", "tags": ["administrator"]}
                         in listing(n, "list_users"),
                         "admin, tagged administrator, on %s" % n.node_name, timeout=10)
                wait_for(lambda: listing(n, "list_user_permissions", "admin") == [ALL],
                         "admin's permissions on %s" % n.node_name, timeout=10)
            for n in c.nodes:  # every node's AMQP port
                with connect(n, "admin", "123456") as conn:
                    conn.channel().queue_declare("", exclusive=True)

    def test_a_durable_queue_declared_on_node1_after_the_join_is_listed_on_every_node(self):
        with Nodes(self) as c:
            n1, n2, n3 = c.nodes
            self.form(c)
            with connect(n1) as conn:
                conn.channel().queue_declare("orders", durable=True)
            self.assertIn("orders", queue_names(n1), "read-your-writes on the node asked")
            for n in (n2, n3):
                rows = wait_for(lambda: [q for q in listing(n, "list_queues", "name", "durable")
                                         if q["name"] == "orders"],
                                "orders on %s" % n.node_name, timeout=10)
                self.assertEqual(rows, [{"name": "orders", "durable": True}])

    def test_rabbitmqs_refusals_change_nothing_and_start_app_brings_a_stopped_node_back(self):
        with Nodes(self) as c:
            n1, n2, n3 = c.nodes
            self.form(c)
            before = members(status(n1))
            # join_cluster and reset need the application stopped.
            self.refused(n2, "join_cluster", address(n3), says=still_running(NAMES[1]))
            self.refused(n2, "reset", says=still_running(NAMES[1]))
            # Nothing changed: node2 serves AMQP, still in its cluster.
            with connect(n2) as conn:
                conn.channel().queue_declare("still-served", durable=True)
            for n in (n1, n3):
                wait_for(lambda: "still-served" in queue_names(n),
                         "node2's change on %s" % n.node_name, timeout=10)
            for n in c.nodes:
                s = status(n)
                self.assertEqual(members(s), before, s)
                self.assertEqual(s["disk_nodes"], NAMES, s)

            # forget_cluster_node: not a running member, not the node asked,
            # only members; --offline only asked of a stopped node.
            self.refused(n1, "forget_cluster_node", NAMES[1],
                         says="cannot forget %s: it is running" % NAMES[1])
            self.refused(n1, "forget_cluster_node", address(n2),
                         says="cannot forget %s: it is running" % address(n2))
            self.refused(n1, "forget_cluster_node", NAMES[0],
                         says="cannot forget this node itself")
            self.refused(n1, "forget_cluster_node", "warren@nobody",
                         says="warren@nobody is not a member of this node's cluster")
            self.refused(n1, "forget_cluster_node", "--offline", NAMES[2],
                         says="--offline: this node (%s) is running" % NAMES[0])
            self.assertEqual(members(status(n1)), before)

            # A stopped node answers only status, cluster_status and membership.
            self.ok(n2, "stop_app", says="Stopping warren application on node %s ..." % NAMES[1])
            self.refused(n2, "list_queues", says=NOT_RUNNING)
            self.refused(n2, "add_user", "someone", "pw", says=NOT_RUNNING)
            self.ok(n2, "status")
            self.assertEqual(status(n2)["disk_nodes"], NAMES)
            self.refused(n2, "forget_cluster_node", NAMES[2],
                         says="this node (%s) is stopped" % NAMES[1])
            with self.assertRaises(pika.exceptions.AMQPConnectionError):
                connect(n2).close()
            s = self.status_once(n1, "node2 no longer running",
                                 lambda s: s["running_nodes"] == [NAMES[0], NAMES[2]])
            self.assertEqual(s["disk_nodes"], NAMES, "a stopped node is still a member")
            self.assertEqual(members(s), before, s)

            self.ok(n2, "start_app", says="Starting node %s ..." % NAMES[1])
            self.assertIn("still-served", queue_names(n2))
            with connect(n2) as conn:
                conn.channel().queue_declare("still-served", passive=True)
            self.wait_all_running_voters(c.nodes)

    def test_reset_leaves_the_cluster_and_a_stopped_member_can_be_forgotten(self):
        with Nodes(self) as c:
            n1, n2, n3 = c.nodes
            self.form(c)
            self.ok(n1, "add_user", "admin", "123456")
            self.ok(n1, "add_vhost", "shared")
            with connect(n1) as conn:
                conn.channel().queue_declare("kept", durable=True)
            wait_for(lambda: "kept" in queue_names(n2) and "shared" in vhost_names(n2)
                     and "admin" in [u["user"] for u in listing(n2, "list_users")],
                     "node1's changes on node2", timeout=10)

            # The tutorial's step 11.
            self.ok(n2, "stop_app", says="Stopping warren application on node %s ..." % NAMES[1])
            self.ok(n2, "reset", says="Resetting node %s ..." % NAMES[1])
            self.ok(n2, "start_app", says="Starting node %s ..." % NAMES[1])
            s = status(n2)
            self.assertEqual((s["disk_nodes"], s["running_nodes"], s["leader"]),
                             ([NAMES[1]], [NAMES[1]], NAMES[1]), s)
            self.assertEqual([m["node_name"] for m in s["members"]], [NAMES[1]], s)
            # It forgot every definition but the default user and vhost.
            self.assertEqual([u["user"] for u in listing(n2, "list_users")], ["guest"])
            self.assertEqual(vhost_names(n2), ["/"])
            self.assertEqual(queue_names(n2), [])
            # It left the cluster: the others no longer list it.
            rest = [NAMES[0], NAMES[2]]
            for n in (n1, n3):
                s = self.status_once(n, "node2 gone", lambda s: s["disk_nodes"] == rest)
                self.assertEqual([m["node_name"] for m in s["members"]], rest, s)
            self.logged(c, "cluster: member 2 was removed")
            self.refused(n1, "forget_cluster_node", NAMES[1],
                         says="%s is not a member of this node's cluster" % NAMES[1])
            # Changes in the cluster no longer reach it.
            self.ok(n1, "add_vhost", "after-reset")
            wait_for(lambda: "after-reset" in vhost_names(n3), "node1's change on node3")
            self.assertNotIn("after-reset", vhost_names(n2))

            # A stopped member forgotten by its node name.
            self.ok(n3, "stop_app", says="Stopping warren application on node %s ..." % NAMES[2])
            self.ok(n1, "forget_cluster_node", NAMES[2],
                    says="Removing node %s from the cluster" % NAMES[2])
            s = self.status_once(n1, "node3 forgotten",
                                 lambda s: s["disk_nodes"] == [NAMES[0]])
            self.assertEqual(s["running_nodes"], [NAMES[0]], s)
            self.assertEqual([m["node_name"] for m in s["members"]], [NAMES[0]], s)
            self.logged(c, "cluster: member 3 was removed")
            # node1, a cluster of one now, still commits changes.
            self.ok(n1, "add_vhost", "after-forget")
            self.assertIn("after-forget", vhost_names(n1))

            # The forgotten node3 must not serve what it kept (RabbitMQ refuses
            # to start such a node): start_app is refused until it is reset.
            forgotten = "this node (member 3) was removed from its cluster"
            self.refused(n3, "start_app", says=forgotten)
            self.refused(n3, "list_queues", says=NOT_RUNNING)
            # Restarted, it comes up with its application stopped and says why.
            n3.kill()
            n3.restart(wait_for_amqp=False)
            wait_for(lambda: forgotten in n3.logs().split("killed with SIGKILL")[-1],
                     "the restarted node3 logging that it was forgotten")
            self.refused(n3, "list_queues", says=NOT_RUNNING)
            self.ok(n3, "reset", says="Resetting node %s ..." % NAMES[2])
            self.ok(n3, "start_app", says="Starting node %s ..." % NAMES[2])
            self.assertEqual(status(n3)["disk_nodes"], [NAMES[2]])
            self.assertEqual(vhost_names(n3), ["/"])

    def test_a_node_joined_but_never_started_leaves_nothing_behind_when_reset(self):
        with Nodes(self) as c:
            n1, n2, _ = c.nodes
            self.ok(n2, "stop_app")
            self.ok(n2, "join_cluster", address(n1))
            self.status_once(n1, "node2 a member", lambda s: s["disk_nodes"] == NAMES[:2])
            self.ok(n2, "reset", says="Resetting node %s ..." % NAMES[1])
            s = self.status_once(n1, "node2 gone", lambda s: s["disk_nodes"] == NAMES[:1])
            self.assertEqual([m["node_name"] for m in s["members"]], NAMES[:1], s)
            self.ok(n2, "start_app")
            self.assertEqual(status(n2)["disk_nodes"], [NAMES[1]])

    def test_a_joined_member_killed_and_restarted_without_seeds_is_the_same_member(self):
        with Nodes(self) as c:
            n1, n2, n3 = c.nodes
            self.form(c)
            before = members(status(n1))
            self.ok(n1, "check_if_node_is_quorum_critical",
                    says="Node %s is not critical for the quorum of the cluster's metadata"
                    % NAMES[0])
            n3.kill()
            s = self.status_once(n1, "node3 no longer running",
                                 lambda s: s["running_nodes"] == NAMES[:2])
            self.assertEqual(s["disk_nodes"], NAMES, "a killed member is still a member")
            # Two of three run: stopping either would leave the metadata no majority.
            rc, out, err = warrenctl(n1, "check_if_node_is_quorum_critical", check=False)
            self.assertEqual(rc, 69, out + err)
            self.assertIn("the cluster's metadata will become unavailable if node %s stops "
                          "(2 of 3 voting members run; 2 are needed)" % NAMES[0], err)
            self.ok(n1, "add_vhost", "while-down")
            self.ok(n2, "add_user", "late", "pw")
            n3.restart()  # same data directory, same ports, no seeds
            restarted = n3.logs().split("killed with SIGKILL")[-1]
            self.assertRegex(restarted, r"cluster: this node is member 3, .*restarted with")
            self.wait_all_running_voters(c.nodes)
            for n in c.nodes:
                self.assertEqual(members(status(n)), before)
            wait_for(lambda: "while-down" in vhost_names(n3), "the vhost added while it was down")
            wait_for(lambda: "late" in [u["user"] for u in listing(n3, "list_users")],
                     "the user added while it was down")
            self.assertNotIn("joined as member 4", n1.logs() + n2.logs())
            # It serves as a member: a change made on it reaches the others.
            self.ok(n3, "add_vhost", "from-node3")
            for n in (n1, n2):
                wait_for(lambda: "from-node3" in vhost_names(n),
                         "node3's change on %s" % n.node_name, timeout=10)


if __name__ == "__main__":
    harness.main()
