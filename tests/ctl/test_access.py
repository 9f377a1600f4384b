"""warrenctl's topic permission and user limit commands against a real
warren-node, as rabbitmqctl 3.13 has them: set_topic_permissions,
clear_topic_permissions, list_topic_permissions,
list_user_topic_permissions, set_user_limits, clear_user_limits,
list_user_limits. Their info lines, tables, JSON, exit statuses, and that
what they set holds for AMQP clients (the full enforcement is
tests/interop/test_access_control.py)."""
import pika

from test_warrenctl import DATAERR, NOPERM, NOUSER, USAGE, NodeTest, harness


class TopicPermissionCommandTest(NodeTest):
    def test_set_list_and_clear_topic_permissions(self):
        self.ctl.ok("add_user", "u.topic", "pw")
        self.addCleanup(self.ctl.run, "delete_user", "u.topic")
        self.assertEqual(
            self.ctl.lines("set_topic_permissions", "-p", "other", "u.topic", "amq.topic",
                           "^w", "^r"),
            ['Setting topic permissions on "amq.topic" for user "u.topic" in vhost "other" ...'])
        self.ctl.ok("set_topic_permissions", "-p", "other", "u.topic", "logs", "^l", ".*")
        self.ctl.ok("set_topic_permissions", "u.topic", "amq.topic", "^slash", "")
        out = self.ctl.lines("list_topic_permissions", "-p", "other")
        self.assertEqual(out[:2], ['Listing topic permissions for vhost "other" ...',
                                   "user\texchange\twrite\tread"])
        self.assertEqual(sorted(out[2:]), ["u.topic\tamq.topic\t^w\t^r", "u.topic\tlogs\t^l\t.*"])
        self.assertEqual(self.ctl.json("list_topic_permissions"),
                         [{"user": "u.topic", "exchange": "amq.topic", "write": "^slash",
                           "read": ""}])
        out = self.ctl.lines("list_user_topic_permissions", "u.topic")
        self.assertEqual(out[:2], ['Listing topic permissions for user "u.topic" ...',
                                   "vhost\texchange\twrite\tread"])
        self.assertEqual(sorted(out[2:]), ["/\tamq.topic\t^slash\t", "other\tamq.topic\t^w\t^r",
                                           "other\tlogs\t^l\t.*"])

        # One exchange's, then every one's in a vhost; the other vhost keeps its own.
        self.assertEqual(
            self.ctl.lines("clear_topic_permissions", "-p", "other", "u.topic", "logs"),
            ['Clearing topic permissions on "logs" for user "u.topic" in vhost "other" ...'])
        self.assertEqual([p["exchange"] for p in
                          self.ctl.json("list_topic_permissions", "-p", "other")], ["amq.topic"])
        self.ctl.ok("set_topic_permissions", "-p", "other", "u.topic", "logs", "^l", ".*")
        self.assertEqual(self.ctl.lines("clear_topic_permissions", "-p", "other", "u.topic"),
                         ['Clearing topic permissions for user "u.topic" in vhost "other" ...'])
        self.assertEqual(self.ctl.json("list_topic_permissions", "-p", "other"), [])
        self.assertEqual(self.ctl.json("list_user_topic_permissions", "u.topic"),
                         [{"vhost": "/", "exchange": "amq.topic", "write": "^slash",
                           "read": ""}])

    def test_a_write_pattern_set_here_refuses_a_publish(self):
        # On "other", where limited may write to any exchange.
        self.ctl.ok("set_topic_permissions", "-p", "other", "limited", "amq.topic", "^limited-",
                    ".*")
        self.addCleanup(self.ctl.run, "clear_topic_permissions", "-p", "other", "limited")
        ch = self.amqp("limited", "limited", vhost="other").channel()
        ch.confirm_delivery()
        ch.basic_publish("amq.topic", "limited-ok", b"x")
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.basic_publish("amq.topic", "other", b"x")
        self.assertEqual(e.exception.reply_code, 403)

    def test_refusals(self):
        self.ctl.fails(DATAERR, r"\(", "set_topic_permissions", "limited", "amq.topic", "(",
                       ".*")
        self.ctl.fails(NOUSER, r"nosuch", "set_topic_permissions", "nosuch", "amq.topic",
                       ".*", ".*")
        self.ctl.fails(DATAERR, r"nowhere", "set_topic_permissions", "-p", "nowhere",
                       "limited", "amq.topic", ".*", ".*")
        self.ctl.fails(USAGE, r"read", "set_topic_permissions", "limited", "amq.topic", ".*")
        self.ctl.fails(USAGE, r"username", "clear_topic_permissions")
        self.ctl.fails(NOPERM, r".", "set_topic_permissions", "limited", "amq.topic", ".*",
                       ".*", user="monitor", password="monitor")
        self.ctl.fails(NOPERM, r".", "list_topic_permissions", user="monitor",
                       password="monitor")


class UserLimitCommandTest(NodeTest):
    def test_set_list_and_clear_user_limits(self):
        self.ctl.ok("add_user", "u.lim", "pw")
        self.addCleanup(self.ctl.run, "delete_user", "u.lim")
        self.assertEqual(self.ctl.lines("list_user_limits", "--user", "u.lim"),
                         ['Listing limits for user "u.lim" ...', "{}"])
        self.assertEqual(
            self.ctl.lines("set_user_limits", "u.lim", '{"max-connections": 10}'),
            ['Setting user limits to "{"max-connections": 10}" for user "u.lim" ...'])
        # A second set merges into the first.
        self.ctl.ok("set_user_limits", "u.lim", '{"max-channels": 5}')
        self.assertEqual(self.ctl.lines("list_user_limits", "--user", "u.lim"),
                         ['Listing limits for user "u.lim" ...',
                          '{"max-channels":5,"max-connections":10}'])
        self.assertEqual(self.ctl.json("list_user_limits", "--user", "u.lim"),
                         {"max-channels": 5, "max-connections": 10})
        out = self.ctl.lines("list_user_limits", "--global")
        self.assertEqual(out[:2], ["Listing limits for all users ...", "user\tlimits"])
        self.assertIn('u.lim\t{"max-channels":5,"max-connections":10}', out[2:])
        self.assertIn({"user": "u.lim", "limits": {"max-channels": 5, "max-connections": 10}},
                      self.ctl.json("list_user_limits", "--global"))

        self.assertEqual(self.ctl.lines("clear_user_limits", "u.lim", "max-channels"),
                         ['Clearing "max-channels" limit for user "u.lim" ...'])
        self.assertEqual(self.ctl.json("list_user_limits", "--user", "u.lim"),
                         {"max-connections": 10})
        self.assertEqual(self.ctl.lines("clear_user_limits", "u.lim", "all"),
                         ['Clearing all limits for user "u.lim" ...'])
        self.assertEqual(self.ctl.lines("-q", "list_user_limits", "--user", "u.lim"), ["{}"])
        self.assertNotIn("u.lim", [r["user"] for r in
                                   self.ctl.json("list_user_limits", "--global")])

    def test_list_user_limits_is_guests_by_default(self):
        self.ctl.ok("set_user_limits", "guest", '{"max-channels": 100}')
        self.addCleanup(self.ctl.run, "clear_user_limits", "guest", "all")
        self.assertEqual(self.ctl.lines("list_user_limits"),
                         ['Listing limits for user "guest" ...', '{"max-channels":100}'])

    def test_max_connections_set_here_refuses_a_connection(self):
        self.ctl.ok("set_user_limits", "limited", '{"max-connections": 0}')
        self.addCleanup(self.ctl.run, "clear_user_limits", "limited", "all")
        with self.assertRaises(pika.exceptions.AMQPConnectionError) as e:
            self.amqp("limited", "limited")
        self.assertIn("530", repr(e.exception))
        self.ctl.ok("clear_user_limits", "limited", "max-connections")
        self.assertTrue(self.amqp("limited", "limited").is_open)

    def test_a_definition_that_is_not_json_or_not_a_limit_is_refused_before_the_call(self):
        for definition, pattern in (('{"max-connections":', r"not valid JSON"),
                                    ("[1]", r"must be a JSON object"),
                                    ('{"max-queues": 1}', r'unknown user limit "max-queues"'),
                                    ('{"max-channels": "5"}', r"max-channels should be an integer"),
                                    ('{"max-channels": 1.5}', r"max-channels should be an integer")):
            with self.subTest(definition=definition):
                r = self.ctl.fails(DATAERR, pattern, "set_user_limits", "limited", definition)
                self.assertEqual(r.stdout, "")  # refused before the banner
        self.assertEqual(self.ctl.json("list_user_limits", "--user", "limited"), {})

    def test_refusals(self):
        self.ctl.fails(NOUSER, r"nosuch", "set_user_limits", "nosuch", '{"max-channels": 1}')
        self.ctl.fails(NOUSER, r"nosuch", "clear_user_limits", "nosuch", "all")
        self.ctl.fails(NOUSER, r"nosuch", "list_user_limits", "--user", "nosuch")
        self.ctl.fails(USAGE, r"limit", "clear_user_limits", "limited")
        self.ctl.fails(NOPERM, r".", "set_user_limits", "limited", '{"max-channels": 1}',
                       user="monitor", password="monitor")


if __name__ == "__main__":
    harness.main()
