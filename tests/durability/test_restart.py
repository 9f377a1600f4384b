"""Durable definitions and persistent messages survive a restart of the node;
transient ones do not; delivered-but-unacked messages come back redelivered,
in their original order (issue: durability, "Done when" 1)."""
import unittest

import pika

from common import PERSISTENT, TRANSIENT, connect, drain, harness


class RestartTest(unittest.TestCase):
    def setUp(self):
        self.broker = harness.Broker()
        self.broker.__enter__()
        self.addCleanup(self.broker.stop)

    def restart(self, kill=False):
        if kill:
            self.broker.kill()
        else:
            self.broker.stop_node()
        self.broker.restart()
        return connect(self.broker)

    def test_durable_definitions_survive_and_transient_ones_do_not(self):
        c = connect(self.broker)
        ch = c.channel()
        ch.exchange_declare("d.direct", "direct", durable=True)
        ch.exchange_declare("d.topic", "topic", durable=True)
        ch.exchange_declare("t.fanout", "fanout", durable=False)
        args = {"x-max-length": 1000, "x-message-ttl": 3600000}
        ch.queue_declare("d.queue", durable=True, arguments=args)
        ch.queue_declare("d.plain", durable=True)
        ch.queue_declare("t.queue", durable=False)
        ch.queue_declare("t.exclusive", durable=True, exclusive=True)
        ch.queue_bind("d.queue", "d.direct", "key")
        ch.queue_bind("d.plain", "d.topic", "a.*.c")
        c.close()

        c = self.restart()
        ch = c.channel()
        ch.exchange_declare("d.direct", "direct", durable=True, passive=True)
        ch.exchange_declare("d.topic", "topic", durable=True, passive=True)
        # The arguments came back: the same ones are equivalent, others are not.
        ch.queue_declare("d.queue", durable=True, arguments=args)
        ch.confirm_delivery()
        ch.basic_publish("d.direct", "key", b"via binding", PERSISTENT)
        ch.basic_publish("d.topic", "a.b.c", b"via topic", PERSISTENT)
        self.assertEqual([m[0] for m in drain(ch, "d.queue")], [b"via binding"])
        self.assertEqual([m[0] for m in drain(ch, "d.plain")], [b"via topic"])
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.queue_declare("d.queue", durable=True, arguments={"x-max-length": 5})
        self.assertEqual(e.exception.reply_code, 406)
        for kind, name in (("exchange", "t.fanout"), ("queue", "t.queue"),
                           ("queue", "t.exclusive")):
            ch = c.channel()
            with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
                if kind == "exchange":
                    ch.exchange_declare(name, "fanout", passive=True)
                else:
                    ch.queue_declare(name, passive=True)
            self.assertEqual(e.exception.reply_code, 404, name)
        c.close()

    def test_persistent_messages_survive_with_their_properties_in_order(self):
        c = connect(self.broker)
        ch = c.channel()
        ch.confirm_delivery()
        ch.queue_declare("q", durable=True, arguments={"x-max-priority": 5})
        for i in range(20):
            props = pika.BasicProperties(
                delivery_mode=2 if i % 2 == 0 else 1, content_type="text/plain",
                correlation_id="corr-%d" % i, message_id="id-%d" % i, priority=i % 3,
                headers={"n": i, "s": "text", "nested": {"x": [1, "two"]}})
            ch.basic_publish("", "q", b"body-%d" % i, props)
        c.close()

        c = self.restart()
        ch = c.channel()
        got = drain(ch, "q")
        # Transient messages are gone; priorities order the rest, as before.
        expected = sorted((i for i in range(0, 20, 2)), key=lambda i: (-(i % 3), i))
        self.assertEqual([b for b, _, _ in got], [b"body-%d" % i for i in expected])
        for body, props, redelivered in got:
            i = int(body.split(b"-")[1])
            self.assertFalse(redelivered)
            self.assertEqual(props.delivery_mode, 2)
            self.assertEqual(props.content_type, "text/plain")
            self.assertEqual(props.correlation_id, "corr-%d" % i)
            self.assertEqual(props.message_id, "id-%d" % i)
            self.assertEqual(props.priority, i % 3)
            self.assertEqual(props.headers, {"n": i, "s": "text", "nested": {"x": [1, "two"]}})
        c.close()

    def test_unacked_deliveries_come_back_redelivered_in_order(self):
        c = connect(self.broker)
        ch = c.channel()
        ch.confirm_delivery()
        ch.queue_declare("q", durable=True)
        for i in range(10):
            ch.basic_publish("", "q", b"m%d" % i, PERSISTENT)
        consumer = c.channel()
        consumer.basic_qos(prefetch_count=5)
        got = []
        for method, props, body in consumer.consume("q", inactivity_timeout=5):
            self.assertIsNotNone(method, "fewer than 5 deliveries")
            got.append(body)
            if len(got) == 5:
                break
        self.assertEqual(got, [b"m%d" % i for i in range(5)])
        # An acked delivery, for contrast: publish, get, ack.
        ack_ch = c.channel()
        ack_ch.queue_declare("acked", durable=True)
        ack_ch.basic_publish("", "acked", b"gone", PERSISTENT)
        method, _, _ = ack_ch.basic_get("acked")
        ack_ch.basic_ack(method.delivery_tag)
        ack_ch.queue_declare("acked", durable=True, passive=True)  # the ack has been handled

        c2 = self.restart()  # the node stops with 5 deliveries unacked
        ch = c2.channel()
        got = drain(ch, "q")
        self.assertEqual([(b, r) for b, _, r in got],
                         [(b"m%d" % i, i < 5) for i in range(10)])
        self.assertEqual(drain(ch, "acked"), [])
        c2.close()

    def test_confirmed_messages_survive_kill_9(self):
        c = connect(self.broker)
        ch = c.channel()
        ch.confirm_delivery()
        ch.queue_declare("q", durable=True)
        for i in range(500):
            ch.basic_publish("", "q", b"m%d" % i, PERSISTENT)  # returns once confirmed
        c2 = self.restart(kill=True)
        ch = c2.channel()
        self.assertEqual([b for b, _, _ in drain(ch, "q")], [b"m%d" % i for i in range(500)])
        self.assertIn("store: recovered 500 messages", self.broker.logs())
        c2.close()


if __name__ == "__main__":
    harness.main()
