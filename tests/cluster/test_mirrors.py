"""Mirrored queues by policy (docs/mirroring.md): three warren-node processes
on loopback formed into one cluster from seeds, and the tutorial's policy.

The tests prove that:
- the tutorial's `set_policy ha-all "^" '{"ha-mode":"all","ha-sync-mode":
  "automatic"}'` gives a queue declared through c1 mirrors on c2 and c3, as
  every node lists them (list_queues slave_pids / mirrors), and a mirror set is
  never listed in sync unless it is a mirror;
- `ha-mode: exactly` with `ha-params: 2` gives one mirror, and `ha-mode: nodes`
  puts the mirrors on the nodes it names;
- changing the policy changes the mirrors of queues that exist, and clearing
  it takes them away, while the queue keeps its messages;
- a quorum queue (x-queue-type: quorum) has mirrors on the other two nodes
  without any policy;
- an exclusive queue is never mirrored;
- mirrors copy the messages a queue held before it was mirrored and then join
  the in-sync set (synchronised_slave_pids), while the queue keeps serving;
- with `ha-sync-mode: manual` (RabbitMQ's default) mirrors hold only the
  messages published after them, until `warrenctl sync_queue` (asked through
  any node) copies the rest, or until the older messages were consumed;
  `cancel_sync_queue` is taken; both refuse a queue that is not mirrored or
  does not exist;
- a mirror whose process is stopped (SIGSTOP) delays confirms by a bounded
  time only: it leaves the in-sync set, publishers are confirmed without it,
  and once it runs again it copies the queue again and is back in sync;
- a mirror killed (kill -9) while its queue is idle comes back with its copy
  from its own disk (every confirmed message), leaves the in-sync set, and
  copies the queue again from its home until it is back in sync;
- failover: the queue's home killed (kill -9) while a publisher with confirms
  and an acking consumer go on through warren-balancer (the tutorial's
  haproxy.cfg servers, AMQP health checks), three times over, each time
  restarted: the queue moves to a mirror in sync within seconds, publishes and
  deliveries go on, the old home comes back as a mirror and syncs, and at the
  end every confirmed message was consumed or is still queued, nothing that
  was never published, a message delivered twice marked redelivered;
- consumers on the surviving nodes, left with deliveries unacked when the
  home is killed, are not cancelled: they follow the queue to its new home
  (on their own node or another) and consume every message, those consumed
  twice marked redelivered, and what is published after; a consumer that
  asked `x-cancel-on-ha-failover: true` gets basic.cancel instead;
- an old home restarted from its store while it cannot reach the others
  still records the queue as its own, but gives none of its stale copy out
  (basic.get finds it empty) until it has applied what the cluster committed;
  then it serves the new home's queue;
- a queue whose mirrors are not in sync does not move when its home dies
  (ha-promote-on-failure defaults to when-synced) and is refused as down.

One cluster for the placement tests (test_cluster.py's Cluster), each test
with queues of its own names; the test that stops a process has its own.
"""
import json
import os
import signal
import sys
import threading
import time
import unittest

import pika

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ctl"))

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "balancer"))

import lb  # noqa: E402
from ctl import connect, listing, wait_for, warrenctl  # noqa: E402
from test_cluster import Cluster, declare  # noqa: E402
from test_queues import (SharedClusterTest, bodies, passive_refusal, publish,  # noqa: E402
                         visible_everywhere)

PLACED = 15.0  # seconds for the metadata leader to place mirrors (it ticks every 100 ms)
# kill -9s of the home in the failover test: 3 in `make test`, hundreds in `make soak`.
FAILOVER_CYCLES = int(os.environ.get("WARREN_FAILOVER_CYCLES", "3"))


def mirrors(node, queue):
    """(mirrors, those in sync) of `queue` as `node` lists them, or None."""
    rows = [q for q in listing(node, "list_queues", "name", "slave_pids",
                               "synchronised_slave_pids", "mirrors", "synchronised_mirrors")
            if q["name"] == queue]
    if not rows:
        return None
    row = rows[0]
    assert row["mirrors"] == row["slave_pids"], row
    assert row["synchronised_mirrors"] == row["synchronised_slave_pids"], row
    return sorted(row["slave_pids"]), sorted(row["synchronised_slave_pids"])


def next_after(cluster, node):
    """The node whose member id follows `node`'s (the lowest after the
    highest): where `ha-mode: exactly` puts a queue's first mirror."""
    ids = sorted(cluster.by_id)
    own = [i for i in ids if cluster.by_id[i] is node][0]
    return cluster.by_id[ids[(ids.index(own) + 1) % len(ids)]].node_name


def wait_in_sync(cluster, queue, wanted, timeout=PLACED):
    """Waits until every node lists `wanted` (node names) as `queue`'s mirrors
    in sync."""
    for n in cluster.nodes:
        wait_for(lambda: mirrors(n, queue)[1] == sorted(wanted),
                 "%s in sync on %s as seen from %s" % (queue, wanted, n.node_name),
                 timeout=timeout, interval=0.1)


def wait_mirrored(cluster, queue, wanted):
    """Waits until every node lists `wanted` (node names) as `queue`'s mirrors."""
    for n in cluster.nodes:
        def placed():
            m = mirrors(n, queue)
            return m if m is not None and m[0] == sorted(wanted) else None
        got = wait_for(placed, "%s mirrored on %s as seen from %s" % (queue, wanted, n.node_name),
                       timeout=PLACED, interval=0.1)
        assert set(got[1]) <= set(got[0]), "in sync only among its mirrors: %r" % (got,)


def mirrored_queue(cluster, queue, count=0):
    """`queue`, declared through c1 (its home) under the tutorial's ha-all
    policy (set through c2), holding `count` messages, both mirrors in sync."""
    warrenctl(cluster.nodes[1], "set_policy", "ha-all", "^", json.dumps(
        {"ha-mode": "all", "ha-sync-mode": "automatic"}))
    declare(cluster.nodes[0], queue, durable=True)
    if count:
        publish(cluster.nodes[0], queue, bodies(count))
    wait_in_sync(cluster, queue, ["warren@c2", "warren@c3"])


class MirrorPlacementTest(SharedClusterTest):

    def set_policy(self, name, pattern, definition):
        warrenctl(self.n2, "set_policy", name, pattern, json.dumps(definition))
        self.addCleanup(warrenctl, self.n2, "clear_policy", name, check=False)

    def test_the_tutorials_ha_all_policy_mirrors_on_every_other_node(self):
        self.set_policy("ha-all", "^all\\.", {"ha-mode": "all", "ha-sync-mode": "automatic"})
        declare(self.n1, "all.q", durable=True)
        wait_mirrored(self.cluster, "all.q", ["warren@c2", "warren@c3"])
        declare(self.n3, "all.on3", durable=True)
        wait_mirrored(self.cluster, "all.on3", ["warren@c1", "warren@c2"])

    def test_exactly_and_nodes_place_mirrors_where_they_say(self):
        self.set_policy("two", "^two\\.", {"ha-mode": "exactly", "ha-params": 2})
        declare(self.n1, "two.q", durable=True)
        wait_mirrored(self.cluster, "two.q", [next_after(self.cluster, self.n1)])
        self.set_policy("named", "^named\\.", {"ha-mode": "nodes",
                                               "ha-params": ["warren@c3", "warren@c1"]})
        declare(self.n1, "named.q", durable=True)
        wait_mirrored(self.cluster, "named.q", ["warren@c3"])

    def test_a_policy_changed_or_cleared_moves_the_mirrors_of_a_queue_that_holds_messages(self):
        declare(self.n1, "moving.q", durable=True)
        publish(self.n1, "moving.q", bodies(10))
        visible_everywhere(self.cluster, "moving.q")
        wait_mirrored(self.cluster, "moving.q", [])
        self.set_policy("moving", "^moving\\.", {"ha-mode": "all"})
        wait_mirrored(self.cluster, "moving.q", ["warren@c2", "warren@c3"])
        warrenctl(self.n1, "set_policy", "moving", "^moving\\.",
                  json.dumps({"ha-mode": "exactly", "ha-params": 2}))
        # The mirrors it has are kept first, by member id.
        kept = min(i for i, n in self.cluster.by_id.items() if n is not self.n1)
        wait_mirrored(self.cluster, "moving.q", [self.cluster.by_id[kept].node_name])
        warrenctl(self.n3, "clear_policy", "moving")
        wait_mirrored(self.cluster, "moving.q", [])
        with connect(self.n1) as conn:
            count = conn.channel().queue_declare("moving.q", passive=True).method.message_count
        self.assertEqual(count, 10, "the queue served and kept its messages throughout")

    def test_a_quorum_queue_is_mirrored_without_a_policy_and_an_exclusive_one_never(self):
        declare(self.n2, "quorum.q", durable=True, arguments={"x-queue-type": "quorum"})
        wait_mirrored(self.cluster, "quorum.q", ["warren@c1", "warren@c3"])
        self.set_policy("mine", "^mine\\.", {"ha-mode": "all"})
        with connect(self.n1) as conn:
            conn.channel().queue_declare("mine.excl", exclusive=True)
            # Placement runs every tick: a queue it would mirror gets its
            # mirrors well within this, and an exclusive one never does.
            declare(self.n1, "mine.other")
            wait_mirrored(self.cluster, "mine.other", ["warren@c2", "warren@c3"])
            self.assertEqual(mirrors(self.n1, "mine.excl"), ([], []))


    def test_mirrors_copy_what_the_queue_held_and_join_the_in_sync_set(self):
        declare(self.n1, "backlog.q", durable=True)
        publish(self.n1, "backlog.q", bodies(500))
        with connect(self.n2) as conn:  # some delivered and not yet acknowledged
            ch = conn.channel()
            held = [ch.basic_get("backlog.q") for _ in range(5)]
            self.assertTrue(all(m is not None for m, _, _ in held))
            self.set_policy("backlog", "^backlog\\.", {"ha-mode": "all",
                                                       "ha-sync-mode": "automatic",
                                                       "ha-sync-batch-size": 64})
            wait_mirrored(self.cluster, "backlog.q", ["warren@c2", "warren@c3"])
            publish(self.n3, "backlog.q", bodies(100))  # the queue serves during the sync
            # Not in sync while 5 deliveries it never copied may come back.
            self.assertEqual(mirrors(self.n1, "backlog.q")[1], [])
            for method, _, _ in held[:2]:
                ch.basic_ack(method.delivery_tag)
            for method, _, _ in held[2:]:
                ch.basic_reject(method.delivery_tag, requeue=True)
            wait_in_sync(self.cluster, "backlog.q", ["warren@c2", "warren@c3"])
        with connect(self.n1) as conn:
            count = conn.channel().queue_declare("backlog.q", passive=True).method.message_count
        self.assertEqual(count, 598)

    def test_manual_mirrors_take_new_messages_and_sync_when_asked_or_drained(self):
        declare(self.n1, "manual.q", durable=True)
        publish(self.n1, "manual.q", bodies(50))
        self.set_policy("manual", "^manual\\.", {"ha-mode": "all", "ha-sync-mode": "manual"})
        wait_mirrored(self.cluster, "manual.q", ["warren@c2", "warren@c3"])
        publish(self.n2, "manual.q", bodies(10))  # confirmed: the mirrors hold the new ones
        # Never given the 50 older messages, which are still queued.
        self.assertEqual(mirrors(self.n1, "manual.q")[1], [])
        # Asked through nodes that are not the home: the home does it.
        warrenctl(self.n3, "cancel_sync_queue", "manual.q")
        self.assertIn("cancel_sync_queue: 2 mirror(s) of queue 'manual.q' in vhost '/' stop "
                      "copying its backlog", self.n1.logs())
        warrenctl(self.n2, "sync_queue", "manual.q")
        wait_in_sync(self.cluster, "manual.q", ["warren@c2", "warren@c3"])
        with connect(self.n3) as conn:
            count = conn.channel().queue_declare("manual.q", passive=True).method.message_count
        self.assertEqual(count, 60, "the queue kept serving what it held")

        # Without sync_queue, a manual mirror is in sync once the queue held
        # nothing it lacks.
        declare(self.n1, "manual.drained", durable=True)
        publish(self.n1, "manual.drained", bodies(20))
        wait_mirrored(self.cluster, "manual.drained", ["warren@c2", "warren@c3"])
        self.assertEqual(mirrors(self.n1, "manual.drained")[1], [])
        with connect(self.n2) as conn:
            ch = conn.channel()
            for _ in range(20):
                method, _, _ = ch.basic_get("manual.drained", auto_ack=True)
                self.assertIsNotNone(method)
        wait_in_sync(self.cluster, "manual.drained", ["warren@c2", "warren@c3"])

    def test_sync_queue_names_what_it_cannot_sync(self):
        declare(self.n1, "plain.unmirrored", durable=True)
        code, _, err = warrenctl(self.n2, "sync_queue", "plain.unmirrored", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("queue 'plain.unmirrored' in vhost '/' is not mirrored", err)
        code, _, err = warrenctl(self.n2, "cancel_sync_queue", "no.such.queue", check=False)
        self.assertNotEqual(code, 0)
        self.assertIn("queue 'no.such.queue' in vhost '/' does not exist", err)


class MirrorFailureTest(unittest.TestCase):
    def test_a_stopped_mirror_leaves_the_in_sync_set_and_confirms_go_on(self):
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            mirrored_queue(c, "held.q")
            os.kill(n3.proc.pid, signal.SIGSTOP)
            try:
                # Each publish is confirmed (pika raises otherwise): the first
                # waits for c3 to leave the in-sync set, the rest do not.
                publish(n1, "held.q", bodies(20))
                self.assertEqual(mirrors(n1, "held.q")[1], ["warren@c2"])
                c3 = [i for i, n in c.by_id.items() if n is n3][0]
                self.assertIn("on member %d left the in-sync set" % c3, n1.logs())
            finally:
                os.kill(n3.proc.pid, signal.SIGCONT)
            wait_in_sync(c, "held.q", ["warren@c2", "warren@c3"], timeout=30)
            with connect(n1) as conn:
                count = conn.channel().queue_declare("held.q", passive=True).method.message_count
            self.assertEqual(count, 20)


    def test_a_mirror_killed_while_idle_keeps_its_copy_on_disk_and_syncs_again(self):
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            mirrored_queue(c, "idle.q", 30)
            n3.kill()
            # Nothing is in flight: the broken stream alone takes it out.
            wait_for(lambda: mirrors(n1, "idle.q")[1] == ["warren@c2"],
                     "warren@c3 out of the in-sync set", timeout=PLACED)
            n3.restart()
            # Its copy held every confirmed message on its own disk.
            wait_for(lambda: "cluster: recovered 30 messages of this member's mirror copies"
                     in n3.logs(), "warren@c3 recovering its copy", timeout=PLACED)
            wait_in_sync(c, "idle.q", ["warren@c2", "warren@c3"], timeout=30)


class PublisherThread(threading.Thread):
    """Publishes m0, m1, ... to `queue` with confirms, persistent, through
    `endpoint` (a balancer), reconnecting after a failure. Keeps what was
    sent and what was confirmed."""

    def __init__(self, endpoint, queue):
        super().__init__(daemon=True)
        self.endpoint, self.queue = endpoint, queue
        self.sent, self.confirmed = [], []
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            try:
                with connect(self.endpoint) as conn:
                    ch = conn.channel()
                    ch.confirm_delivery()
                    while not self.stop.is_set():
                        body = b"m%d" % i
                        i += 1
                        self.sent.append(body)
                        ch.basic_publish("", self.queue, body,
                                         pika.BasicProperties(delivery_mode=2), mandatory=True)
                        self.confirmed.append(body)
            except (pika.exceptions.AMQPError, OSError):
                # Nacked, or the node went: the next message goes through
                # another connection, after a pause that only paces retries.
                time.sleep(0.05)


def check_deliveries(test, got, wanted, published):
    """`got`: (body, redelivered) of every delivery. Every body of `wanted`
    was delivered, nothing outside `published` was, and a body delivered
    twice came back flagged redelivered (at most one delivery of it is not)."""
    bodies_got = {body for body, _ in got}
    test.assertEqual(set(wanted) - bodies_got, set(), "every message delivered")
    test.assertEqual(bodies_got - set(published), set(), "nothing that was never published")
    first = [body for body, redelivered in got if not redelivered]
    test.assertEqual(len(first), len(set(first)),
                     "a message delivered twice without the redelivered flag")


class ConsumerThread(threading.Thread):
    """Consumes `queue` through `endpoint`, acking each delivery once it has
    kept it, reconnecting after a failure. Keeps (body, redelivered) of every
    delivery, in order."""

    def __init__(self, endpoint, queue):
        super().__init__(daemon=True)
        self.endpoint, self.queue = endpoint, queue
        self.got = []
        self.stop = threading.Event()

    def run(self):
        def on_message(ch, method, _props, body):
            self.got.append((body, method.redelivered))
            ch.basic_ack(method.delivery_tag)
        while not self.stop.is_set():
            try:
                with connect(self.endpoint) as conn:
                    ch = conn.channel()
                    ch.basic_qos(prefetch_count=20)
                    ch.basic_consume(self.queue, on_message)
                    while not self.stop.is_set():
                        conn.process_data_events(time_limit=0.2)
            except (pika.exceptions.AMQPError, OSError):
                time.sleep(0.05)  # paces reconnecting only


class AckingConsumer:
    """A consumer on its own connection that keeps what it is delivered and
    acks it when told (ack_all), so deliveries can be left unacked."""

    def __init__(self, node, queue, arguments=None, prefetch=10):
        self.conn = connect(node)
        self.ch = self.conn.channel()
        self.ch.basic_qos(prefetch_count=prefetch)
        self.unacked, self.got = [], []  # (body, redelivered)
        self.cancelled = False
        self.ch.add_on_cancel_callback(lambda _frame: setattr(self, "cancelled", True))
        self.ch.basic_consume(queue, self.on_message, arguments=arguments)

    def on_message(self, _ch, method, _props, body):
        self.unacked.append((method.delivery_tag, body, method.redelivered))

    def pump(self):
        """Reads what the node sent (the client's I/O loop, for 50 ms)."""
        self.conn.process_data_events(time_limit=0.05)

    def ack_all(self):
        for tag, body, redelivered in self.unacked:
            self.ch.basic_ack(tag)
            self.got.append((body, redelivered))
        self.unacked = []

    def close(self):
        try:
            self.conn.close()
        except (pika.exceptions.AMQPError, OSError):
            pass


class FailoverTest(unittest.TestCase):
    def home(self, cluster, queue, among):
        """The node `among`'s first node lists as `queue`'s home."""
        rows = [q for q in listing(among[0], "list_queues", "name", "node") if q["name"] == queue]
        return [n for n in cluster.nodes if n.node_name == rows[0]["node"]][0]

    def test_the_home_killed_three_times_loses_nothing_confirmed(self):
        with Cluster(self, fixed_amqp=True) as c:
            mirrored_queue(c, "ha.q")
            names = ["rabbit1", "rabbit2", "rabbit3"]  # the tutorial's haproxy.cfg
            with lb.Balancer([lb.server_toml(name, n.port, inter="100ms", rise=2, fall=2)
                              for name, n in zip(names, c.nodes)]) as balancer:
                balancer.wait_checked(names)
                self.kill_the_home_three_times(c, balancer)

    def kill_the_home_three_times(self, c, balancer):
        alive = list(c.nodes)
        home = c.nodes[0]
        publisher = PublisherThread(balancer, "ha.q")
        consumer = ConsumerThread(balancer, "ha.q")
        publisher.start()
        consumer.start()
        try:
            for cycle in range(FAILOVER_CYCLES):
                before, taken = len(publisher.confirmed), len(consumer.got)
                wait_for(lambda: len(publisher.confirmed) >= before + 50 and
                         len(consumer.got) >= taken + 50,
                         "50 more confirmed and consumed before kill %d" % cycle, timeout=30)
                alive.remove(home)
                home.kill()
                moved = wait_for(lambda: self.home(c, "ha.q", alive) is not home or None,
                                 "ha.q moved off %s" % home.node_name, timeout=20)
                self.assertTrue(moved)
                killed, home = home, self.home(c, "ha.q", alive)
                after, taken = len(publisher.confirmed), len(consumer.got)
                wait_for(lambda: len(publisher.confirmed) >= after + 50 and
                         len(consumer.got) >= taken + 50,
                         "confirms and deliveries go on after kill %d" % cycle, timeout=30)
                killed.restart()
                alive.append(killed)
                others = sorted(n.node_name for n in c.nodes if n is not home)
                wait_in_sync(c, "ha.q", others, timeout=30)
        finally:
            publisher.stop.set()
            publisher.join(timeout=30)
            consumer.stop.set()
            consumer.join(timeout=30)
        got = list(consumer.got)
        with connect(alive[0]) as conn:  # what the consumer had not taken yet
            ch = conn.channel()
            while True:
                method, _, body = ch.basic_get("ha.q", auto_ack=True)
                if method is None:
                    break
                got.append((body, method.redelivered))
        self.assertGreaterEqual(len(publisher.confirmed), 100 * FAILOVER_CYCLES)
        check_deliveries(self, got, publisher.confirmed, publisher.sent)

    def test_consumers_on_the_other_nodes_follow_the_queue_to_its_new_home(self):
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            sent = bodies(200)
            mirrored_queue(c, "follow.q", len(sent))
            mirrored_queue(c, "cancel.q", 5)
            # One consumer on each surviving node: whichever becomes the new
            # home, one follows the queue there and the other to another node.
            followers = [AckingConsumer(n2, "follow.q"), AckingConsumer(n3, "follow.q")]
            leaver = AckingConsumer(n3, "cancel.q",
                                    arguments={"x-cancel-on-ha-failover": True})
            everyone = followers + [leaver]
            try:
                def consumed():
                    """Reads and acks what came; the distinct bodies so far."""
                    for k in everyone:
                        k.pump()
                    for k in followers:
                        k.ack_all()
                    return {body for k in followers for body, _ in k.got}
                wait_for(lambda: len(consumed()) >= 40, "40 acked before the kill", timeout=30)
                for k in everyone:  # the window each holds unacked when its home dies
                    k.pump()
                n1.kill()
                wait_for(lambda: set(sent) <= consumed() and leaver.cancelled,
                         "every message consumed after the failover, and basic.cancel for "
                         "the consumer that asked for it", timeout=40)
                self.assertEqual([k.cancelled for k in followers], [False, False],
                                 "followers are never cancelled")
                publish(n2, "follow.q", [b"after the failover"])
                wait_for(lambda: b"after the failover" in consumed(),
                         "a message published after the failover consumed", timeout=20)
                got = [g for k in followers for g in k.got]
            finally:
                for k in everyone:
                    k.close()
            everything = sent + [b"after the failover"]
            check_deliveries(self, got, everything, everything)

    def test_a_restarted_old_home_gives_out_nothing_before_it_has_caught_up(self):
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            mirrored_queue(c, "stale.q", 20)
            n1.kill()
            alive = [n2, n3]
            wait_for(lambda: self.home(c, "stale.q", alive) is not n1 or None,
                     "stale.q moved off warren@c1", timeout=20)
            new_home = self.home(c, "stale.q", alive)
            with connect(new_home) as conn:  # acked at the new home: gone for good
                ch = conn.channel()
                for _ in range(5):
                    method, _, _ = ch.basic_get("stale.q")
                    ch.basic_ack(method.delivery_tag)
            # The old home restarts from its store while it cannot learn of
            # the move: it still thinks it homes the queue, with all 20.
            for n in alive:
                os.kill(n.proc.pid, signal.SIGSTOP)
            try:
                n1.restart()
                with connect(n1) as conn:
                    method, _, _ = conn.channel().basic_get("stale.q")
                self.assertIsNone(method, "nothing of the stale copy given out")
                self.assertIn("the 1 mirrored queue(s) homed here deliver nothing until",
                              n1.logs())
            finally:
                for n in alive:
                    os.kill(n.proc.pid, signal.SIGCONT)
            wait_for(lambda: self.home(c, "stale.q", [n1]) is new_home or None,
                     "warren@c1 applying the move", timeout=20)
            with connect(n1) as conn:
                count = conn.channel().queue_declare("stale.q", passive=True).method.message_count
            self.assertEqual(count, 15, "the new home's queue, without the acked five")

    def test_a_queue_with_no_mirror_in_sync_does_not_move(self):
        with Cluster(self) as c:
            n1, n2, n3 = c.nodes
            declare(n1, "nosync.q", durable=True)
            publish(n1, "nosync.q", bodies(5))
            with connect(n2) as conn:
                # A delivery the mirrors never copied keeps them out of sync.
                method, _, _ = conn.channel().basic_get("nosync.q")
                self.assertIsNotNone(method)
                warrenctl(n2, "set_policy", "nosync", "^nosync\\.", json.dumps(
                    {"ha-mode": "all"}))
                wait_mirrored(c, "nosync.q", ["warren@c2", "warren@c3"])
                self.assertEqual(mirrors(n2, "nosync.q")[1], [])
                n1.kill()
                wait_for(lambda: any("queue 'nosync.q' in vhost '/' has no mirror in sync to "
                                     "move to" in n.logs() for n in (n2, n3)),
                         "the leader found no mirror in sync", timeout=20)
            row = [q for q in listing(n2, "list_queues", "name", "node", "state")
                   if q["name"] == "nosync.q"][0]
            self.assertEqual((row["node"], row["state"]), ("warren@c1", "down"))
            refused = passive_refusal(n2, "nosync.q")
            self.assertEqual(refused[0], 404)
            self.assertIn("home node 'warren@c1'", refused[1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
