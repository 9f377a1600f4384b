"""The management API driven exactly as RabbitMQ's documentation and
rabbitmqadmin drive it: the same paths, bodies and query strings, and the
response shapes those tools read."""
import mgmt

# What RabbitMQ 3.13 answers for one message of POST /api/queues/.../get.
GET_KEYS = {"payload_bytes", "redelivered", "exchange", "routing_key", "message_count",
            "properties", "payload", "payload_encoding"}
PAGE_KEYS = {"filtered_count", "item_count", "items", "page", "page_count", "page_size",
             "total_count"}


class CompatibilityTest(mgmt.NodeAndMgmt):
    definitions = mgmt.harness.DEFINITIONS

    def call(self, method, path, body=None):
        status, data, headers = self.api.request(method, path, body)
        if data is not None:
            self.assertTrue(headers["Content-Type"].startswith("application/json"), path)
        return status, data

    def test_declare_publish_get_list_delete(self):
        # rabbitmqadmin declare queue name=q durable=true
        status, data = self.call("PUT", "/api/queues/%2F/q",
                                 {"durable": True, "auto_delete": False, "arguments": {}})
        self.assertEqual((status, data), (201, None))
        status, _ = self.call("PUT", "/api/queues/%2F/q",
                              {"durable": True, "auto_delete": False, "arguments": {}})
        self.assertEqual(status, 204)

        # rabbitmqadmin publish routing_key=q payload=hello
        status, data = self.call("POST", "/api/exchanges/%2F/amq.default/publish",
                                 {"properties": {}, "routing_key": "q", "payload": "hello",
                                  "payload_encoding": "string"})
        self.assertEqual((status, data), (200, {"routed": True}))

        # rabbitmqadmin list queues (its columns) and the UI's paged listing
        status, rows = self.call("GET", "/api/queues?columns=vhost,name,messages,durable")
        self.assertEqual(status, 200)
        self.assertIn({"vhost": "/", "name": "q", "messages": 1, "durable": True}, rows)
        status, page = self.call("GET", "/api/queues?page=1&page_size=100&name=&use_regex=false")
        self.assertEqual(set(page), PAGE_KEYS)
        self.assertEqual(page["items"][0]["name"], "q")

        # rabbitmqadmin get queue=q ackmode=ack_requeue_false
        status, msgs = self.call("POST", "/api/queues/%2F/q/get",
                                 {"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto",
                                  "truncate": 50000})
        self.assertEqual(status, 200)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(set(msgs[0]), GET_KEYS)
        self.assertEqual(msgs[0], {"payload_bytes": 5, "redelivered": False, "exchange": "",
                                   "routing_key": "q", "message_count": 0, "properties": [],
                                   "payload": "hello", "payload_encoding": "string"})
        status, q = self.call("GET", "/api/queues/%2F/q")
        self.assertEqual((q["messages"], q["message_stats"]["ack"]), (0, 1))

        # rabbitmqadmin delete queue name=q
        self.assertEqual(self.call("DELETE", "/api/queues/%2F/q")[0], 204)
        status, data = self.call("GET", "/api/queues/%2F/q")
        self.assertEqual(status, 404)
        self.assertEqual(set(data), {"error", "reason"})

    def test_rabbitmqadmin_sends_booleans_and_counts_as_strings(self):
        status, _ = self.call("PUT", "/api/queues/%2F/q-str",
                              {"durable": "true", "auto_delete": "false", "arguments": {},
                               "node": None})
        self.assertEqual(status, 201)
        self.assertTrue(self.call("GET", "/api/queues/%2F/q-str")[1]["durable"])
        status, msgs = self.call("POST", "/api/queues/%2F/q-str/get",
                                 {"count": "1", "ackmode": "ack_requeue_true",
                                  "encoding": "auto"})
        self.assertEqual((status, msgs), (200, []))
        self.assertEqual(self.call("DELETE", "/api/queues/%2F/q-str")[0], 204)

    def test_exchange_and_binding_as_documented(self):
        self.assertEqual(self.call("PUT", "/api/exchanges/%2F/my-exchange",
                                   {"type": "direct", "auto_delete": False, "durable": True,
                                    "internal": False, "arguments": {}})[0], 201)
        self.call("PUT", "/api/queues/%2F/my-queue", {"durable": True})
        status, data, headers = self.api.request(
            "POST", "/api/bindings/%2F/e/my-exchange/q/my-queue",
            {"routing_key": "my_routing_key", "arguments": {}})
        self.assertEqual(status, 201)
        self.assertTrue(headers["Location"].endswith("/my_routing_key"))
        status, bindings = self.call("GET", "/api/bindings/%2F/e/my-exchange/q/my-queue")
        self.assertEqual(bindings, [{"source": "my-exchange", "vhost": "/",
                                     "destination": "my-queue", "destination_type": "queue",
                                     "routing_key": "my_routing_key", "arguments": {},
                                     "properties_key": "my_routing_key"}])
        status, data = self.call("POST", "/api/exchanges/%2F/my-exchange/publish",
                                 {"properties": {"delivery_mode": 2}, "routing_key":
                                  "my_routing_key", "payload": "hi", "payload_encoding": "string"})
        self.assertEqual(data, {"routed": True})
        self.assertEqual(self.call("DELETE", "/api/bindings/%2F/e/my-exchange/q/my-queue/"
                                             "my_routing_key")[0], 204)
        self.assertEqual(self.call("DELETE", "/api/exchanges/%2F/my-exchange")[0], 204)
        self.assertEqual(self.call("DELETE", "/api/queues/%2F/my-queue")[0], 204)

    def test_overview_vhosts_and_users_shapes(self):
        status, o = self.call("GET", "/api/overview")
        for key in ("rabbitmq_version", "cluster_name", "node"):
            self.assertIsInstance(o[key], str)
        for key in ("messages", "messages_ready", "messages_unacknowledged"):
            self.assertIsInstance(o["queue_totals"][key], int)
        for key in ("connections", "channels", "exchanges", "queues", "consumers"):
            self.assertIsInstance(o["object_totals"][key], int)
        status, vhosts = self.call("GET", "/api/vhosts")
        self.assertIn("/", [v["name"] for v in vhosts])
        status, users = self.call("GET", "/api/users")
        guest = [u for u in users if u["name"] == "guest"][0]
        self.assertEqual(guest["tags"], ["administrator"])
        self.assertEqual(self.call("GET", "/api/whoami")[1],
                         {"name": "guest", "tags": ["administrator"]})
        # curl -i -u guest:guest -H "content-type:application/json" -XPUT
        #   -d'{"password":"secret","tags":"administrator"}' .../api/users/bob
        self.assertEqual(self.call("PUT", "/api/users/bob",
                                   {"password": "secret", "tags": "administrator"})[0], 201)
        self.assertEqual(self.call("PUT", "/api/permissions/%2F/bob",
                                   {"configure": ".*", "write": ".*", "read": ".*"})[0], 201)
        self.assertEqual(self.call("DELETE", "/api/users/bob")[0], 204)


if __name__ == "__main__":
    mgmt.harness.main()
