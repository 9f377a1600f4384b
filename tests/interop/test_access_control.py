"""Topic permissions and user limits against a broker, through pika
(Debian's python3-pika 1.2), set with the operator's tool: warrenctl against
Warren, rabbitmqctl against RabbitMQ (the same commands and arguments).

- A write pattern on a topic exchange: a routing key that does not match
  closes the channel with 403 ACCESS_REFUSED, one that matches is routed.
- A read pattern: a queue.bind whose key does not match is 403; one that
  matches binds.
- "{username}" in a pattern is the connected user's name.
- max-connections: the connection past it is refused with 530 NOT_ALLOWED;
  max-channels: the channel.open past it closes the connection with 530.
- On Warren, all of it holds after the node restarts on its data."""
import os
import subprocess
import sys
import unittest

import pika
import pika.exceptions

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# The harness's definitions and three users with every permission on "/".
USERS = ("topical", "one-conn", "one-chan")
DEFINITIONS = {
    "vhosts": list(harness.DEFINITIONS["vhosts"]),
    "users": harness.DEFINITIONS["users"] + [
        {"name": u, "password": u, "tags": []} for u in USERS],
    "permissions": harness.DEFINITIONS["permissions"] + [
        {"user": u, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
        for u in USERS],
}


def admin(broker, *args):
    """Runs an operator's command (rabbitmqctl's name and arguments) against
    `broker`; returns its stdout, failing the test on a non-zero exit."""
    if broker.target == "rabbitmq":
        return broker._ctl(*args).stdout
    binary = os.environ.get("WARREN_CTL_BIN")
    if not binary or not os.access(binary, os.X_OK):
        raise RuntimeError("WARREN_CTL_BIN must name the warrenctl binary (got %r)" % binary)
    r = subprocess.run([binary, "-n", "127.0.0.1:%d" % broker.grpc_port, *args],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("warrenctl %s exited %d: %s" % (" ".join(args), r.returncode,
                                                             r.stderr))
    return r.stdout


class AccessTest(unittest.TestCase):
    broker = None

    @classmethod
    def setUpClass(cls):
        cls.broker = harness.Broker(definitions=DEFINITIONS).__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def connect(self, user):
        conn = pika.BlockingConnection(pika.ConnectionParameters(
            self.broker.host, self.broker.port, "/", pika.PlainCredentials(user, user),
            heartbeat=0, blocked_connection_timeout=30))
        self.addCleanup(lambda: conn.is_open and conn.close())
        return conn

    def channel(self, user_or_conn):
        """A channel in confirm mode, on a new connection of the user or on
        the connection given."""
        conn = user_or_conn
        if isinstance(conn, str):
            conn = self.connect(conn)
        ch = conn.channel()
        # With confirms, a publish returns once the broker has routed it, or
        # raises when the broker closed the channel instead.
        ch.confirm_delivery()
        return ch

    def assertRefused(self, code, text, call, *args, **kwargs):
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            call(*args, **kwargs)
        self.assertEqual(e.exception.reply_code, code, e.exception)
        self.assertIn(text, e.exception.reply_text)
        return e.exception.reply_text

    def test_write_pattern_refuses_publishes_whose_key_does_not_match(self):
        admin(self.broker, "set_topic_permissions", "topical", "amq.topic", r"^a\..*", ".*")
        self.addCleanup(admin, self.broker, "clear_topic_permissions", "topical")
        conn = self.connect("topical")
        ch = self.channel(conn)
        q = ch.queue_declare("", exclusive=True).method.queue
        ch.queue_bind(q, "amq.topic", "#")
        ch.basic_publish("amq.topic", "a.x", b"allowed")
        method, _, body = ch.basic_get(q, auto_ack=True)
        self.assertEqual((method.routing_key, body), ("a.x", b"allowed"))
        reason = self.assertRefused(403, "ACCESS_REFUSED", ch.basic_publish, "amq.topic", "b.x",
                                    b"refused")
        self.assertIn("b.x", reason)
        # Another channel may go on publishing what matches; nothing refused was routed.
        ch = self.channel(conn)
        ch.basic_publish("amq.topic", "a.y", b"again")
        method, _, body = ch.basic_get(q, auto_ack=True)
        self.assertEqual((method.routing_key, body), ("a.y", b"again"))
        self.assertIsNone(ch.basic_get(q, auto_ack=True)[0])

    def test_read_pattern_refuses_bindings_whose_key_does_not_match(self):
        admin(self.broker, "set_topic_permissions", "topical", "amq.topic", ".*", r"^r\..*")
        self.addCleanup(admin, self.broker, "clear_topic_permissions", "topical")
        conn = self.connect("topical")
        ch = self.channel(conn)
        q = ch.queue_declare("", exclusive=True).method.queue
        ch.queue_bind(q, "amq.topic", "r.#")
        reason = self.assertRefused(403, "ACCESS_REFUSED", ch.queue_bind, q, "amq.topic",
                                    "s.#")
        self.assertIn("s.#", reason)
        # What was bound still routes.
        ch = self.channel(conn)
        ch.basic_publish("amq.topic", "r.1", b"read")
        self.assertEqual(ch.basic_get(q, auto_ack=True)[2], b"read")

    def test_username_in_a_pattern_is_the_users_name(self):
        ch = self.channel("topical")
        ch.exchange_declare("by-user", "topic")
        self.addCleanup(lambda: self.channel("topical").exchange_delete("by-user"))
        admin(self.broker, "set_topic_permissions", "topical", "by-user", r"^{username}\.",
              ".*")
        self.addCleanup(admin, self.broker, "clear_topic_permissions", "topical", "by-user")
        q = ch.queue_declare("", exclusive=True).method.queue
        ch.queue_bind(q, "by-user", "#")
        ch.basic_publish("by-user", "topical.news", b"mine")
        self.assertEqual(ch.basic_get(q, auto_ack=True)[2], b"mine")
        self.assertRefused(403, "ACCESS_REFUSED", ch.basic_publish, "by-user", "one-conn.news",
                           b"not mine")
        # The pattern holds on that exchange only: amq.topic takes any key.
        ch = self.channel("topical")
        ch.basic_publish("amq.topic", "anything", b"free")

    def test_clearing_one_exchange_leaves_the_others(self):
        admin(self.broker, "set_topic_permissions", "topical", "amq.topic", "^a$", ".*")
        admin(self.broker, "set_topic_permissions", "topical", "other.topic", "^a$", ".*")
        self.addCleanup(admin, self.broker, "clear_topic_permissions", "topical")
        admin(self.broker, "clear_topic_permissions", "topical", "other.topic")
        listed = admin(self.broker, "list_user_topic_permissions", "topical")
        self.assertIn("amq.topic", listed)
        self.assertNotIn("other.topic", listed)
        ch = self.channel("topical")
        self.assertRefused(403, "ACCESS_REFUSED", ch.basic_publish, "amq.topic", "b", b"x")

    def test_max_connections_refuses_the_connection_past_it(self):
        admin(self.broker, "set_user_limits", "one-conn", '{"max-connections": 1}')
        self.addCleanup(admin, self.broker, "clear_user_limits", "one-conn", "all")
        first = self.connect("one-conn")
        with self.assertRaises(pika.exceptions.AMQPConnectionError) as e:
            self.connect("one-conn")
        self.assertIn("530", repr(e.exception))
        self.assertIn("NOT_ALLOWED", repr(e.exception))
        # Others are not counted against it.
        self.connect("topical")
        first.close()
        # The broker counts the first closed once it has seen it go.
        harness.wait_for(self.connects("one-conn"), "a connection once the first is closed")

    def connects(self, user):
        def attempt():
            try:
                self.connect(user)
                return True
            except pika.exceptions.AMQPConnectionError:
                return False
        return attempt

    def test_max_channels_closes_the_connection_on_the_channel_past_it(self):
        admin(self.broker, "set_user_limits", "one-chan", '{"max-channels": 1}')
        self.addCleanup(admin, self.broker, "clear_user_limits", "one-chan", "all")
        conn = self.connect("one-chan")
        conn.channel()
        with self.assertRaises(pika.exceptions.ConnectionClosedByBroker) as e:
            conn.channel()
        self.assertEqual(e.exception.reply_code, 530)
        self.assertIn("NOT_ALLOWED", e.exception.reply_text)

    def test_cleared_limits_no_longer_hold(self):
        admin(self.broker, "set_user_limits", "one-conn", '{"max-connections": 0}')
        self.addCleanup(admin, self.broker, "clear_user_limits", "one-conn", "all")
        with self.assertRaises(pika.exceptions.AMQPConnectionError):
            self.connect("one-conn")
        admin(self.broker, "clear_user_limits", "one-conn", "max-connections")
        self.connect("one-conn").channel()


class RestartTest(unittest.TestCase):
    """What the operator set is durable: a restarted node enforces it."""

    def test_topic_permissions_and_user_limits_survive_a_restart(self):
        if os.environ.get("WARREN_INTEROP_TARGET", "warren") != "warren":
            self.skipTest("restarts Warren's node")
        with harness.Broker(definitions=DEFINITIONS) as b:
            admin(b, "set_topic_permissions", "topical", "amq.topic", r"^a\.", ".*")
            admin(b, "set_user_limits", "one-chan", '{"max-channels": 1}')
            b.restart()
            self.assertIn("amq.topic", admin(b, "list_user_topic_permissions", "topical"))
            params = lambda user: pika.ConnectionParameters(  # noqa: E731
                b.host, b.port, "/", pika.PlainCredentials(user, user), heartbeat=0)
            with pika.BlockingConnection(params("topical")) as conn:
                ch = conn.channel()
                ch.confirm_delivery()
                ch.basic_publish("amq.topic", "a.x", b"ok")
                with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
                    ch.basic_publish("amq.topic", "b.x", b"refused")
                self.assertEqual(e.exception.reply_code, 403)
            with pika.BlockingConnection(params("one-chan")) as conn:
                conn.channel()
                with self.assertRaises(pika.exceptions.ConnectionClosedByBroker) as e:
                    conn.channel()
                self.assertEqual(e.exception.reply_code, 530)


if __name__ == "__main__":
    harness.main()
