"""pika (Debian python3-pika) against a broker: the tutorial's exchange
examples (section 7) — topic, headers, fanout and direct routing."""
import decimal
import os
import sys
import unittest

import pika

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Broker  # noqa: E402


class PikaRoutingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = Broker().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def setUp(self):
        params = pika.ConnectionParameters(host=self.broker.host, port=self.broker.port,
                                           credentials=pika.PlainCredentials("admin", "123456"))
        self.conn = pika.BlockingConnection(params)
        self.ch = self.conn.channel()
        # Confirms make each publish routed and enqueued before the next call.
        self.ch.confirm_delivery()

    def tearDown(self):
        self.conn.close()

    def queues(self, prefix, n):
        names = ["%s-%d" % (prefix, i) for i in range(n)]
        for q in names:
            self.ch.queue_declare(q, auto_delete=False)
            self.ch.queue_purge(q)
        return names

    def drain(self, queue):
        bodies = []
        while True:
            method, _, body = self.ch.basic_get(queue, auto_ack=True)
            if method is None:
                return bodies
            bodies.append(body)

    def test_topic_routing_as_the_tutorial_describes(self):
        self.ch.exchange_declare("tutorial-topic", "topic")
        patterns = ["key1.key2.key3.*", "key1.#", "*.key2.*.key4", "#.key3.key4"]
        names = self.queues("topic", len(patterns))
        for q, p in zip(names, patterns):
            self.ch.queue_bind(q, "tutorial-topic", p)
        self.ch.basic_publish("tutorial-topic", "key1.key2.key3.key4", b"four-words")
        self.ch.basic_publish("tutorial-topic", "key1", b"one-word")
        got = {p: self.drain(q) for q, p in zip(names, patterns)}
        self.assertEqual(got["key1.key2.key3.*"], [b"four-words"])
        self.assertEqual(got["key1.#"], [b"four-words", b"one-word"])
        self.assertEqual(got["*.key2.*.key4"], [b"four-words"])
        self.assertEqual(got["#.key3.key4"], [b"four-words"])

    def test_headers_exchange_all_versus_any(self):
        self.ch.exchange_declare("tutorial-headers", "headers")
        all_q, any_q = self.queues("headers", 2)
        self.ch.queue_bind(all_q, "tutorial-headers",
                           arguments={"x-match": "all", "name": "xiaochuanXX", "sex": "男"})
        self.ch.queue_bind(any_q, "tutorial-headers",
                           arguments={"x-match": "any", "name": "xiaochuanXX", "sex": "男"})
        self.ch.basic_publish("tutorial-headers", "", b"both",
                              pika.BasicProperties(headers={"name": "xiaochuanXX", "sex": "男"}))
        self.ch.basic_publish("tutorial-headers", "", b"one",
                              pika.BasicProperties(headers={"name": "xiaochuanXX", "sex": "女"}))
        self.ch.basic_publish("tutorial-headers", "", b"none",
                              pika.BasicProperties(headers={"name": "other"}))
        self.assertEqual(self.drain(all_q), [b"both"])
        self.assertEqual(self.drain(any_q), [b"both", b"one"])

    def test_fanout_reaches_all_four_queues(self):
        self.ch.exchange_declare("tutorial-fanout", "fanout")
        names = self.queues("fanout", 4)
        for q in names:
            self.ch.queue_bind(q, "tutorial-fanout", "ignored-" + q)
        self.ch.basic_publish("tutorial-fanout", "whatever", b"to-all")
        for q in names:
            self.assertEqual(self.drain(q), [b"to-all"], q)

    def test_one_direct_key_bound_to_two_queues(self):
        self.ch.exchange_declare("tutorial-direct", "direct")
        q1, q2, q3 = self.queues("direct", 3)
        self.ch.queue_bind(q1, "tutorial-direct", "key1")
        self.ch.queue_bind(q2, "tutorial-direct", "key1")
        self.ch.queue_bind(q3, "tutorial-direct", "key2")
        self.ch.basic_publish("tutorial-direct", "key1", b"k1")
        self.ch.basic_publish("tutorial-direct", "key1.1", b"not-exact")
        self.assertEqual(self.drain(q1), [b"k1"])
        self.assertEqual(self.drain(q2), [b"k1"])
        self.assertEqual(self.drain(q3), [])

    def test_consumer_receives_in_publish_order_with_properties(self):
        (q,) = self.queues("consume", 1)
        props = pika.BasicProperties(content_type="text/plain", delivery_mode=2, priority=3,
                                     correlation_id="c-1", message_id="m-1", app_id="interop",
                                     headers={"n": 1, "s": "x", "d": decimal.Decimal("1.5"), "l": [1, "a"],
                                              "t": {"nested": True}})
        for i in range(50):
            self.ch.basic_publish("", q, b"m%d" % i, props)
        got = []

        def on_message(ch, method, properties, body):
            got.append((body, properties))
            ch.basic_ack(method.delivery_tag)
            if len(got) == 50:
                ch.stop_consuming()

        self.ch.basic_qos(prefetch_count=10)
        self.ch.basic_consume(q, on_message)
        self.conn.call_later(30, self.ch.stop_consuming)
        self.ch.start_consuming()
        self.assertEqual([b for b, _ in got], [b"m%d" % i for i in range(50)])
        p = got[0][1]
        self.assertEqual((p.content_type, p.delivery_mode, p.priority, p.correlation_id,
                          p.message_id, p.app_id),
                         ("text/plain", 2, 3, "c-1", "m-1", "interop"))
        self.assertEqual(p.headers, {"n": 1, "s": "x", "d": decimal.Decimal("1.5"), "l": [1, "a"],
                                     "t": {"nested": True}})

    def test_direct_reply_to_round_trip(self):
        (server_q,) = self.queues("rpc", 1)
        replies = []
        self.ch.basic_consume("amq.rabbitmq.reply-to",
                              lambda ch, m, p, body: (replies.append(body), ch.stop_consuming()),
                              auto_ack=True)
        self.ch.basic_publish("", server_q, b"ping",
                              pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
        method, props, body = self.ch.basic_get(server_q, auto_ack=True)
        self.assertEqual(body, b"ping")
        self.assertTrue(props.reply_to.startswith("amq.rabbitmq.reply-to."), props.reply_to)
        # The "server" answers on its own channel to the rewritten reply-to.
        server = self.conn.channel()
        server.basic_publish("", props.reply_to, b"pong")
        self.conn.call_later(30, self.ch.stop_consuming)
        self.ch.start_consuming()
        self.assertEqual(replies, [b"pong"])

    def test_deleting_a_queue_cancels_its_consumers(self):
        (q,) = self.queues("doomed", 1)
        cancelled = []
        self.ch.basic_consume(q, lambda *a: None)
        self.ch.add_on_cancel_callback(lambda frame: (cancelled.append(frame.method.consumer_tag),
                                                      self.ch.stop_consuming()))
        other = self.conn.channel()
        other.queue_delete(q)
        self.conn.call_later(30, self.ch.stop_consuming)
        self.ch.start_consuming()
        self.assertEqual(len(cancelled), 1)

    def test_transaction_commit_and_rollback(self):
        (q,) = self.queues("tx", 1)
        tx = self.conn.channel()
        tx.tx_select()
        tx.basic_publish("", q, b"rolled-back")
        tx.tx_rollback()
        tx.basic_publish("", q, b"committed")
        self.assertEqual(self.ch.queue_declare(q, passive=True).method.message_count, 0)
        tx.tx_commit()
        self.assertEqual(self.drain(q), [b"committed"])


if __name__ == "__main__":
    unittest.main()
