"""warren-mgmt's REST API against one node: every endpoint, who may call it
(401 without or with wrong credentials, and 401 not_authorised by tags and
permissions, as RabbitMQ answers), unknown objects (404 "Object Not Found"),
bad bodies (400), the list parameters (paging, filters, sorting, columns)
and HEAD."""
import base64
import hashlib
import os

import mgmt
from mgmt import q

import pika


class ApiTest(mgmt.NodeAndMgmt):
    def status(self, method, path, body=None, **kw):
        return self.api.request(method, path, body, **kw)[0]

    def assertError(self, expected, method, path, body=None, **kw):
        status, data, _ = self.api.request(method, path, body, **kw)
        self.assertEqual(status, expected, data)
        self.assertEqual(set(data), {"error", "reason"}, data)
        return data

    # Authentication and tags ------------------------------------------------
    def test_no_credentials_is_401_with_a_basic_challenge(self):
        status, data, headers = self.api.request("GET", "/api/overview", user=None)
        self.assertEqual(status, 401)
        self.assertEqual(data["error"], "not_authorized")
        self.assertEqual(headers["WWW-Authenticate"], 'Basic realm="RabbitMQ Management"')

    def test_wrong_password_is_401(self):
        status, _, headers = self.api.request("GET", "/api/whoami", password="wrong")
        self.assertEqual(status, 401)
        self.assertIn("WWW-Authenticate", headers)

    def test_user_without_tags_is_401_not_authorised(self):
        for path in ("/api/whoami", "/api/queues"):
            status, data, headers = self.api.request("GET", path, user="limited",
                                                     password="limited")
            self.assertEqual((status, data["error"]), (401, "not_authorised"), data)
            # A known user refused: no challenge, the browser keeps its session.
            self.assertNotIn("WWW-Authenticate", headers)

    def test_monitoring_user_reads_but_may_not_write(self):
        self.assertEqual(self.status("GET", "/api/overview", user="monitor", password="monitor"),
                         200)
        self.assertEqual(self.status("GET", "/api/queues", user="monitor", password="monitor"),
                         200)
        self.assertError(401, "PUT", "/api/vhosts/by-monitor", {}, user="monitor",
                         password="monitor")
        self.assertError(401, "PUT", "/api/queues/%2F/by-monitor", {}, user="monitor",
                         password="monitor")

    def test_management_user_acts_within_its_permissions(self):
        auth = {"user": "manager", "password": "manager"}
        overview = self.api.ok("GET", "/api/overview", **auth)
        self.assertEqual(overview["listeners"], [])
        self.assertIn("queues", overview["object_totals"])
        self.assertError(401, "GET", "/api/nodes", **auth)
        self.assertEqual(self.status("PUT", "/api/queues/%2F/mine-q", {}, **auth), 201)
        self.assertError(401, "PUT", "/api/queues/%2F/theirs-q", {}, **auth)
        self.assertError(401, "GET", "/api/users", **auth)
        self.assertEqual(self.status("DELETE", "/api/queues/%2F/mine-q", **auth), 204)

    def test_whoami(self):
        self.assertEqual(self.api.ok("GET", "/api/whoami"),
                         {"name": "guest", "tags": ["administrator"]})
        self.assertEqual(self.api.ok("GET", "/api/whoami", user="monitor", password="monitor"),
                         {"name": "monitor", "tags": ["monitoring"]})

    # Node --------------------------------------------------------------------
    def test_overview_and_nodes(self):
        o = self.api.ok("GET", "/api/overview")
        for key in ("management_version", "rabbitmq_version", "product_name", "node",
                    "object_totals", "queue_totals", "message_stats", "listeners"):
            self.assertIn(key, o)
        self.assertGreaterEqual(o["object_totals"]["exchanges"], 7)
        self.assertIn("amqp", [l["protocol"] for l in o["listeners"]])
        nodes = self.api.ok("GET", "/api/nodes")
        self.assertEqual([n["name"] for n in nodes], [o["node"]])
        self.assertTrue(nodes[0]["running"])
        one = self.api.ok("GET", "/api/nodes/" + q(o["node"]))
        self.assertEqual(one["name"], o["node"])
        self.assertIn("mem_used", one)
        self.assertError(404, "GET", "/api/nodes/nobody@nowhere")

    def test_aliveness_and_alarms(self):
        self.assertEqual(self.api.ok("GET", "/api/aliveness-test/%2F"), {"status": "ok"})
        self.assertEqual(self.api.ok("GET", "/api/health/checks/alarms"), {"status": "ok"})
        self.assertError(404, "GET", "/api/aliveness-test/no-such-vhost")

    def test_unknown_path_and_wrong_method(self):
        self.assertError(404, "GET", "/api/no-such-thing")
        self.assertEqual(self.status("POST", "/api/overview", {}), 405)

    # Virtual hosts, users, permissions ----------------------------------------
    def test_vhost_lifecycle(self):
        self.assertEqual(self.status("PUT", "/api/vhosts/v1", {"description": "x"}), 201)
        self.assertEqual(self.status("PUT", "/api/vhosts/v1", {}), 204)
        self.assertEqual(self.api.ok("GET", "/api/vhosts/v1")["name"], "v1")
        self.assertIn("v1", [v["name"] for v in self.api.ok("GET", "/api/vhosts")])
        self.assertEqual(self.status("DELETE", "/api/vhosts/v1"), 204)
        self.assertError(404, "GET", "/api/vhosts/v1")
        self.assertError(404, "DELETE", "/api/vhosts/v1")
        self.assertError(400, "PUT", "/api/vhosts/v2", {"tracing": "sometimes"})

    def test_user_lifecycle_with_tags_as_string_or_list(self):
        self.assertEqual(self.status("PUT", "/api/users/u1",
                                     {"password": "pw1", "tags": "monitoring,management"}), 201)
        self.assertEqual(self.api.ok("GET", "/api/users/u1")["tags"],
                         ["monitoring", "management"])
        self.assertEqual(self.api.ok("GET", "/api/whoami", user="u1", password="pw1")["name"],
                         "u1")
        self.assertEqual(self.status("PUT", "/api/users/u1",
                                     {"password": "pw2", "tags": ["administrator"]}), 204)
        self.assertEqual(self.api.ok("GET", "/api/users/u1")["tags"], ["administrator"])
        self.assertEqual(self.status("GET", "/api/whoami", user="u1", password="pw1"), 401)
        self.assertIn("u1", [u["name"] for u in self.api.ok("GET", "/api/users")])
        self.assertEqual(self.status("DELETE", "/api/users/u1"), 204)
        self.assertError(404, "GET", "/api/users/u1")
        self.assertError(404, "DELETE", "/api/users/u1")

    def test_user_from_a_password_hash(self):
        salt = os.urandom(4)
        digest = hashlib.sha256(salt + b"hashed-pw").digest()
        hashed = base64.b64encode(salt + digest).decode()
        self.assertEqual(self.status("PUT", "/api/users/u2",
                                     {"password_hash": hashed, "tags": "management"}), 201)
        self.assertEqual(
            self.api.ok("GET", "/api/whoami", user="u2", password="hashed-pw")["tags"],
            ["management"])
        self.assertError(400, "PUT", "/api/users/u3", {"password_hash": "not-a-hash"})
        self.assertEqual(self.status("DELETE", "/api/users/u2"), 204)

    def test_bad_user_bodies(self):
        self.assertError(400, "PUT", "/api/users/u4", {"password": "x", "tags": 5})
        self.assertError(400, "PUT", "/api/users/u4", raw="{not json")
        self.assertError(400, "PUT", "/api/users/u4", raw="[1, 2]")
        self.assertError(404, "GET", "/api/users/u4")
        # A field the route does not know is ignored, as RabbitMQ ignores it
        # (rabbitmqadmin sends "vhost" in a user's body).
        self.assertEqual(self.status("PUT", "/api/users/u4",
                                     {"password": "x", "colour": "red", "vhost": "/"}), 201)
        self.assertEqual(self.status("DELETE", "/api/users/u4"), 204)

    def test_permissions(self):
        self.assertEqual(self.status("PUT", "/api/users/p1", {"password": "p", "tags": ""}), 201)
        body = {"configure": "^p1-", "write": ".*", "read": ".*"}
        self.assertEqual(self.status("PUT", "/api/permissions/other/p1", body), 201)
        self.assertEqual(self.status("PUT", "/api/permissions/other/p1", body), 204)
        self.assertEqual(self.api.ok("GET", "/api/permissions/other/p1"),
                         dict(body, user="p1", vhost="other"))
        self.assertIn({"user": "p1", "vhost": "other", **body},
                      self.api.ok("GET", "/api/permissions"))
        self.assertIn("p1", [p["user"] for p in
                             self.api.ok("GET", "/api/vhosts/other/permissions")])
        self.assertEqual([p["vhost"] for p in self.api.ok("GET", "/api/users/p1/permissions")],
                         ["other"])
        self.assertError(400, "PUT", "/api/permissions/other/p1", {"configure": ".*"})
        self.assertEqual(self.status("DELETE", "/api/permissions/other/p1"), 204)
        self.assertError(404, "GET", "/api/permissions/other/p1")
        # No such vhost or user: 400, as RabbitMQ answers a PUT.
        for path in ("/api/permissions/no-vhost/p1", "/api/permissions/other/no-user"):
            self.assertEqual(self.assertError(400, "PUT", path, body)["reason"],
                             "vhost_or_user_not_found", path)
        self.assertEqual(self.status("DELETE", "/api/users/p1"), 204)

    def test_users_show_their_password_hash(self):
        salt = os.urandom(4)
        hashed = base64.b64encode(salt + hashlib.sha256(salt + b"pw").digest()).decode()
        self.api.ok("PUT", "/api/users/hashed", {"password_hash": hashed, "tags": ""})
        user = self.api.ok("GET", "/api/users/hashed")
        self.assertEqual((user["password_hash"], user["hashing_algorithm"]),
                         (hashed, "rabbit_password_hashing_sha256"))
        self.assertEqual({u["name"]: u["password_hash"]
                          for u in self.api.ok("GET", "/api/users")}["hashed"], hashed)
        self.api.ok("DELETE", "/api/users/hashed")

    def test_users_without_permissions_and_bulk_delete(self):
        for name in ("bulk-1", "bulk-2", "bulk-3"):
            self.api.ok("PUT", "/api/users/" + name, {"password": "x", "tags": ""})
        self.api.ok("PUT", "/api/permissions/other/bulk-3",
                    {"configure": "", "write": "", "read": ".*"})
        without = [u["name"] for u in self.api.ok("GET", "/api/users/without-permissions")]
        self.assertIn("bulk-1", without)
        self.assertIn("bulk-2", without)
        self.assertNotIn("bulk-3", without)
        self.assertNotIn("guest", without)
        self.assertIn("password_hash", self.api.ok("GET", "/api/users/without-permissions")[0])
        self.assertError(400, "POST", "/api/users/bulk-delete", {"users": "bulk-1"})
        self.assertError(400, "POST", "/api/users/bulk-delete", {"users": [1]})
        self.assertError(400, "POST", "/api/users/bulk-delete", {})
        self.assertError(401, "POST", "/api/users/bulk-delete", {"users": ["bulk-1"]},
                         user="monitor", password="monitor")
        self.assertEqual(self.status("POST", "/api/users/bulk-delete",
                                     {"users": ["bulk-1", "bulk-2", "bulk-3", "no-such-user"]}),
                         204)
        names = [u["name"] for u in self.api.ok("GET", "/api/users")]
        self.assertFalse({"bulk-1", "bulk-2", "bulk-3"} & set(names))

    def test_topic_permissions(self):
        self.api.ok("PUT", "/api/users/tp1", {"password": "p", "tags": ""}, expect=(201,))
        self.addCleanup(self.api.request, "DELETE", "/api/users/tp1")
        path = "/api/topic-permissions/other/tp1"
        self.assertError(404, "GET", path)  # none yet
        self.assertError(404, "DELETE", path)
        body = {"exchange": "amq.topic", "write": "^w", "read": "^r"}
        # The user's first in the vhost is created, a later one updates.
        self.assertEqual(self.status("PUT", path, body), 201)
        self.assertEqual(self.status("PUT", path, dict(body, exchange="logs", user="ignored")),
                         204)
        self.assertEqual(self.status("PUT", path, dict(body, read=".*")), 204)
        want = [{"user": "tp1", "vhost": "other", "exchange": "amq.topic", "write": "^w",
                 "read": ".*"},
                {"user": "tp1", "vhost": "other", "exchange": "logs", "write": "^w",
                 "read": "^r"}]
        self.assertEqual(sorted(self.api.ok("GET", path), key=lambda p: p["exchange"]), want)
        self.status("PUT", "/api/topic-permissions/%2F/tp1", body)
        mine = [p for p in self.api.ok("GET", "/api/topic-permissions") if p["user"] == "tp1"]
        self.assertEqual([(p["vhost"], p["exchange"]) for p in mine],
                         [("/", "amq.topic"), ("other", "amq.topic"), ("other", "logs")])
        self.assertEqual(len(self.api.ok("GET", "/api/users/tp1/topic-permissions")), 3)
        self.assertEqual(
            [p for p in self.api.ok("GET", "/api/vhosts/other/topic-permissions")
             if p["user"] == "tp1"], mine[1:])
        self.assertEqual(self.api.ok("GET", path + "?columns=exchange"),
                         [{"exchange": "amq.topic"}, {"exchange": "logs"}])

        # Refusals: fields missing or of the wrong type, a bad pattern, no
        # such vhost or user, a caller who is not an administrator.
        for bad in ({"write": ".*", "read": ".*"}, dict(body, write=5), dict(body, read=None)):
            reason = self.assertError(400, "PUT", path, bad)["reason"]
            self.assertRegex(reason, "exchange|write|read")
        self.assertError(400, "PUT", path, dict(body, write="("))
        self.assertEqual(self.assertError(400, "PUT", "/api/topic-permissions/nowhere/tp1",
                                          body)["reason"], "vhost_or_user_not_found")
        self.assertError(400, "PUT", "/api/topic-permissions/other/nobody", body)
        for p in ("/api/topic-permissions/nowhere/tp1", "/api/topic-permissions/other/nobody",
                  "/api/vhosts/nowhere/topic-permissions", "/api/users/nobody/topic-permissions"):
            self.assertError(404, "GET", p)
        self.assertError(401, "PUT", path, body, user="manager", password="manager")
        self.assertError(401, "GET", "/api/topic-permissions", user="manager",
                         password="manager")

        # One exchange's deleted (one that has none: no error), then the rest.
        self.assertEqual(self.status("DELETE", path + "/logs"), 204)
        self.assertEqual(self.status("DELETE", path + "/no-such-exchange"), 204)
        self.assertEqual([p["exchange"] for p in self.api.ok("GET", path)], ["amq.topic"])
        self.assertEqual(self.status("DELETE", path), 204)
        self.assertError(404, "GET", path)
        self.assertError(404, "DELETE", path + "/amq.topic")
        self.assertEqual(len(self.api.ok("GET", "/api/users/tp1/topic-permissions")), 1)

    def test_user_limits(self):
        self.api.ok("PUT", "/api/users/ul1", {"password": "p", "tags": ""}, expect=(201,))
        self.addCleanup(self.api.request, "DELETE", "/api/users/ul1")
        self.assertEqual(self.api.ok("GET", "/api/user-limits/ul1"), [])
        self.assertEqual(self.api.ok("GET", "/api/users/ul1")["limits"], {})
        self.assertEqual(self.status("PUT", "/api/user-limits/ul1/max-connections",
                                     {"value": 10}), 204)
        self.assertEqual(self.status("PUT", "/api/user-limits/ul1/max-channels",
                                     {"value": 5}), 204)
        want = {"user": "ul1", "value": {"max-connections": 10, "max-channels": 5}}
        self.assertEqual(self.api.ok("GET", "/api/user-limits/ul1"), [want])
        self.assertIn(want, self.api.ok("GET", "/api/user-limits"))
        self.assertNotIn("guest", [u["user"] for u in self.api.ok("GET", "/api/user-limits")])
        self.assertEqual(self.api.ok("GET", "/api/users/ul1")["limits"], want["value"])
        self.assertEqual({u["name"]: u["limits"] for u in self.api.ok("GET", "/api/users")}
                         ["ul1"], want["value"])

        self.assertEqual(self.status("DELETE", "/api/user-limits/ul1/max-channels"), 204)
        self.assertEqual(self.api.ok("GET", "/api/user-limits/ul1"),
                         [{"user": "ul1", "value": {"max-connections": 10}}])
        self.assertEqual(self.status("DELETE", "/api/user-limits/ul1/max-connections"), 204)
        self.assertEqual(self.api.ok("GET", "/api/user-limits/ul1"), [])
        self.assertNotIn("ul1", [u["user"] for u in self.api.ok("GET", "/api/user-limits")])

        # Refusals: a limit RabbitMQ does not have, a value that is not an
        # integer or is missing, no such user, a caller who is not an administrator.
        reason = self.assertError(400, "PUT", "/api/user-limits/ul1/max-queues",
                                  {"value": 1})["reason"]
        self.assertIn("max-queues", reason)
        for bad in ({"value": "10"}, {"value": 1.5}, {"value": None}, {}, {"value": 2 ** 63}):
            self.assertError(400, "PUT", "/api/user-limits/ul1/max-channels", bad)
        self.assertEqual(self.api.ok("GET", "/api/user-limits/ul1"), [])
        self.assertError(404, "GET", "/api/user-limits/nobody")
        self.assertError(404, "PUT", "/api/user-limits/nobody/max-channels", {"value": 1})
        self.assertError(404, "DELETE", "/api/user-limits/nobody/max-channels")
        self.assertError(401, "PUT", "/api/user-limits/ul1/max-channels", {"value": 1},
                         user="manager", password="manager")

    def test_a_users_put_sets_its_limits(self):
        self.assertEqual(self.status("PUT", "/api/users/ul2", {
            "password": "p", "tags": "", "limits": {"max-connections": 3}}), 201)
        self.addCleanup(self.api.request, "DELETE", "/api/users/ul2")
        self.assertEqual(self.api.ok("GET", "/api/users/ul2")["limits"], {"max-connections": 3})
        # Merged into the user's, as RabbitMQ merges them.
        self.assertEqual(self.status("PUT", "/api/users/ul2", {
            "tags": "", "limits": {"max-channels": 4}}), 204)
        self.assertEqual(self.api.ok("GET", "/api/users/ul2")["limits"],
                         {"max-connections": 3, "max-channels": 4})
        # A bad limit refuses the whole PUT: no user made.
        self.assertError(400, "PUT", "/api/users/ul3",
                         {"password": "p", "limits": {"max-queues": 1}})
        self.assertError(404, "GET", "/api/users/ul3")

    # Exchanges -----------------------------------------------------------------
    def test_exchange_lifecycle(self):
        body = {"type": "fanout", "durable": False, "auto_delete": False, "internal": False,
                "arguments": {}}
        self.assertEqual(self.status("PUT", "/api/exchanges/%2F/x1", body), 201)
        self.assertEqual(self.status("PUT", "/api/exchanges/%2F/x1", body), 204)
        self.assertError(400, "PUT", "/api/exchanges/%2F/x1", dict(body, type="direct"))
        x = self.api.ok("GET", "/api/exchanges/%2F/x1")
        self.assertEqual((x["name"], x["vhost"], x["type"], x["durable"]),
                         ("x1", "/", "fanout", False))
        names = [e["name"] for e in self.api.ok("GET", "/api/exchanges/%2F")]
        self.assertIn("", names)
        self.assertIn("amq.topic", names)
        self.assertEqual(self.api.ok("GET", "/api/exchanges/%2F/amq.default")["name"], "")
        self.assertError(400, "PUT", "/api/exchanges/%2F/x2", {"durable": True})
        self.assertError(400, "PUT", "/api/exchanges/%2F/x2", {"type": "no-such-type"})
        self.assertError(401, "PUT", "/api/exchanges/%2F/amq.mine", {"type": "direct"})
        self.assertEqual(self.status("DELETE", "/api/exchanges/%2F/x1"), 204)
        self.assertError(404, "GET", "/api/exchanges/%2F/x1")
        self.assertError(404, "DELETE", "/api/exchanges/%2F/x1")

    def test_delete_exchange_if_unused(self):
        self.api.ok("PUT", "/api/exchanges/%2F/x-used", {"type": "direct"})
        self.api.ok("PUT", "/api/queues/%2F/q-for-x-used", {})
        self.api.ok("POST", "/api/bindings/%2F/e/x-used/q/q-for-x-used", {"routing_key": "k"})
        self.assertError(400, "DELETE", "/api/exchanges/%2F/x-used?if-unused=true")
        self.assertEqual(self.status("DELETE", "/api/exchanges/%2F/x-used"), 204)
        self.api.ok("DELETE", "/api/queues/%2F/q-for-x-used")

    # Queues and messages ---------------------------------------------------------
    def test_queue_lifecycle(self):
        self.assertEqual(self.status("PUT", "/api/queues/%2F/q1",
                                     {"durable": True, "arguments": {"x-max-length": 10}}), 201)
        self.assertEqual(self.status("PUT", "/api/queues/%2F/q1",
                                     {"durable": True, "arguments": {"x-max-length": 10}}), 204)
        self.assertError(400, "PUT", "/api/queues/%2F/q1", {"durable": False})
        qq = self.api.ok("GET", "/api/queues/%2F/q1")
        for key, value in (("name", "q1"), ("vhost", "/"), ("durable", True),
                           ("auto_delete", False), ("exclusive", False),
                           ("arguments", {"x-max-length": 10}), ("messages", 0),
                           ("messages_ready", 0), ("messages_unacknowledged", 0),
                           ("consumers", 0), ("state", "running")):
            self.assertEqual(qq[key], value, key)
        for key in ("memory", "node", "message_bytes_ready", "policy", "message_stats"):
            self.assertIn(key, qq)
        self.assertIn("q1", [x["name"] for x in self.api.ok("GET", "/api/queues")])
        self.assertIn("q1", [x["name"] for x in self.api.ok("GET", "/api/queues/%2F")])
        self.assertEqual(self.status("DELETE", "/api/queues/%2F/q1"), 204)
        self.assertError(404, "GET", "/api/queues/%2F/q1")
        self.assertError(404, "DELETE", "/api/queues/%2F/q1")
        self.assertError(404, "GET", "/api/queues/no-such-vhost")
        self.assertError(400, "PUT", "/api/queues/%2F/q1", {"durable": "yes"})
        self.assertError(400, "PUT", "/api/queues/%2F/q1", {"arguments": {"x-max-length": "x"}})

    def test_queue_type_in_the_body_is_the_queue_type(self):
        # rabbit-hole (and so Terraform) sends "type"; "" when it is unset.
        body = {"type": "classic", "durable": True, "auto_delete": False, "arguments": {}}
        self.assertEqual(self.status("PUT", "/api/queues/%2F/typed-c", body), 201)
        self.assertEqual(self.status("PUT", "/api/queues/%2F/typed-c", body), 204)
        self.assertEqual(self.status("PUT", "/api/queues/%2F/typed-c", dict(body, type="")), 204)
        self.assertEqual(self.api.ok("GET", "/api/queues/%2F/typed-c")["arguments"], {})
        # "quorum" is x-queue-type: quorum, and a later declaration either way agrees.
        self.assertEqual(self.status("PUT", "/api/queues/%2F/typed-q",
                                     {"type": "quorum", "durable": True}), 201)
        self.assertEqual(self.api.ok("GET", "/api/queues/%2F/typed-q")["arguments"],
                         {"x-queue-type": "quorum"})
        self.assertEqual(self.status("PUT", "/api/queues/%2F/typed-q",
                                     {"durable": True, "arguments": {"x-queue-type": "quorum"}}),
                         204)
        self.assertEqual(self.status("PUT", "/api/queues/%2F/typed-q",
                                     {"type": "quorum", "durable": True,
                                      "arguments": {"x-queue-type": "quorum"}}), 204)
        self.assertError(400, "PUT", "/api/queues/%2F/typed-x",
                         {"type": "quorum", "arguments": {"x-queue-type": "classic"}})
        self.assertError(400, "PUT", "/api/queues/%2F/typed-x", {"type": 5})
        reason = self.assertError(400, "PUT", "/api/queues/%2F/typed-x",
                                  {"type": "stream", "durable": True})["reason"]
        self.assertIn("x-queue-type", reason)
        self.assertError(404, "GET", "/api/queues/%2F/typed-x")
        for name in ("typed-c", "typed-q"):
            self.api.ok("DELETE", "/api/queues/%2F/" + name)

    def publish(self, queue, payload, **extra):
        body = {"properties": {}, "routing_key": queue, "payload": payload,
                "payload_encoding": "string"}
        body.update(extra)
        return self.api.ok("POST", "/api/exchanges/%2F/amq.default/publish", body)

    def test_queue_actions_sync_and_cancel_sync(self):
        # A node alone mirrors nothing: the action names the queue and why
        # (the cluster tests sync mirrored queues through the same call).
        self.assertEqual(self.status("PUT", "/api/queues/%2F/plain", {}), 201)
        for action in ("sync", "cancel_sync"):
            data = self.assertError(400, "POST", "/api/queues/%2F/plain/actions",
                                    {"action": action})
            self.assertIn("queue 'plain' in vhost '/' is not mirrored", data["reason"])
        data = self.assertError(400, "POST", "/api/queues/%2F/plain/actions",
                                {"action": "purge"})
        self.assertIn('unknown action "purge"', data["reason"])
        self.assertError(400, "POST", "/api/queues/%2F/plain/actions", {})
        self.assertError(404, "POST", "/api/queues/%2F/nope/actions", {"action": "sync"})

    def test_publish_get_purge_and_delete_conditions(self):
        self.api.ok("PUT", "/api/queues/%2F/q2", {})
        self.assertEqual(self.publish("q2", "one"), {"routed": True})
        self.assertEqual(self.publish("q2", "two"), {"routed": True})
        qq = self.api.ok("GET", "/api/queues/%2F/q2")
        self.assertEqual((qq["messages"], qq["messages_ready"]), (2, 2))
        self.assertEqual(qq["message_stats"]["publish"], 2)
        get = {"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 50000}
        first = self.api.ok("POST", "/api/queues/%2F/q2/get", get)
        self.assertEqual([(m["payload"], m["redelivered"]) for m in first], [("one", False)])
        again = self.api.ok("POST", "/api/queues/%2F/q2/get", dict(get, count=5))
        self.assertEqual([(m["payload"], m["redelivered"]) for m in again],
                         [("one", True), ("two", False)])
        self.assertError(400, "DELETE", "/api/queues/%2F/q2?if-empty=true")
        self.assertEqual(self.status("DELETE", "/api/queues/%2F/q2/contents"), 204)
        self.assertEqual(self.api.ok("GET", "/api/queues/%2F/q2")["messages"], 0)
        self.assertEqual(self.status("DELETE", "/api/queues/%2F/q2?if-empty=true&if-unused=true"),
                         204)
        self.assertError(404, "DELETE", "/api/queues/%2F/q2/contents")

    def test_get_ackmodes(self):
        self.api.ok("PUT", "/api/queues/%2F/q-dead", {})
        self.api.ok("PUT", "/api/queues/%2F/q3",
                    {"arguments": {"x-dead-letter-exchange": "",
                                   "x-dead-letter-routing-key": "q-dead"}})
        for p in ("a", "b", "c"):
            self.publish("q3", p)
        get = {"count": 1, "encoding": "auto"}
        self.assertEqual(self.api.ok("POST", "/api/queues/%2F/q3/get",
                                     dict(get, ackmode="ack_requeue_false"))[0]["payload"], "a")
        self.assertEqual(self.api.ok("POST", "/api/queues/%2F/q3/get",
                                     dict(get, ackmode="reject_requeue_true"))[0]["payload"], "b")
        got = self.api.ok("POST", "/api/queues/%2F/q3/get",
                          dict(get, ackmode="reject_requeue_false"))
        self.assertEqual((got[0]["payload"], got[0]["redelivered"]), ("b", True))
        self.assertEqual(self.api.ok("GET", "/api/queues/%2F/q3")["messages"], 1)
        self.assertEqual(self.api.ok("GET", "/api/queues/%2F/q-dead")["messages"], 1)
        self.assertError(400, "POST", "/api/queues/%2F/q3/get", dict(get, ackmode="keep"))
        self.assertError(400, "POST", "/api/queues/%2F/q3/get", {"ackmode": "ack_requeue_true",
                                                                 "encoding": "auto"})
        self.assertError(400, "POST", "/api/queues/%2F/q3/get",
                         dict(get, ackmode="ack_requeue_true", encoding="hex"))
        self.assertError(404, "POST", "/api/queues/%2F/no-such-q/get",
                         dict(get, ackmode="ack_requeue_true"))
        for name in ("q3", "q-dead"):
            self.api.ok("DELETE", "/api/queues/%2F/" + name)

    def test_publish_properties_encodings_and_truncation(self):
        self.api.ok("PUT", "/api/queues/%2F/q4", {})
        body = base64.b64encode(b"\x00\xffbinary").decode()
        props = {"content_type": "application/octet-stream", "delivery_mode": 2,
                 "priority": 3, "headers": {"h": "v", "n": 1}, "message_id": "m1"}
        self.assertEqual(self.publish("q4", body, payload_encoding="base64", properties=props),
                         {"routed": True})
        self.publish("q4", "a long text payload")
        get = {"count": 2, "ackmode": "ack_requeue_false", "encoding": "auto", "truncate": 6}
        binary, text = self.api.ok("POST", "/api/queues/%2F/q4/get", get)
        self.assertEqual(binary["payload_encoding"], "base64")
        self.assertEqual(base64.b64decode(binary["payload"]), b"\x00\xffbina")
        self.assertEqual(binary["payload_bytes"], 8)
        self.assertEqual(binary["properties"], props)
        self.assertEqual((text["payload"], text["payload_encoding"], text["payload_bytes"]),
                         ("a long", "string", 19))
        self.assertEqual((text["exchange"], text["routing_key"], text["message_count"]),
                         ("", "q4", 0))
        self.publish("q4", "plain")
        got = self.api.ok("POST", "/api/queues/%2F/q4/get",
                          {"count": 1, "ackmode": "ack_requeue_false", "encoding": "base64"})
        self.assertEqual(got[0]["payload"], base64.b64encode(b"plain").decode())
        self.assertEqual(self.publish("nowhere", "x"), {"routed": False})
        bad = {"properties": {}, "routing_key": "q4", "payload": "x",
               "payload_encoding": "string"}
        self.assertError(404, "POST", "/api/exchanges/%2F/no-such-x/publish", bad)
        self.assertError(400, "POST", "/api/exchanges/%2F/amq.default/publish",
                         dict(bad, payload_encoding="rot13"))
        self.assertError(400, "POST", "/api/exchanges/%2F/amq.default/publish",
                         dict(bad, properties={"colour": "red"}))
        self.assertError(400, "POST", "/api/exchanges/%2F/amq.default/publish",
                         {"routing_key": "q4", "payload": "x"})
        self.api.ok("DELETE", "/api/queues/%2F/q4")

    # Bindings ------------------------------------------------------------------
    def test_bindings(self):
        self.api.ok("PUT", "/api/exchanges/%2F/bx", {"type": "topic"})
        self.api.ok("PUT", "/api/exchanges/%2F/bx2", {"type": "fanout"})
        self.api.ok("PUT", "/api/queues/%2F/bq", {})
        status, _, headers = self.api.request("POST", "/api/bindings/%2F/e/bx/q/bq",
                                              {"routing_key": "a.*", "arguments": {}})
        self.assertEqual(status, 201)
        self.assertEqual(headers["Location"], "/api/bindings/%2F/e/bx/q/bq/a.%252A")
        between = self.api.ok("GET", "/api/bindings/%2F/e/bx/q/bq")
        self.assertEqual(between, [{"source": "bx", "vhost": "/", "destination": "bq",
                                    "destination_type": "queue", "routing_key": "a.*",
                                    "arguments": {}, "properties_key": "a.%2A"}])
        self.assertEqual(self.api.ok("GET", headers["Location"]), between[0])
        self.assertEqual(self.publish_to("bx", "a.b"), {"routed": True})
        with_args = self.api.request("POST", "/api/bindings/%2F/e/bx/q/bq",
                                     {"routing_key": "k", "arguments": {"x": 1}})[2]["Location"]
        self.assertRegex(with_args, r"/k~[A-Za-z0-9_-]{6}$")
        keys = [b["routing_key"] for b in self.api.ok("GET", "/api/queues/%2F/bq/bindings")]
        self.assertEqual(sorted(keys), ["a.*", "bq", "k"])
        self.api.ok("POST", "/api/bindings/%2F/e/bx/e/bx2", {"routing_key": "#"})
        self.assertEqual([b["destination"] for b in
                          self.api.ok("GET", "/api/exchanges/%2F/bx/bindings/source")],
                         ["bq", "bq", "bx2"])
        self.assertEqual([b["source"] for b in
                          self.api.ok("GET", "/api/exchanges/%2F/bx2/bindings/destination")],
                         ["bx"])
        self.assertEqual(len(self.api.ok("GET", "/api/bindings/%2F/e/bx/e/bx2")), 1)
        self.assertIn("bx", [b["source"] for b in self.api.ok("GET", "/api/bindings")])
        self.assertIn("bx", [b["source"] for b in self.api.ok("GET", "/api/bindings/%2F")])
        self.assertEqual(self.status("DELETE", "/api/bindings/%2F/e/bx/q/bq/a.%252A"), 204)
        self.assertEqual(self.status("DELETE", with_args), 204)
        e2e = self.api.ok("GET", "/api/bindings/%2F/e/bx/e/bx2")[0]["properties_key"]
        self.assertEqual(e2e, "%23")
        self.assertEqual(self.status("DELETE", "/api/bindings/%2F/e/bx/e/bx2/" + q(e2e)), 204)
        self.assertError(404, "GET", "/api/bindings/%2F/e/bx/q/bq/a.%252A")
        self.assertError(404, "DELETE", "/api/bindings/%2F/e/bx/q/bq/a.%252A")
        self.assertError(404, "POST", "/api/bindings/%2F/e/no-such-x/q/bq", {})
        self.assertError(400, "POST", "/api/bindings/%2F/e/bx/q/bq", {"routing_key": 7})
        self.assertError(404, "GET", "/api/queues/%2F/no-such-q/bindings")
        self.assertError(404, "GET", "/api/exchanges/%2F/no-such-x/bindings/source")
        for path in ("/api/queues/%2F/bq", "/api/exchanges/%2F/bx", "/api/exchanges/%2F/bx2"):
            self.api.ok("DELETE", path)

    def publish_to(self, exchange, key):
        return self.api.ok("POST", "/api/exchanges/%2F/" + exchange + "/publish",
                           {"properties": {}, "routing_key": key, "payload": "p",
                            "payload_encoding": "string"})

    # Policies and definitions ------------------------------------------------------
    def test_policies(self):
        body = {"pattern": "^pol-", "definition": {"max-length": 5}, "priority": 1,
                "apply-to": "queues"}
        self.assertEqual(self.status("PUT", "/api/policies/%2F/p1", body), 201)
        self.assertEqual(self.status("PUT", "/api/policies/%2F/p1", body), 204)
        self.assertEqual(self.api.ok("GET", "/api/policies/%2F/p1"),
                         dict(body, vhost="/", name="p1"))
        self.assertIn("p1", [p["name"] for p in self.api.ok("GET", "/api/policies")])
        self.assertIn("p1", [p["name"] for p in self.api.ok("GET", "/api/policies/%2F")])
        self.api.ok("PUT", "/api/queues/%2F/pol-q", {})
        self.assertEqual(self.api.ok("GET", "/api/queues/%2F/pol-q")["policy"], "p1")
        self.assertError(400, "PUT", "/api/policies/%2F/p2", {"pattern": ".*",
                                                              "definition": "max-length"})
        self.assertError(400, "PUT", "/api/policies/%2F/p2", {"definition": {}})
        self.assertError(400, "PUT", "/api/policies/%2F/p2",
                         {"pattern": ".*", "definition": {"no-such-key": 1}})
        self.assertEqual(self.status("DELETE", "/api/policies/%2F/p1"), 204)
        self.assertError(404, "GET", "/api/policies/%2F/p1")
        self.assertError(404, "DELETE", "/api/policies/%2F/p1")
        self.api.ok("DELETE", "/api/queues/%2F/pol-q")

    def test_definitions_round_trip(self):
        d = self.api.ok("GET", "/api/definitions")
        for key in ("users", "vhosts", "permissions", "queues", "exchanges", "bindings"):
            self.assertIn(key, d)
        new = {"queues": [{"name": "from-defs", "vhost": "/", "durable": True,
                           "auto_delete": False, "arguments": {}}]}
        self.assertEqual(self.status("POST", "/api/definitions", new), 204)
        self.assertTrue(self.api.ok("GET", "/api/queues/%2F/from-defs")["durable"])
        self.assertError(400, "POST", "/api/definitions", raw="{oops")
        self.assertError(401, "GET", "/api/definitions", user="monitor", password="monitor")
        self.api.ok("DELETE", "/api/queues/%2F/from-defs")

    # Connections, channels, consumers ---------------------------------------------------
    def test_connections_channels_consumers_and_close(self):
        conn = pika.BlockingConnection(pika.ConnectionParameters(
            self.broker.host, self.broker.port, "/", pika.PlainCredentials("guest", "guest"),
            heartbeat=0, client_properties={"connection_name": "api-test"}))
        try:
            ch = conn.channel()
            ch.queue_declare("cq")
            tag = ch.basic_consume("cq", lambda *a: None)
            conns = mgmt.wait_for(
                lambda: [c for c in self.api.ok("GET", "/api/connections")
                         if c.get("user_provided_name") == "api-test"], "connection listed")
            name = conns[0]["name"]
            self.assertEqual((conns[0]["user"], conns[0]["vhost"], conns[0]["protocol"]),
                             ("guest", "/", "AMQP 0-9-1"))
            c = conns[0]
            self.assertEqual((c["host"], c["port"]), (self.broker.host, self.broker.port))
            self.assertEqual(c["peer_host"], "127.0.0.1")
            self.assertEqual(c["auth_mechanism"], "PLAIN")
            # pika asks for 65535 channels; the node's limit (2047) is what holds.
            self.assertEqual(c["channel_max"], 2047)
            self.assertFalse(c["ssl"])
            for key in ("ssl_protocol", "ssl_key_exchange", "ssl_cipher", "ssl_hash",
                        "peer_cert_subject", "peer_cert_issuer", "peer_cert_validity"):
                self.assertIsNone(c[key], key)
            # Milliseconds since the epoch (2020 onwards).
            self.assertGreater(c["connected_at"], 1577836800000)
            self.assertEqual([x["name"] for x in self.api.ok("GET", "/api/vhosts/%2F/connections")
                              if x["name"] == name], [name])
            self.assertEqual(self.api.ok("GET", "/api/vhosts/other/connections"), [])
            self.assertError(404, "GET", "/api/vhosts/no-such-vhost/connections")
            self.assertIn(name, [x["connection_details"]["name"]
                                 for x in self.api.ok("GET", "/api/vhosts/%2F/channels")])
            self.assertEqual(self.api.ok("GET", "/api/vhosts/other/channels"), [])
            self.assertError(404, "GET", "/api/vhosts/no-such-vhost/channels")
            self.assertIn(name, [x["name"] for x in
                                 self.api.ok("GET", "/api/connections/username/guest")])
            self.assertEqual(self.api.ok("GET", "/api/connections/username/nobody"), [])
            self.assertEqual(self.api.ok("GET", "/api/connections/" + q(name))["name"], name)
            ch.basic_publish("", "cq", b"counted")  # to its own consumer, unacked
            path = "/api/connections/" + q(name) + "/channels"
            chans = mgmt.wait_for(
                lambda: (lambda cs: cs if cs[0]["message_stats"]["deliver"] == 1 else None)(
                    self.api.ok("GET", path)), "the delivery counted on the channel")
            self.assertEqual([c["number"] for c in chans], [1])
            self.assertEqual(chans[0]["consumer_count"], 1)
            self.assertEqual(chans[0]["messages_unacknowledged"], 1)
            stats = chans[0]["message_stats"]
            self.assertEqual((stats["publish"], stats["deliver_get"], stats["ack"],
                              stats["deliver_no_ack"]), (1, 1, 0, 0))
            self.assertIn(chans[0]["name"],
                          [c["name"] for c in self.api.ok("GET", "/api/channels")])
            consumers = self.api.ok("GET", "/api/consumers/%2F")
            mine = [c for c in consumers if c["consumer_tag"] == tag]
            self.assertEqual(mine[0]["queue"], {"name": "cq", "vhost": "/"})
            self.assertEqual(mine[0]["channel_details"]["connection_name"], name)
            self.assertIn(tag, [c["consumer_tag"] for c in self.api.ok("GET", "/api/consumers")])
            self.assertEqual(self.api.ok("GET", "/api/queues/%2F/cq")["consumers"], 1)
            self.assertEqual(self.status("DELETE", "/api/connections/" + q(name),
                                         headers={"X-Reason": "closed by test"}), 204)
            with self.assertRaises(pika.exceptions.ConnectionClosedByBroker) as closed:
                conn.process_data_events(time_limit=5)
                conn.process_data_events(time_limit=5)
            self.assertIn("closed by test", str(closed.exception))
            mgmt.wait_for(lambda: all(c["name"] != name
                                      for c in self.api.ok("GET", "/api/connections")),
                          "connection gone")
        finally:
            if conn.is_open:
                conn.close()
        self.close_a_users_connections()
        self.assertError(404, "GET", "/api/connections/no-such-connection")
        self.assertError(404, "DELETE", "/api/connections/no-such-connection")
        self.assertError(404, "GET", "/api/connections/no-such-connection/channels")
        self.api.ok("DELETE", "/api/queues/%2F/cq")

    # RabbitMQ's answers on every route ----------------------------------------------
    def test_not_found_is_rabbitmqs_object_not_found(self):
        expected = {"error": "Object Not Found", "reason": "Not Found"}
        for method, path in (("GET", "/api/no-such-thing"), ("GET", "/api/queues/%2F/nope"),
                             ("DELETE", "/api/queues/%2F/nope"), ("GET", "/api/vhosts/nope"),
                             ("DELETE", "/api/users/nope")):
            status, data, _ = self.api.request(method, path)
            self.assertEqual((status, data), (404, expected), path)
        # A write into what does not exist keeps the reason saying what.
        status, data, _ = self.api.request("PUT", "/api/queues/no-such-vhost/q", {})
        self.assertEqual((status, data["error"]), (404, "not_found"))

    def test_head_on_every_get_route(self):
        for path in ("/api/overview", "/api/queues", "/api/vhosts/%2F", "/api/whoami",
                     "/api/health/checks/alarms"):
            get_status, body, get_headers = self.api.request("GET", path)
            status, data, headers = self.api.request("HEAD", path)
            self.assertEqual((status, data), (get_status, None), path)
            self.assertEqual(headers["Content-Type"], get_headers["Content-Type"])
        self.assertEqual(self.api.request("HEAD", "/api/queues/%2F/nope")[0], 404)
        self.assertEqual(self.api.request("HEAD", "/api/whoami", password="wrong")[0], 401)
        self.assertEqual(self.status("HEAD", "/api/definitions/%2F/nope"), 404)

    def test_columns_and_disable_stats_on_every_route(self):
        self.api.ok("PUT", "/api/queues/%2F/shaped", {"durable": True})
        self.assertEqual(self.api.ok("GET", "/api/queues/%2F/shaped?columns=name,durable"),
                         {"name": "shaped", "durable": True})
        overview = self.api.ok("GET", "/api/overview?columns=object_totals.queues,node")
        self.assertEqual(set(overview), {"object_totals", "node"})
        self.assertEqual(set(overview["object_totals"]), {"queues"})
        paged = self.api.ok("GET", "/api/queues/%2F?page=1&name=shaped&columns=name")
        self.assertEqual(paged["items"], [{"name": "shaped"}])
        self.assertEqual(paged["item_count"], 1)
        one = self.api.ok("GET", "/api/queues/%2F/shaped?disable_stats=true")
        self.assertNotIn("message_stats", one)
        self.assertEqual(one["name"], "shaped")
        self.assertTrue(all("message_stats" not in x for x in
                            self.api.ok("GET", "/api/queues?disable_stats=true")))
        self.assertNotIn("message_stats", self.api.ok("GET", "/api/overview?disable_stats=true"))
        self.assertIn("message_stats", self.api.ok("GET", "/api/queues/%2F/shaped"))
        self.api.ok("DELETE", "/api/queues/%2F/shaped")

    def close_a_users_connections(self):
        conns = [pika.BlockingConnection(pika.ConnectionParameters(
            self.broker.host, self.broker.port, "/", pika.PlainCredentials("admin", "123456"),
            heartbeat=0)) for _ in range(2)]
        try:
            mgmt.wait_for(lambda: len(self.api.ok("GET", "/api/connections/username/admin")) == 2,
                          "both listed")
            self.assertEqual(self.status("DELETE", "/api/connections/username/admin",
                                         headers={"X-Reason": "all of admin's"}), 204)
            for c in conns:
                with self.assertRaises(pika.exceptions.ConnectionClosedByBroker) as closed:
                    c.process_data_events(time_limit=5)
                    c.process_data_events(time_limit=5)
                self.assertIn("all of admin's", str(closed.exception))
            self.assertEqual(self.status("DELETE", "/api/connections/username/admin"), 204)
        finally:
            for c in conns:
                if c.is_open:
                    c.close()

    def test_overview_exchange_types_and_rates_mode(self):
        o = self.api.ok("GET", "/api/overview")
        self.assertEqual(sorted(t["name"] for t in o["exchange_types"]),
                         ["direct", "fanout", "headers", "topic"])
        self.assertTrue(all(t["enabled"] and t["description"] for t in o["exchange_types"]))
        self.assertEqual(o["rates_mode"], "basic")  # warren-mgmt samples (test_rates.py)

    # List parameters ------------------------------------------------------------
    def test_paging_filtering_sorting_columns(self):
        for i in range(7):
            self.api.ok("PUT", "/api/queues/%2F/page-" + str(i), {})
        page = self.api.ok("GET", "/api/queues/%2F?page=2&page_size=3&name=page-&sort=name")
        self.assertEqual(set(page), {"filtered_count", "item_count", "items", "page",
                                     "page_count", "page_size", "total_count"})
        self.assertEqual((page["filtered_count"], page["item_count"], page["page"],
                          page["page_count"], page["page_size"]), (7, 3, 2, 3, 3))
        self.assertGreaterEqual(page["total_count"], 7)
        self.assertEqual([x["name"] for x in page["items"]], ["page-3", "page-4", "page-5"])
        rev = self.api.ok("GET", "/api/queues/%2F?name=page-&sort=name&sort_reverse=true")
        self.assertEqual([x["name"] for x in rev][:2], ["page-6", "page-5"])
        regex = self.api.ok("GET", "/api/queues/%2F?name=%5Epage-%5B12%5D%24&use_regex=true")
        self.assertEqual(sorted(x["name"] for x in regex), ["page-1", "page-2"])
        cols = self.api.ok("GET", "/api/queues/%2F?name=page-0&columns=name,message_stats.ack")
        self.assertEqual(cols, [{"name": "page-0", "message_stats": {"ack": 0}}])
        for bad in ("page=1&page_size=501", "page=0", "page=99&page_size=3&name=page-",
                    "page=x", "name=(&use_regex=true"):
            self.assertError(400, "GET", "/api/queues/%2F?" + bad)
        self.assertEqual(self.api.ok("GET", "/api/queues?page=1&page_size=500")["page_size"], 500)
        for i in range(7):
            self.api.ok("DELETE", "/api/queues/%2F/page-" + str(i))


if __name__ == "__main__":
    mgmt.harness.main()
