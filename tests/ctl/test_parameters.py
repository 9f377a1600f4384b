"""warrenctl's runtime parameter, vhost limit, cluster name and operator
policy commands against a real warren-node, as rabbitmqctl 3.13 has them
(docs/parameters.md): their info lines, listings and exit statuses, and their
effect on AMQP clients."""
import json
import unittest

import pika

from test_warrenctl import DATAERR, NOPERM, USAGE, NodeTest


class ParameterCommandTest(NodeTest):
    def refused(self, code, *args, **kwargs):
        """The error a refused command prints (stderr), after checking its status."""
        r = self.ctl.run(*args, **kwargs)
        self.assertEqual(r.returncode, code, "warrenctl %s: %r %r" % (args, r.stdout, r.stderr))
        self.assertTrue(r.stderr.startswith("Error: "), r.stderr)
        return r.stderr

    def test_a_component_warren_does_not_have_and_bad_json_are_refused(self):
        err = self.refused(DATAERR, "set_parameter", "shovel", "my-shovel",
                           '{"src-uri": "amqp://"}')
        self.assertIn("Validation failed", err)
        self.assertIn("component shovel not found", err)
        err = self.refused(DATAERR, "set_parameter", "vhost-limits", "limits", "{max-queues")
        self.assertEqual(err, "Error: parameter value is not valid JSON: {max-queues\n")
        err = self.refused(DATAERR, "set_global_parameter", "g", "[1,")
        self.assertIn("not valid JSON", err)
        err = self.refused(DATAERR, "set_vhost_limits", "[1]")
        self.assertIn("must be a JSON object", err)
        self.refused(USAGE, "set_parameter", "vhost-limits", "limits")  # no value
        self.assertEqual(self.ctl.json("list_parameters"), [])

    def test_vhost_limits_set_listed_enforced_and_cleared(self):
        self.ctl.ok("add_vhost", "lim")
        self.addCleanup(self.ctl.run, "delete_vhost", "lim")
        self.ctl.ok("set_permissions", "-p", "lim", "guest", ".*", ".*", ".*")
        self.assertEqual(self.ctl.lines("set_vhost_limits", "-p", "lim", '{"max-queues": 1}'),
                         ['Setting vhost limits to "{"max-queues": 1}" for vhost "lim" ...'])
        self.assertEqual(self.ctl.lines("list_vhost_limits", "-p", "lim"),
                         ['Listing limits for vhost "lim" ...', '{"max-queues":1}'])
        self.assertIn({"vhost": "lim", "limits": {"max-queues": 1}},
                      self.ctl.json("list_vhost_limits", "--global"))
        self.assertEqual(self.ctl.json("list_parameters", "-p", "lim"),
                         [{"component": "vhost-limits", "name": "limits",
                           "value": {"max-queues": 1}}])

        ch = self.amqp(vhost="lim").channel()
        ch.queue_declare("first")
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.queue_declare("second")
        self.assertEqual(e.exception.reply_code, 406)
        self.assertIn("queue limit in vhost 'lim' (1) is reached", e.exception.reply_text)

        err = self.refused(DATAERR, "set_vhost_limits", "-p", "lim", '{"max-queues": "x"}')
        self.assertIn("max-queues should be a number", err)
        err = self.refused(DATAERR, "set_vhost_limits", "-p", "nowhere", '{"max-queues": 1}')
        self.assertIn("nowhere", err)

        self.assertEqual(self.ctl.lines("clear_vhost_limits", "-p", "lim"),
                         ['Clearing vhost "lim" limits ...'])
        self.assertEqual(self.ctl.lines("-q", "list_vhost_limits", "-p", "lim"), [])
        self.amqp(vhost="lim").channel().queue_declare("second")

    def test_max_connections_through_set_parameter(self):
        self.ctl.ok("add_vhost", "conn-lim")
        self.addCleanup(self.ctl.run, "delete_vhost", "conn-lim")
        self.ctl.ok("set_permissions", "-p", "conn-lim", "guest", ".*", ".*", ".*")
        self.assertEqual(
            self.ctl.lines("set_parameter", "-p", "conn-lim", "vhost-limits", "limits",
                           '{"max-connections": 0}'),
            ['Setting runtime parameter "limits" for component "vhost-limits" to '
             '"{"max-connections": 0}" in vhost "conn-lim" ...'])
        with self.assertRaises(pika.exceptions.AMQPConnectionError) as e:
            self.amqp(vhost="conn-lim")
        self.assertIn("530", repr(e.exception))
        self.assertEqual(
            self.ctl.lines("clear_parameter", "-p", "conn-lim", "vhost-limits", "limits"),
            ['Clearing runtime parameter "limits" for component "vhost-limits" on vhost '
             '"conn-lim" ...'])
        self.amqp(vhost="conn-lim")
        self.refused(DATAERR, "clear_parameter", "-p", "conn-lim", "vhost-limits", "limits")

    def test_global_parameters_set_listed_and_cleared(self):
        self.assertEqual(self.ctl.lines("set_global_parameter", "tier", '{"level": 3}'),
                         ['Setting global runtime parameter "tier" to "{"level": 3}" ...'])
        rows = self.ctl.json("list_global_parameters")
        self.assertIn({"name": "tier", "value": {"level": 3}}, rows)
        self.assertIn("internal_cluster_id", [r["name"] for r in rows])
        table = self.ctl.lines("list_global_parameters")
        self.assertEqual(table[:2], ["Listing global runtime parameters ...", "name\tvalue"])
        self.assertIn('tier\t{"level":3}', table)
        self.assertEqual(self.ctl.lines("clear_global_parameter", "tier"),
                         ['Clearing global runtime parameter "tier" ...'])
        self.assertNotIn("tier", [r["name"] for r in self.ctl.json("list_global_parameters")])
        self.refused(DATAERR, "clear_global_parameter", "tier")
        self.refused(NOPERM, "set_global_parameter", "tier", "1", user="manager",
                     password="manager")

    def test_set_cluster_name_is_what_cluster_status_and_clients_see(self):
        self.assertEqual(self.ctl.lines("set_cluster_name", "east-2"),
                         ["Setting cluster name to east-2 ..."])
        self.assertIn("\nCluster name: east-2\n", self.ctl.ok("cluster_status"))
        self.assertEqual(self.ctl.json("cluster_status")["cluster_name"], "east-2")
        status = self.ctl.json("status")
        self.assertEqual(status["cluster_name"], "east-2")
        self.assertRegex(status["cluster_id"], r"^rabbitmq-cluster-id-")
        self.assertEqual(self.amqp()._impl.server_properties["cluster_name"], "east-2")
        self.refused(DATAERR, "set_cluster_name", "")

    def test_operator_policy_caps_a_queue_and_is_cleared(self):
        self.ctl.ok("set_policy", "--apply-to", "queues", "users-cap", "^opq$",
                    '{"max-length": 10}')
        self.addCleanup(self.ctl.run, "clear_policy", "users-cap")
        self.assertEqual(
            self.ctl.lines("set_operator_policy", "--priority", "2", "--apply-to", "queues",
                           "op-cap", "^opq", '{"max-length": 2}'),
            ['Setting operator policy override "op-cap" for pattern "^opq" to '
             '"{"max-length": 2}" with priority "2" for vhost "/" ...'])
        self.assertEqual(self.ctl.json("list_operator_policies"),
                         [{"vhost": "/", "name": "op-cap", "pattern": "^opq",
                           "apply-to": "queues", "definition": {"max-length": 2},
                           "priority": 2}])
        self.assertNotIn("op-cap", [p["name"] for p in self.ctl.json("list_policies")])
        ch = self.amqp().channel()
        ch.queue_declare("opq")
        self.addCleanup(self.ctl.run, "delete_queue", "opq")
        for i in range(5):
            ch.basic_publish("", "opq", b"m%d" % i)
        self.assertEqual(ch.queue_declare("opq", passive=True).method.message_count, 2)
        row = [r for r in self.ctl.json("list_queues", "name", "policy", "operator_policy",
                                        "effective_policy_definition")
               if r["name"] == "opq"][0]
        self.assertEqual((row["policy"], row["operator_policy"]), ("users-cap", "op-cap"))
        self.assertEqual(json.loads(row["effective_policy_definition"]), {"max-length": 2})

        err = self.refused(DATAERR, "set_operator_policy", "op-dlx", ".*",
                           '{"dead-letter-exchange": "dlx"}')
        self.assertIn("dead-letter-exchange", err)
        self.refused(NOPERM, "set_operator_policy", "op2", ".*", '{"max-length": 1}',
                     user="manager", password="manager")
        self.assertEqual(self.ctl.lines("clear_operator_policy", "op-cap"),
                         ['Clearing operator policy "op-cap" on vhost "/" ...'])
        self.assertEqual(self.ctl.json("list_operator_policies"), [])


if __name__ == "__main__":
    unittest.main()
