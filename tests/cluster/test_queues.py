"""Queues across nodes (docs/cluster.md, "Queues across nodes"): three
warren-node processes on loopback formed into one cluster from seeds, where a
queue lives on one node, its home, and a client connected to any node uses it.

The tests prove that:
- a queue lives on the node it was declared through, and list_queues on every
  node names that node (column `node`) and gives the counts its home has (state
  `down` while the home is);
- messages published through one node are consumed through another, each
  confirmed, in order, once, and acknowledged so that the queue is empty on its
  own node afterwards;
- basic.get, basic.reject with requeue (the message comes back redelivered),
  basic.ack and basic.get with auto-ack work through a node that is not the
  queue's, with the counts the queue reports;
- a consumer's prefetch holds when the queue is on another node;
- queue.purge and queue.delete work through a node that is not the queue's, and
  the deleted queue is gone on every node;
- deliveries left unacknowledged by a client of another node come back,
  redelivered, when that client's connection closes;
- a queue and exchange declared through one node are used through the others at
  once, without waiting for them to apply the declarations;
- x-queue-master-locator "min-masters" places a queue on a node with fewest
  queues, not on the node asked;
- a queue whose node is stopped is refused with 404 naming that node, as
  RabbitMQ does ("home node 'warren@c1' of durable queue 'dq' in vhost '/' is
  down or inaccessible"), and comes back with its persistent messages once the
  node is restarted from its data directory;
- a consumer connected to another node is cancelled (basic.cancel) when the
  queue's node stops;
- forget_cluster_node of a stopped node deletes the queues it homed, on every
  node, as RabbitMQ does;
- the tutorial's Java Producer and Consumer (tests/interop/java) work with the
  Producer on one node, the Consumer on another and the queue on a third;
- a transaction through another node commits there, and fails with RabbitMQ's
  406 "partial tx completion" while the queue's node is down;
- a channel's global prefetch spans its consumers of queues on another node;
- direct reply-to answers a client of another node;
- a user's connection and channel limits, and a vhost's connection limit, count
  the connections and channels on every node, as RabbitMQ counts them;
- a killed node's transient queues are deleted (as RabbitMQ does when a node
  goes down) and can be declared again through another node, while its durable
  queues wait for it.

Tests that stop a node start a cluster of their own (harness.Broker per node,
gRPC ports chosen free at run time, test_cluster.py's Cluster) and stop it; the
others share one cluster per class, each test with queues of its own names.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ctl"))

import pika  # noqa: E402
from ctl import connect, harness, listing, wait_for, warrenctl  # noqa: E402
from test_cluster import Cluster, declare, exists  # noqa: E402

NAMES = ["warren@c1", "warren@c2", "warren@c3"]
PERSISTENT = pika.BasicProperties(delivery_mode=2)
ALL = {"vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
FORWARDED = 15.0  # seconds for what crosses nodes to arrive (failures stay short)


# Helpers -----------------------------------------------------------------------
def bodies(n):
    return [b"m%d" % i for i in range(n)]


def publish(node, queue, messages):
    """Publishes `messages` through `node` to `queue` (default exchange),
    persistent, mandatory, with publisher confirms: returns once every one is
    confirmed; pika raises on a nack or a return (no queue routed to)."""
    with connect(node) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        for body in messages:
            ch.basic_publish("", queue, body, PERSISTENT, mandatory=True)


def visible_everywhere(cluster, queue):
    """Waits until every node has applied the queue's declaration (AMQP
    methods take no barrier: docs/cluster.md, "A barrier")."""
    for n in cluster.nodes:
        wait_for(lambda: exists(n, queue), "%s known on %s" % (queue, n.node_name),
                 timeout=10, interval=0.05)


def queue_on_c1(cluster, queue, messages=0, durable=True):
    """`queue` declared through c1, given `messages` (m0, m1, ...) through c1,
    and known on every node."""
    declare(cluster.nodes[0], queue, durable=durable)
    publish(cluster.nodes[0], queue, bodies(messages))
    visible_everywhere(cluster, queue)


def passive_count(node, queue):
    """The ready message count a passive declare through `node` reports."""
    with connect(node) as conn:
        return conn.channel().queue_declare(queue, passive=True).method.message_count


def passive_refusal(node, queue):
    """(reply code, reply text) a passive declare through `node` is refused
    with, or None when it is answered."""
    try:
        with connect(node) as conn:
            conn.channel().queue_declare(queue, passive=True)
    except pika.exceptions.ChannelClosedByBroker as e:
        return e.reply_code, e.reply_text
    return None


def queue_row(node, queue, *columns):
    """`queue`'s row of `list_queues name COLUMNS...` through `node`, or None."""
    rows = [q for q in listing(node, "list_queues", "name", *columns) if q["name"] == queue]
    return rows[0] if rows else None


def pump_until(conn, condition, what, timeout=FORWARDED):
    """Lets `conn` dispatch what has arrived (deliveries, a basic.cancel) until
    `condition()` holds."""
    def pumped():
        conn.process_data_events(time_limit=0)
        return condition()
    return wait_for(pumped, what, timeout=timeout)


def subscribe(ch, queue, auto_ack=False):
    """basic.consume on `queue`; returns (consumer tag, the list that every
    delivery is appended to as (method, properties, body))."""
    got = []
    tag = ch.basic_consume(queue, lambda _ch, method, props, body: got.append(
        (method, props, body)), auto_ack=auto_ack)
    return tag, got


def first_get(ch, queue):
    """The first message basic.get (manual ack) through `ch` returns, polling
    while `queue` has none ready."""
    def got():
        method, props, body = ch.basic_get(queue)
        return (method, props, body) if method is not None else None
    return wait_for(got, "a message ready in %s" % queue, timeout=FORWARDED, interval=0.05)


def get_all(conn, ch, queue, n):
    """Consumes `queue` (manual ack) until `n` deliveries arrived; returns
    them, unacknowledged, with the consumer still subscribed."""
    _, got = subscribe(ch, queue)
    pump_until(conn, lambda: len(got) >= n, "%d deliveries from %s" % (n, queue))
    return got


class _ClassScope:
    """What Cluster asks of a test (addCleanup, for its secret file), for a
    cluster that a whole TestCase class shares."""

    def __init__(self, cls):
        self.addCleanup = cls.addClassCleanup


class SharedClusterTest(unittest.TestCase):
    """Tests that share one cluster, started for the class and stopped after
    its last test: they stop no node."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = Cluster(_ClassScope(cls))
        cls.cluster.__enter__()
        cls.addClassCleanup(cls.cluster.__exit__)
        cls.n1, cls.n2, cls.n3 = cls.cluster.nodes


# One cluster for the tests that stop no node ----------------------------------
class QueuesAcrossNodesTest(SharedClusterTest):

    def test_a_queue_lives_on_the_node_it_was_declared_through(self):
        c = self.cluster
        declare(self.n1, "q1", durable=True)
        # Read-your-writes on the node asked; the others apply it a moment later.
        row = queue_row(self.n1, "q1", "node")
        self.assertEqual(row, {"name": "q1", "node": "warren@c1"})
        for n in c.nodes[1:]:
            row = wait_for(lambda: queue_row(n, "q1", "node"), "q1 listed on %s" % n.node_name,
                           timeout=10)
            self.assertEqual(row, {"name": "q1", "node": "warren@c1"}, n.node_name)

    def test_publish_through_one_node_and_consume_through_another(self):
        queue_on_c1(self.cluster, "relay")
        publish(self.n2, "relay", bodies(100))  # each confirmed, or pika raises
        with connect(self.n3) as conn:
            ch = conn.channel()
            got = get_all(conn, ch, "relay", 100)
            self.assertEqual([body for _, _, body in got], bodies(100), "all, in order, once")
            self.assertEqual([m.redelivered for m, _, _ in got], [False] * 100)
            for method, _, _ in got:
                ch.basic_ack(method.delivery_tag)
            with connect(self.n1) as home:
                self.assertEqual(home.channel().basic_get("relay"), (None, None, None),
                                 "nothing left ready on the queue's node")
                # The acknowledgements reach the queue's node a moment after they are sent.
                wait_for(lambda: queue_row(self.n1, "relay", "messages")["messages"] == 0,
                         "relay empty on warren@c1 once acknowledged", timeout=FORWARDED)

    def test_a_transaction_through_another_node_commits_on_the_queue_s_node(self):
        queue_on_c1(self.cluster, "txq")
        with connect(self.n2) as conn:
            ch = conn.channel()
            ch.tx_select()
            for body in bodies(50):
                ch.basic_publish("", "txq", body, PERSISTENT)
            ch.tx_rollback()
            ch.basic_publish("", "txq", b"committed", PERSISTENT)
            ch.tx_commit()
            self.assertEqual(passive_count(self.n1, "txq"), 1)

    def test_get_ack_reject_and_requeue_through_another_node(self):
        queue_on_c1(self.cluster, "got", messages=3)
        with connect(self.n2) as conn:
            ch = conn.channel()
            method, _, body = ch.basic_get("got", auto_ack=False)
            self.assertIsNotNone(method, "basic.get through warren@c2 found the queue empty")
            self.assertEqual((body, method.redelivered, method.message_count), (b"m0", False, 2))
            ch.basic_reject(method.delivery_tag, requeue=True)
            method, _, body = ch.basic_get("got", auto_ack=False)
            self.assertIsNotNone(method, "the rejected message did not come back")
            self.assertEqual(body, b"m0", "requeued at its place, the head")
            self.assertTrue(method.redelivered)
            self.assertEqual(method.message_count, 2, "m1 and m2 still ready")
            ch.basic_ack(method.delivery_tag)
            method, _, body = ch.basic_get("got", auto_ack=True)
            self.assertIsNotNone(method, "basic.get with auto-ack found the queue empty")
            self.assertEqual((body, method.redelivered, method.message_count), (b"m1", False, 1))
        self.assertEqual(passive_count(self.n3, "got"), 1, "m2 left, as seen through warren@c3")

    def test_prefetch_holds_across_nodes(self):
        queue_on_c1(self.cluster, "prefetched", messages=10)
        with connect(self.n2) as conn:
            ch = conn.channel()
            ch.basic_qos(prefetch_count=2)
            _, got = subscribe(ch, "prefetched")
            pump_until(conn, lambda: len(got) >= 2, "the first two deliveries")
            # A bounded look for a third delivery, which must not come.
            conn.process_data_events(time_limit=0.3)
            self.assertEqual([b for _, _, b in got], [b"m0", b"m1"], "prefetch 2 exceeded")
            ch.basic_ack(got[0][0].delivery_tag)
            pump_until(conn, lambda: len(got) >= 3, "a third delivery once one was acked")
            conn.process_data_events(time_limit=0.2)
            self.assertEqual([b for _, _, b in got], [b"m0", b"m1", b"m2"],
                             "one acknowledgement lets exactly one more through")

    def test_a_channel_s_global_prefetch_spans_its_consumers_of_queues_on_another_node(self):
        queue_on_c1(self.cluster, "global-a", messages=5)
        queue_on_c1(self.cluster, "global-b", messages=5)
        with connect(self.n2) as conn:
            ch = conn.channel()
            ch.basic_qos(prefetch_count=3, global_qos=True)
            _, got_a = subscribe(ch, "global-a")
            _, got_b = subscribe(ch, "global-b")
            pump_until(conn, lambda: len(got_a) + len(got_b) >= 3, "the first three deliveries")
            # A bounded look for a fourth delivery, which must not come.
            conn.process_data_events(time_limit=0.3)
            self.assertEqual(len(got_a) + len(got_b), 3, "global prefetch 3 exceeded")
            first = (got_a or got_b)[0][0]
            ch.basic_ack(first.delivery_tag)
            pump_until(conn, lambda: len(got_a) + len(got_b) >= 4, "one more once one was acked")
            conn.process_data_events(time_limit=0.2)
            self.assertEqual(len(got_a) + len(got_b), 4,
                             "one acknowledgement lets exactly one more through")

    def test_direct_reply_to_answers_a_client_of_another_node(self):
        queue_on_c1(self.cluster, "rpc-requests")
        with connect(self.n1) as client, connect(self.n3) as server:
            ch = client.channel()
            replies = []
            ch.basic_consume("amq.rabbitmq.reply-to",
                             lambda _ch, _m, _p, body: replies.append(body), auto_ack=True)
            ch.basic_publish("", "rpc-requests", b"ping",
                             pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
            # The server, a client of warren@c3, answers to the rewritten key.
            sch = server.channel()
            _, props, body = first_get(sch, "rpc-requests")
            self.assertEqual(body, b"ping")
            sch.basic_publish("", props.reply_to, b"pong", mandatory=True)
            pump_until(client, lambda: replies, "the reply on warren@c1")
            self.assertEqual(replies, [b"pong"])

    def test_purge_and_delete_through_another_node(self):
        c = self.cluster
        queue_on_c1(c, "purged", messages=5)
        with connect(self.n2) as conn:
            purged = conn.channel().queue_purge("purged")
        self.assertEqual(purged.method.message_count, 5)
        self.assertEqual(passive_count(self.n1, "purged"), 0, "empty on its own node")
        publish(self.n2, "purged", [b"after-1", b"after-2"])
        with connect(self.n3) as conn:
            deleted = conn.channel().queue_delete("purged")
        self.assertEqual(deleted.method.message_count, 2)
        # Read-your-writes on the node asked; the others apply it a moment later.
        self.assertEqual(passive_refusal(self.n3, "purged")[0], 404)
        for n in (self.n1, self.n2):
            refusal = wait_for(lambda: passive_refusal(n, "purged"),
                               "purged gone on %s" % n.node_name, timeout=10, interval=0.05)
            self.assertEqual(refusal[0], 404, refusal)

    def test_unacked_deliveries_come_back_when_the_consuming_node_s_client_closes(self):
        queue_on_c1(self.cluster, "unacked", messages=3)
        with connect(self.n2) as conn:
            got = get_all(conn, conn.channel(), "unacked", 3)
            self.assertEqual([b for _, _, b in got], bodies(3))
        # The close reaches the queue's node a moment after the client's close-ok.
        with connect(self.n1) as home:
            method, _, body = first_get(home.channel(), "unacked")
            self.assertEqual(body, b"m0", "requeued at its place, the head")
            self.assertTrue(method.redelivered)
            self.assertEqual(method.message_count, 2)

    def test_a_queue_declared_through_one_node_is_used_through_another_at_once(self):
        # No waiting: a node that does not know a queue or exchange yet
        # catches up with the cluster before it refuses (docs/cluster.md,
        # "A barrier"), as RabbitMQ's metadata is visible on every node once
        # a declare is answered.
        with connect(self.n1) as conn:
            ch = conn.channel()
            ch.exchange_declare("at-once-x", "direct")
            ch.queue_declare("at-once", durable=True)
            ch.queue_bind("at-once", "at-once-x", "k")
        with connect(self.n3) as conn:
            ch = conn.channel()
            self.assertEqual(ch.queue_declare("at-once", passive=True).method.message_count, 0)
            ch.exchange_declare("at-once-x", passive=True)
            ch.confirm_delivery()
            ch.basic_publish("at-once-x", "k", b"now", PERSISTENT, mandatory=True)
        with connect(self.n2) as conn:
            method, _, body = conn.channel().basic_get("at-once", auto_ack=True)
            self.assertEqual(body, b"now")

    def test_list_queues_through_any_node_shows_the_counts_of_the_queues_home(self):
        queue_on_c1(self.cluster, "counted", messages=4)
        with connect(self.n3) as conn:
            ch = conn.channel()
            ch.basic_qos(prefetch_count=1)
            _, got = subscribe(ch, "counted")
            pump_until(conn, lambda: len(got) == 1, "one delivery held unacknowledged")
            for n in self.cluster.nodes:
                row = queue_row(n, "counted", "node", "messages", "messages_ready",
                                "messages_unacknowledged", "consumers", "state")
                self.assertEqual(row, {"name": "counted", "node": "warren@c1", "messages": 4,
                                       "messages_ready": 3, "messages_unacknowledged": 1,
                                       "consumers": 1, "state": "running"}, n.node_name)

    def test_min_masters_places_the_queue_on_the_node_with_fewest(self):
        for name in ("mm-1", "mm-2"):
            declare(self.n1, name, durable=True)
            self.assertEqual(queue_row(self.n1, name, "node")["node"], "warren@c1", name)
        rows = listing(self.n1, "list_queues", "name", "node")
        count = {name: sum(1 for q in rows if q.get("node") == name) for name in NAMES}
        fewest = [name for name in NAMES if count[name] == min(count.values())]
        declare(self.n1, "placed", durable=True,
                arguments={"x-queue-master-locator": "min-masters"})
        node = queue_row(self.n1, "placed", "node")["node"]
        self.assertNotEqual(node, "warren@c1")
        self.assertIn(node, fewest, "queues per node before: %s" % count)

    def test_connection_and_channel_limits_count_every_node(self):
        n1, n2, n3 = self.n1, self.n2, self.n3
        warrenctl(n1, "add_user", "limited", "secret")
        warrenctl(n1, "set_permissions", "-p", "/", "limited", ".*", ".*", ".*")
        warrenctl(n1, "set_user_limits", "limited",
                  '{"max-connections": 2, "max-channels": 2}')
        warrenctl(n1, "add_vhost", "one-conn")
        warrenctl(n1, "set_permissions", "-p", "one-conn", "guest", ".*", ".*", ".*")
        warrenctl(n1, "set_vhost_limits", "-p", "one-conn", '{"max-connections": 1}')
        for n in (n2, n3):
            wait_for(lambda: "max-channels" in warrenctl(n, "list_user_limits", "--user", "limited")[1]
                     and "max-connections" in warrenctl(n, "list_vhost_limits", "-p",
                                                        "one-conn")[1],
                     "the limits applied on %s" % n.node_name, timeout=FORWARDED)

        def login(node):
            return connect(node, user="limited", password="secret")

        first, second = login(n1), login(n2)
        self.addCleanup(second.close)
        # pika reports a refused connection.open as an access error naming the close.
        with self.assertRaises(pika.exceptions.AMQPConnectionError) as e:
            login(n3)
        self.assertIn("(530) \"NOT_ALLOWED - connection refused for user 'limited': user "
                      "connection limit (2) is reached\"", str(e.exception))
        first.channel()
        first.close()

        def third():
            try:
                return login(n3)
            except pika.exceptions.AMQPConnectionError:
                return None  # warren@c1 has not yet seen its connection go

        conn = wait_for(third, "a connection through warren@c3 once one on warren@c1 closed",
                        timeout=FORWARDED)
        self.addCleanup(lambda: conn.is_open and conn.close())
        second.channel()
        conn.channel()  # one on warren@c2, one here: the limit of 2 is reached
        with self.assertRaises(pika.exceptions.ConnectionClosedByBroker) as e:
            conn.channel()
        self.assertEqual(e.exception.reply_code, 530)
        self.assertIn("maximum allowed user limit of (2)", e.exception.reply_text)

        held = connect(n2, vhost="one-conn")
        self.addCleanup(held.close)
        with self.assertRaises(pika.exceptions.AMQPConnectionError) as e:
            connect(n1, vhost="one-conn")
        self.assertIn("(530) \"NOT_ALLOWED - access to vhost 'one-conn' refused for user "
                      "'guest': connection limit (1) is reached\"", str(e.exception))

    def test_the_tutorial_s_java_producer_and_consumer_across_nodes(self):
        # test_java.py's jars and java command line; its sources beside it.
        import test_java
        missing = [j for j in test_java.JARS if not os.path.exists(j)] + [
            t for t in ("java", "javac") if shutil.which(t) is None]
        if missing:
            self.skipTest("the tutorial's Java client needs %s (apt-get install "
                          "default-jdk-headless librabbitmq-client-java libslf4j-java)"
                          % ", ".join(missing))
        classes = tempfile.mkdtemp(prefix="warren-java-")
        self.addCleanup(shutil.rmtree, classes, ignore_errors=True)
        sources = sorted(glob.glob(os.path.join(test_java.HERE, "java", "*.java")))
        javac = subprocess.run(["javac", "-encoding", "UTF-8", "-cp", ":".join(test_java.JARS),
                                "-d", classes, *sources],
                               capture_output=True, text=True, timeout=300)
        self.assertEqual(javac.returncode, 0, "javac failed:\n" + javac.stdout + javac.stderr)

        def java(node, main_class):
            env = dict(os.environ, AMQP_HOST=node.host, AMQP_PORT=str(node.port),
                       AMQP_USER="admin", AMQP_PASSWORD="123456", CONSUMER_WAIT_SECONDS="20")
            return subprocess.Popen(test_java.JAVA + ["-cp", ":".join(test_java.JARS + [classes]),
                                                      main_class],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        # The tutorial's administrator, set up once, through c1.
        warrenctl(self.n1, "add_user", "admin", "123456")
        warrenctl(self.n1, "set_user_tags", "admin", "administrator")
        warrenctl(self.n1, "set_permissions", "-p", "/", "admin", ".*", ".*", ".*")
        for n in (self.n2, self.n3):
            wait_for(lambda: listing(n, "list_user_permissions", "admin") == [ALL],
                     "admin's permissions on %s" % n.node_name, timeout=10)
        # hello-queue as the Producer declares it (not durable, not exclusive,
        # not auto-delete), through c1, so that it lives there and the
        # Consumer, started first, finds it.
        declare(self.n1, "hello-queue", "admin", "123456", durable=False)
        visible_everywhere(self.cluster, "hello-queue")

        consumer = java(self.n3, "Consumer")
        self.addCleanup(lambda: consumer.poll() is None and (consumer.kill(), consumer.wait()))
        producer = java(self.n2, "Producer")
        out, err = producer.communicate(timeout=120)
        self.assertEqual(producer.returncode, 0,
                         "Producer on warren@c2 failed:\n" + (out + err).decode("utf-8", "replace"))
        self.assertEqual(out.decode("utf-8", "replace").splitlines(), ["消息发送成功"])
        out, err = consumer.communicate(timeout=120)
        text = out.decode("utf-8", "replace")
        self.assertEqual(consumer.returncode, 0, "Consumer on warren@c3 got no message within "
                         "20 s:\n" + text + err.decode("utf-8", "replace"))
        self.assertEqual(text.splitlines(), ["hello world"])


# A cluster per test for the tests that stop a queue's node ----------------------
class QueueNodeStopsTest(unittest.TestCase):
    def test_a_queue_on_a_stopped_node_is_refused_naming_that_node_and_comes_back_with_its_messages(self):  # noqa: E501
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            queue_on_c1(c, "dq")
            publish(n2, "dq", bodies(5))
            n1.stop_node()
            # warren@c2 answers from what it knows until it notices its peer is gone.
            code, text = wait_for(lambda: passive_refusal(n2, "dq"),
                                  "warren@c2 refusing dq once warren@c1 stopped",
                                  timeout=FORWARDED, interval=0.1)
            self.assertEqual(code, 404, text)
            self.assertIn("warren@c1", text)
            self.assertIn("down or inaccessible", text)
            with connect(n2) as conn:
                with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as refused:
                    conn.channel().basic_consume("dq", lambda *delivery: None)
                self.assertEqual(refused.exception.reply_code, 404, refused.exception.reply_text)
                self.assertIn("warren@c1", refused.exception.reply_text)
                self.assertIn("down or inaccessible", refused.exception.reply_text)
                # A transaction's commit waits for the queue's node: with it
                # down, the commit fails as RabbitMQ's does when a queue
                # refuses part of it, instead of a commit-ok for lost messages.
                tx = conn.channel()
                tx.tx_select()
                tx.basic_publish("", "dq", b"never held", PERSISTENT)
                with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as failed:
                    tx.tx_commit()
                self.assertEqual(failed.exception.reply_code, 406, failed.exception.reply_text)
                self.assertEqual(failed.exception.reply_text,
                                 "PRECONDITION_FAILED - partial tx completion")

            # Listed through the others with the state RabbitMQ lists a queue
            # whose node is down in.
            self.assertEqual(queue_row(n2, "dq", "node", "state"),
                             {"name": "dq", "node": "warren@c1", "state": "down"})

            n1.restart()  # the same data directory
            wait_for(lambda: passive_refusal(n3, "dq") is None,
                     "dq reachable through warren@c3 after the restart",
                     timeout=FORWARDED, interval=0.1)
            self.assertEqual(passive_count(n3, "dq"), 5, "the confirmed messages kept")
            with connect(n3) as conn:
                ch = conn.channel()
                got = get_all(conn, ch, "dq", 5)
                self.assertEqual([b for _, _, b in got], bodies(5))
                for method, _, _ in got:
                    ch.basic_ack(method.delivery_tag)

    def test_a_killed_node_s_transient_queues_are_deleted_and_can_be_declared_again_elsewhere(self):  # noqa: E501
        with Cluster(self) as c:
            n1, n2, _ = c.nodes
            declare(n1, "tq")  # not durable: homed on warren@c1
            queue_on_c1(c, "kept")  # durable
            visible_everywhere(c, "tq")
            n1.kill()
            # RabbitMQ deletes a down node's non-durable queues; Warren once
            # the metadata leader has not heard from it for 5 s.
            wait_for(lambda: queue_row(n2, "tq") is None, "tq forgotten through warren@c2",
                     timeout=30, interval=0.2)
            self.assertEqual(queue_row(n2, "kept", "node", "state"),
                             {"name": "kept", "node": "warren@c1", "state": "down"},
                             "a durable queue waits for its node")
            declare(n2, "tq")  # a client that reconnected elsewhere declares it again
            self.assertEqual(queue_row(n2, "tq", "node"), {"name": "tq", "node": "warren@c2"})
            n1.restart()
            wait_for(lambda: queue_row(n1, "tq", "node") == {"name": "tq", "node": "warren@c2"},
                     "warren@c1 back, with tq homed on warren@c2", timeout=FORWARDED,
                     interval=0.2)
            self.assertEqual(passive_count(n1, "kept"), 0)

    def test_a_consumer_on_another_node_is_cancelled_when_the_queue_s_node_stops(self):
        with Cluster(self) as c:
            n1, n2, _ = c.nodes
            queue_on_c1(c, "watched")
            with connect(n2) as conn:
                ch = conn.channel()
                cancelled = []
                ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
                tag, _ = subscribe(ch, "watched")
                n1.stop_node()
                pump_until(conn, lambda: cancelled, "basic.cancel on warren@c2")
                self.assertEqual(cancelled, [tag])
                self.assertTrue(ch.is_open, "the channel stays open, as RabbitMQ's does")

    def test_forgetting_a_stopped_node_deletes_the_queues_it_homed(self):
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            queue_on_c1(c, "orphan", messages=2)
            declare(n2, "kept", durable=True)
            n1.stop_node()
            warrenctl(n2, "forget_cluster_node", "warren@c1")
            # As RabbitMQ forgets a removed node's classic queues: the record
            # goes on every member (through the log), not just the node asked,
            # by the time forget_cluster_node is answered.
            for n in (n2, n3):
                code, text = passive_refusal(n, "orphan")
                self.assertEqual(code, 404, text)
                self.assertEqual(text, "NOT_FOUND - no queue 'orphan' in vhost '/'")
                self.assertIsNone(passive_refusal(n, "kept"), "other homes' queues stay")


if __name__ == "__main__":
    harness.main()
