"""Policies take effect on queues that already exist, and queue arguments
override them as in RabbitMQ 3.13 (issue: operate a node, "Done when" 3):
the argument wins for dead-letter-exchange, the smaller value wins for
message-ttl and max-length. What operators change through warrenctl (users,
passwords, tags, permissions, policies) survives a restart."""
import unittest

from ctl import connect, harness, listing, wait_for, warrenctl


def depth(ch, queue):
    return ch.queue_declare(queue, passive=True).method.message_count


class PolicyEffectTest(unittest.TestCase):
    def setUp(self):
        self.broker = harness.Broker().__enter__()
        self.addCleanup(self.broker.__exit__, None, None, None)
        self.conn = connect(self.broker)
        self.addCleanup(self.conn.close)
        self.ch = self.conn.channel()

    def publish(self, queue, count):
        for i in range(count):
            self.ch.basic_publish("", queue, b"m%d" % i)

    def test_message_ttl_then_dead_letter_exchange_on_an_existing_queue(self):
        ch = self.ch
        ch.exchange_declare("dlx", "fanout")
        ch.queue_declare("dead")
        ch.queue_bind("dead", "dlx")
        ch.queue_declare("work")
        self.publish("work", 3)
        self.assertEqual(depth(ch, "work"), 3)

        # First the dead-letter exchange alone: nothing expires yet.
        warrenctl(self.broker, "set_policy", "--apply-to", "queues", "work-policy", "^work$",
                  '{"dead-letter-exchange":"dlx"}')
        rows = listing(self.broker, "list_queues", "name", "policy", "messages")
        self.assertIn({"name": "work", "policy": "work-policy", "messages": 3}, rows)
        self.assertEqual(depth(ch, "work"), 3)

        # Then a TTL of 0: the three queued messages expire at once, to the DLX.
        warrenctl(self.broker, "set_policy", "--apply-to", "queues", "work-policy", "^work$",
                  '{"dead-letter-exchange":"dlx","message-ttl":0}')
        wait_for(lambda: depth(ch, "dead") == 3, "3 messages dead-lettered to 'dead'")
        self.assertEqual(depth(ch, "work"), 0)
        method, props, body = ch.basic_get("dead", auto_ack=True)
        self.assertEqual(body, b"m0")
        death = props.headers["x-death"][0]
        self.assertEqual(death["reason"], "expired")
        self.assertEqual(death["queue"], "work")

        # Cleared: new messages stay.
        warrenctl(self.broker, "clear_policy", "work-policy")
        self.publish("work", 1)
        self.assertEqual(depth(ch, "work"), 1)
        self.assertEqual(listing(self.broker, "list_queues", "name", "policy"),
                         [{"name": "dead", "policy": ""}, {"name": "work", "policy": ""}])

    def test_queue_arguments_override_the_policy(self):
        ch = self.ch
        for dlx in ("policy-dlx", "arg-dlx"):
            ch.exchange_declare(dlx, "fanout")
            ch.queue_declare(dlx + "-q")
            ch.queue_bind(dlx + "-q", dlx)
        # Its own DLX and a long TTL: the policy's TTL (smaller) applies, its DLX does not.
        ch.queue_declare("p-own-dlx", arguments={"x-dead-letter-exchange": "arg-dlx",
                                                 "x-message-ttl": 3600000})
        # A TTL smaller than the policy's: the argument's applies.
        ch.queue_declare("p-short-ttl", arguments={"x-message-ttl": 0})
        # No arguments: the policy alone.
        ch.queue_declare("p-plain")
        warrenctl(self.broker, "set_policy", "p", "^p-",
                  '{"message-ttl":0,"dead-letter-exchange":"policy-dlx","max-length":2}')
        self.publish("p-own-dlx", 1)
        wait_for(lambda: depth(ch, "arg-dlx-q") == 1, "p-own-dlx dead-letters to its own DLX")
        self.assertEqual(depth(ch, "policy-dlx-q"), 0)

        warrenctl(self.broker, "set_policy", "p", "^p-",
                  '{"message-ttl":3600000,"dead-letter-exchange":"policy-dlx","max-length":2}')
        self.publish("p-short-ttl", 1)  # x-message-ttl 0 < the policy's hour
        wait_for(lambda: depth(ch, "policy-dlx-q") == 1, "p-short-ttl expired at once")
        self.publish("p-plain", 5)  # max-length 2 from the policy: 3 dropped to the DLX
        self.assertEqual(depth(ch, "p-plain"), 2)
        self.assertEqual(depth(ch, "policy-dlx-q"), 4)

    def test_a_higher_priority_policy_wins_and_apply_to_is_respected(self):
        ch = self.ch
        ch.queue_declare("both")
        ch.exchange_declare("both", "direct")
        warrenctl(self.broker, "set_policy", "--priority", "1", "low", "^both$",
                  '{"max-length":10}')
        warrenctl(self.broker, "set_policy", "--priority", "5", "--apply-to", "exchanges",
                  "high", "^both$", '{"alternate-exchange":"amq.fanout"}')
        rows = listing(self.broker, "list_queues", "name", "policy")
        self.assertIn({"name": "both", "policy": "low"}, rows)
        ex = [r for r in listing(self.broker, "list_exchanges", "name", "policy")
              if r["name"] == "both"]
        self.assertEqual(ex, [{"name": "both", "policy": "high"}])
        policies = listing(self.broker, "list_policies")
        self.assertEqual(sorted(p["name"] for p in policies), ["high", "low"])


class OperatorChangesSurviveRestartTest(unittest.TestCase):
    def test_users_tags_passwords_and_policies_come_back(self):
        with harness.Broker() as b:
            warrenctl(b, "add_user", "ops", "first")
            warrenctl(b, "change_password", "ops", "second")
            warrenctl(b, "set_user_tags", "ops", "monitoring")
            warrenctl(b, "add_vhost", "kept")
            warrenctl(b, "set_permissions", "-p", "kept", "ops", "^ops-", ".*", ".*")
            warrenctl(b, "set_policy", "-p", "kept", "--priority", "2", "lim", "^ops-",
                      '{"max-length":3}')
            b.restart()
            warrenctl(b, "authenticate_user", "ops", "second")
            users = {u["user"]: u["tags"] for u in listing(b, "list_users")}
            self.assertEqual(users["ops"], ["monitoring"])
            self.assertEqual(listing(b, "list_user_permissions", "ops"),
                             [{"vhost": "kept", "configure": "^ops-", "write": ".*",
                               "read": ".*"}])
            [policy] = listing(b, "list_policies", "-p", "kept")
            self.assertEqual((policy["name"], policy["priority"], policy["definition"]),
                             ("lim", 2, {"max-length": 3}))
            # And it is in effect on a queue declared after the restart.
            c = connect(b, "ops", "second", vhost="kept")
            ch = c.channel()
            ch.queue_declare("ops-q")
            for i in range(5):
                ch.basic_publish("", "ops-q", b"m%d" % i)
            self.assertEqual(depth(ch, "ops-q"), 3)
            c.close()


if __name__ == "__main__":
    harness.main()
