"""Runtime parameters, global parameters, vhost limits, vhost metadata, the
cluster's name and operator policies through warren-mgmt, as RabbitMQ 3.13's
management API has them (docs/parameters.md): what is set is read back in
RabbitMQ's shapes, the limits and operator policies take effect on AMQP
clients, refusals come with RabbitMQ's statuses and texts, and all of it
survives a restart of the node, as do topic permissions and user limits
(whose routes test_api.py covers)."""
import unittest

import pika

import mgmt
from mgmt import harness, q, wait_for


def connect(broker, vhost="/", user="guest", password="guest"):
    return pika.BlockingConnection(pika.ConnectionParameters(
        broker.host, broker.port, vhost, pika.PlainCredentials(user, password), heartbeat=0))


def depth(broker, queue, vhost="/"):
    with connect(broker, vhost) as c:
        return c.channel().queue_declare(queue, passive=True).method.message_count


class ParametersTest(mgmt.NodeAndMgmt):
    def new_vhost(self, name, body=None):
        self.api.ok("PUT", "/api/vhosts/" + q(name), body, expect=(201,))
        self.addCleanup(self.api.request, "DELETE", "/api/vhosts/" + q(name))

    def test_vhost_metadata_is_read_back_and_an_update_replaces_it(self):
        status, _, _ = self.api.request("PUT", "/api/vhosts/meta", {
            "description": "orders of the east", "tags": "east, orders",
            "default_queue_type": "quorum", "tracing": True})
        self.assertEqual(status, 201)
        self.addCleanup(self.api.request, "DELETE", "/api/vhosts/meta")
        node = self.api.ok("GET", "/api/overview")["node"]
        v = self.api.ok("GET", "/api/vhosts/meta")
        self.assertEqual(v["description"], "orders of the east")
        self.assertEqual(v["tags"], ["east", "orders"])
        self.assertEqual(v["default_queue_type"], "quorum")
        self.assertIs(v["tracing"], True)
        self.assertEqual(v["metadata"], {"description": "orders of the east",
                                         "tags": ["east", "orders"],
                                         "default_queue_type": "quorum"})
        self.assertEqual(v["cluster_state"], {node: "running"})
        self.assertIn("meta", [x["name"] for x in self.api.ok("GET", "/api/vhosts")])

        # An update: description and tags replaced; the queue type and
        # tracing, not given, kept.
        status, _, _ = self.api.request("PUT", "/api/vhosts/meta",
                                        {"description": "west", "tags": ["west"]})
        self.assertEqual(status, 204)
        v = self.api.ok("GET", "/api/vhosts/meta")
        self.assertEqual((v["description"], v["tags"], v["default_queue_type"], v["tracing"]),
                         ("west", ["west"], "quorum", True))
        self.api.ok("PUT", "/api/vhosts/meta", {"tracing": False}, expect=(204,))
        v = self.api.ok("GET", "/api/vhosts/meta")
        self.assertEqual((v["description"], v["tags"], v["tracing"]), ("", [], False))

        # A vhost made without metadata: RabbitMQ's neutral values.
        self.new_vhost("plain")
        v = self.api.ok("GET", "/api/vhosts/plain")
        self.assertEqual(v["metadata"], {"description": "", "tags": []})
        self.assertEqual((v["default_queue_type"], v["tracing"]), ("classic", False))

        status, body, _ = self.api.request("PUT", "/api/vhosts/meta",
                                           {"default_queue_type": "stream"})
        self.assertEqual(status, 400, body)

    def test_the_creator_of_a_vhost_gets_full_permissions_on_it(self):
        self.api.ok("PUT", "/api/users/vhost-maker",
                    {"password": "pw", "tags": "administrator"})
        self.addCleanup(self.api.request, "DELETE", "/api/users/vhost-maker")
        self.api.ok("PUT", "/api/vhosts/made", None, expect=(201,), user="vhost-maker",
                    password="pw")
        self.addCleanup(self.api.request, "DELETE", "/api/vhosts/made")
        self.assertEqual(self.api.ok("GET", "/api/permissions/made/vhost-maker"),
                         {"user": "vhost-maker", "vhost": "made", "configure": ".*",
                          "write": ".*", "read": ".*"})
        self.assertEqual(self.api.get("/api/permissions/made/guest")[0], 404)
        # An update gives nothing to whoever sends it.
        self.api.ok("PUT", "/api/vhosts/made", {"description": "x"}, expect=(204,))
        self.assertEqual(self.api.get("/api/permissions/made/guest")[0], 404)

    def test_vhost_limits_are_set_merged_listed_and_deleted_and_max_queues_holds(self):
        self.new_vhost("limited")
        path = "/api/vhost-limits/limited/"
        self.assertEqual(self.api.ok("PUT", path + "max-queues", {"value": 2}), None)
        self.api.ok("PUT", path + "max-connections", {"value": 10}, expect=(204,))
        want = [{"vhost": "limited", "value": {"max-queues": 2, "max-connections": 10}}]
        self.assertEqual(self.api.ok("GET", "/api/vhost-limits/limited"), want)
        self.assertIn(want[0], self.api.ok("GET", "/api/vhost-limits"))
        self.assertIn({"value": {"max-queues": 2, "max-connections": 10}, "vhost": "limited",
                       "component": "vhost-limits", "name": "limits"},
                      self.api.ok("GET", "/api/parameters/vhost-limits/limited"))

        self.api.ok("DELETE", path + "max-connections", expect=(204,))
        self.assertEqual(self.api.ok("GET", "/api/vhost-limits/limited"),
                         [{"vhost": "limited", "value": {"max-queues": 2}}])

        with connect(self.broker, "limited") as c:
            ch = c.channel()
            ch.queue_declare("q1")
            ch.queue_declare("q2")
            ch.queue_declare("q1")  # redeclaring one that exists is no new queue
            with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
                ch.queue_declare("q3")
        self.assertEqual(e.exception.reply_code, 406)
        self.assertIn("cannot declare queue 'q3': queue limit in vhost 'limited' (2) is reached",
                      e.exception.reply_text)

        # The last limit deleted: none left, the parameter gone, q3 declared.
        self.api.ok("DELETE", path + "max-queues", expect=(204,))
        self.assertEqual(self.api.ok("GET", "/api/vhost-limits/limited"), [])
        self.assertEqual(self.api.ok("GET", "/api/parameters/vhost-limits/limited"), [])
        with connect(self.broker, "limited") as c:
            c.channel().queue_declare("q3")

        # Errors: a limit that is not a number, an unknown one, a vhost that is not.
        status, body, _ = self.api.request("PUT", path + "max-queues", {"value": "many"})
        self.assertEqual(status, 400)
        self.assertEqual(body["error"], "bad_request")
        self.assertIn("max-queues should be a number", body["reason"])
        self.assertEqual(self.api.request("PUT", path + "max-things", {"value": 1})[0], 400)
        self.assertEqual(self.api.request("PUT", path + "max-queues", {})[0], 400)
        self.assertEqual(self.api.get("/api/vhost-limits/nowhere")[0], 404)
        self.assertEqual(self.api.request("PUT", "/api/vhost-limits/nowhere/max-queues",
                                          {"value": 1})[0], 404)
        # Limits are an administrator's.
        self.assertEqual(self.api.request("PUT", path + "max-queues", {"value": 1},
                                          user="manager", password="manager")[0], 401)

    def test_max_connections_refuses_the_next_connection(self):
        self.new_vhost("few")
        self.api.ok("PUT", "/api/vhost-limits/few/max-connections", {"value": 1})
        first = connect(self.broker, "few")
        try:
            with self.assertRaises(pika.exceptions.AMQPConnectionError) as e:
                connect(self.broker, "few")
            closed = e.exception
            # pika reports the connection.close of the handshake with its code.
            self.assertIn("530", repr(closed))
            self.assertIn("connection limit (1) is reached", repr(closed))
        finally:
            first.close()
        # With the first closed, one more gets in.
        wait_for(lambda: self._opens(), "a connection to 'few' once the first closed")

    def _opens(self):
        try:
            connect(self.broker, "few").close()
            return True
        except pika.exceptions.AMQPConnectionError:
            return False

    def test_parameters_of_a_component_warren_does_not_have_are_refused(self):
        status, body, _ = self.api.request("PUT", "/api/parameters/shovel/%2F/my-shovel",
                                           {"value": {"src-uri": "amqp://"}})
        self.assertEqual(status, 400)
        self.assertEqual(body, {"error": "bad_request",
                                "reason": "Validation failed\n\ncomponent shovel not found\n"})
        self.assertEqual(self.api.ok("GET", "/api/parameters/shovel"), [])
        self.assertEqual(self.api.get("/api/parameters/shovel/%2F/my-shovel")[0], 404)
        self.assertEqual(self.api.get("/api/parameters/shovel/%2F/my-shovel")[1],
                         {"error": "Object Not Found", "reason": "Not Found"})
        self.assertEqual(self.api.request("DELETE", "/api/parameters/shovel/%2F/my-shovel")[0],
                         404)

    def test_a_vhost_limits_parameter_put_directly_is_one_object(self):
        self.new_vhost("direct")
        path = "/api/parameters/vhost-limits/direct/limits"
        self.assertEqual(self.api.request("PUT", path, {"value": {"max-queues": 5}})[0], 201)
        self.assertEqual(self.api.request("PUT", path, {"value": {"max-queues": 6}})[0], 204)
        self.assertEqual(self.api.ok("GET", path),
                         {"value": {"max-queues": 6}, "vhost": "direct",
                          "component": "vhost-limits", "name": "limits"})
        self.assertEqual(self.api.ok("GET", "/api/vhost-limits/direct"),
                         [{"vhost": "direct", "value": {"max-queues": 6}}])
        self.assertEqual(self.api.request("DELETE", path)[0], 204)
        self.assertEqual(self.api.get(path)[0], 404)

    def test_global_parameters_are_set_read_replaced_and_deleted(self):
        names = [p["name"] for p in self.api.ok("GET", "/api/global-parameters")]
        self.assertIn("internal_cluster_id", names)  # seeded by the node
        cluster_id = self.api.ok("GET", "/api/global-parameters/internal_cluster_id")["value"]
        self.assertRegex(cluster_id, r"^rabbitmq-cluster-id-[A-Za-z0-9_-]{22}$")

        path = "/api/global-parameters/my-setting"
        self.assertEqual(self.api.request("PUT", path, {"value": {"a": [1, 2]}})[0], 201)
        self.assertEqual(self.api.ok("GET", path), {"name": "my-setting", "value": {"a": [1, 2]}})
        self.assertEqual(self.api.request("PUT", path, {"name": "my-setting", "value": "s"})[0],
                         204)
        self.assertIn({"name": "my-setting", "value": "s"},
                      self.api.ok("GET", "/api/global-parameters"))
        self.assertEqual(self.api.request("DELETE", path)[0], 204)
        self.assertEqual(self.api.get(path)[0], 404)
        self.assertEqual(self.api.request("DELETE", path)[0], 404)
        self.assertEqual(self.api.request("PUT", path, {"name": "my-setting"})[0], 400)
        # Global parameters are an administrator's.
        self.assertEqual(self.api.request("PUT", path, {"value": 1}, user="manager",
                                          password="manager")[0], 401)

    def test_the_cluster_name_is_set_and_seen_by_the_api_and_new_connections(self):
        self.assertEqual(self.api.request("PUT", "/api/cluster-name", {"name": "east-1"})[0], 204)
        self.assertEqual(self.api.ok("GET", "/api/cluster-name"), {"name": "east-1"})
        self.assertEqual(self.api.ok("GET", "/api/cluster-name", user="manager",
                                     password="manager"), {"name": "east-1"})
        self.assertEqual(self.api.ok("GET", "/api/overview")["cluster_name"], "east-1")
        self.assertIn({"name": "cluster_name", "value": "east-1"},
                      self.api.ok("GET", "/api/global-parameters"))
        with connect(self.broker) as c:
            props = c._impl.server_properties
        self.assertEqual(props["cluster_name"], "east-1")  # pika decodes UTF-8 to str
        # Setting it is an administrator's; a name must be a non-empty string.
        self.assertEqual(self.api.request("PUT", "/api/cluster-name", {"name": "x"},
                                          user="manager", password="manager")[0], 401)
        self.assertEqual(self.api.request("PUT", "/api/cluster-name", {"name": ""})[0], 400)
        self.assertEqual(self.api.request("PUT", "/api/cluster-name", {"name": 5})[0], 400)

    def test_an_operator_policy_caps_a_policys_max_length(self):
        self.api.ok("PUT", "/api/policies/%2F/user-cap",
                    {"pattern": "^capped$", "definition": {"max-length": 10},
                     "apply-to": "queues"})
        self.addCleanup(self.api.request, "DELETE", "/api/policies/%2F/user-cap")
        status, _, _ = self.api.request("PUT", "/api/operator-policies/%2F/op-cap",
                                        {"pattern": "^cap", "definition": {"max-length": 3},
                                         "apply-to": "queues", "priority": 1})
        self.assertEqual(status, 201)
        self.addCleanup(self.api.request, "DELETE", "/api/operator-policies/%2F/op-cap")
        want = {"vhost": "/", "name": "op-cap", "pattern": "^cap", "apply-to": "queues",
                "definition": {"max-length": 3}, "priority": 1}
        self.assertEqual(self.api.ok("GET", "/api/operator-policies/%2F/op-cap"), want)
        self.assertIn(want, self.api.ok("GET", "/api/operator-policies"))
        self.assertIn(want, self.api.ok("GET", "/api/operator-policies/%2F"))
        self.assertNotIn("op-cap", [p["name"] for p in self.api.ok("GET", "/api/policies")])

        with connect(self.broker) as c:
            ch = c.channel()
            ch.queue_declare("capped")
            self.addCleanup(self.api.request, "DELETE", "/api/queues/%2F/capped")
            for i in range(6):
                ch.basic_publish("", "capped", b"m%d" % i)
        wait_for(lambda: self.api.ok("GET", "/api/queues/%2F/capped")["messages"] == 3,
                 "the queue capped at the operator policy's 3")
        queue = self.api.ok("GET", "/api/queues/%2F/capped")
        self.assertEqual(queue["policy"], "user-cap")
        self.assertEqual(queue["operator_policy"], "op-cap")
        self.assertEqual(queue["effective_policy_definition"], {"max-length": 3})

        # Cleared: the user's policy alone again.
        self.assertEqual(self.api.request("DELETE", "/api/operator-policies/%2F/op-cap")[0], 204)
        queue = self.api.ok("GET", "/api/queues/%2F/capped")
        self.assertIsNone(queue["operator_policy"])
        self.assertEqual(queue["effective_policy_definition"], {"max-length": 10})
        self.assertEqual(self.api.get("/api/operator-policies/%2F/op-cap")[0], 404)

    def test_an_operator_policy_with_a_key_it_may_not_set_is_refused(self):
        status, body, _ = self.api.request(
            "PUT", "/api/operator-policies/%2F/op-dlx",
            {"pattern": ".*", "definition": {"dead-letter-exchange": "dlx"}})
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"], "bad_request")
        self.assertIn("dead-letter-exchange", body["reason"])
        self.assertEqual(self.api.get("/api/operator-policies/%2F/op-dlx")[0], 404)
        # An administrator's: a policymaker-less management user is refused.
        self.assertEqual(self.api.request(
            "PUT", "/api/operator-policies/%2F/op-ttl",
            {"pattern": ".*", "definition": {"message-ttl": 5}}, user="manager",
            password="manager")[0], 401)


class RestartTest(unittest.TestCase):
    """What the API sets is in the node's definitions: a restarted node has it."""

    def test_parameters_limits_metadata_and_operator_policies_survive_a_restart(self):
        with harness.Broker(definitions=mgmt.DEFINITIONS, grpc_port=harness.free_port()) as b, \
                mgmt.Mgmt(["127.0.0.1:%d" % b.grpc_listen_port]) as api:
            api.ok("PUT", "/api/vhosts/kept", {"description": "d", "tags": "t",
                                               "default_queue_type": "quorum"})
            api.ok("PUT", "/api/vhost-limits/kept/max-queues", {"value": 7})
            api.ok("PUT", "/api/global-parameters/kept-param", {"value": {"k": 1}})
            api.ok("PUT", "/api/cluster-name", {"name": "kept-cluster"})
            api.ok("PUT", "/api/operator-policies/kept/op",
                   {"pattern": ".*", "definition": {"max-length": 4}, "apply-to": "queues"})
            cluster_id = api.ok("GET", "/api/global-parameters/internal_cluster_id")["value"]

            b.restart()
            wait_for(lambda: api.get("/api/cluster-name")[0] == 200, "the restarted node answers")

            v = api.ok("GET", "/api/vhosts/kept")
            self.assertEqual((v["description"], v["tags"], v["default_queue_type"]),
                             ("d", ["t"], "quorum"))
            self.assertEqual(api.ok("GET", "/api/vhost-limits/kept"),
                             [{"vhost": "kept", "value": {"max-queues": 7}}])
            self.assertEqual(api.ok("GET", "/api/global-parameters/kept-param")["value"],
                             {"k": 1})
            self.assertEqual(api.ok("GET", "/api/cluster-name"), {"name": "kept-cluster"})
            self.assertEqual(api.ok("GET", "/api/global-parameters/internal_cluster_id")["value"],
                             cluster_id)
            self.assertEqual(api.ok("GET", "/api/operator-policies/kept/op")["definition"],
                             {"max-length": 4})
            # The creator's permissions, granted at creation, were kept too.
            self.assertEqual(api.ok("GET", "/api/permissions/kept/guest")["configure"], ".*")

    def test_topic_permissions_and_user_limits_survive_a_restart(self):
        with harness.Broker(definitions=mgmt.DEFINITIONS, grpc_port=harness.free_port()) as b, \
                mgmt.Mgmt(["127.0.0.1:%d" % b.grpc_listen_port]) as api:
            api.ok("PUT", "/api/topic-permissions/other/manager",
                   {"exchange": "amq.topic", "write": "^kept\\.", "read": ".*"})
            api.ok("PUT", "/api/user-limits/manager/max-channels", {"value": 3})

            b.restart()
            wait_for(lambda: api.get("/api/overview")[0] == 200, "the restarted node answers")

            self.assertEqual(api.ok("GET", "/api/topic-permissions/other/manager"),
                             [{"user": "manager", "vhost": "other", "exchange": "amq.topic",
                               "write": "^kept\\.", "read": ".*"}])
            self.assertEqual(api.ok("GET", "/api/user-limits/manager"),
                             [{"user": "manager", "value": {"max-channels": 3}}])
            self.assertEqual(api.ok("GET", "/api/users/manager")["limits"], {"max-channels": 3})


if __name__ == "__main__":
    unittest.main()
