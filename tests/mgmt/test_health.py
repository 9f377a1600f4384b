"""warren-mgmt's health checks and node settings against one node, as
RabbitMQ 3.13's API answers them: /api/health/checks/*, /api/healthchecks/node,
/api/feature-flags, /api/auth, /api/cluster-name (as first set). A
check that passes is 200 {"status": "ok"}; one that fails is 503 with
{"status": "failed", "reason": ...} and what failed."""
import mgmt
from mgmt import q


class HealthTest(mgmt.NodeAndMgmt):
    def check(self, path, **kw):
        status, data, _ = self.api.request("GET", "/api/health/checks/" + path, **kw)
        return status, data

    def status_of_node(self):
        return self.api.ok("GET", "/api/nodes")[0]["name"]

    def test_alarms_local_alarms_and_virtual_hosts_pass(self):
        for path in ("alarms", "local-alarms", "virtual-hosts"):
            self.assertEqual(self.check(path), (200, {"status": "ok"}), path)

    def test_single_node_is_critical_for_nothing(self):
        for path in ("node-is-quorum-critical", "node-is-mirror-sync-critical"):
            self.assertEqual(self.check(path),
                             (200, {"status": "ok", "reason": "single node cluster"}), path)

    def test_port_listener(self):
        self.assertEqual(self.check("port-listener/%d" % self.broker.port),
                         (200, {"status": "ok", "port": self.broker.port}))
        self.assertEqual(self.check("port-listener/%d" % self.broker.grpc_port)[0], 200)
        status, data = self.check("port-listener/1")
        self.assertEqual(status, 503)
        self.assertEqual((data["status"], data["reason"], data["missing"]),
                         ("failed", "No active listener", 1))
        self.assertEqual(sorted(data["ports"]), sorted([self.broker.port, self.broker.grpc_port]))
        for bad in ("http", "99999999", "-1"):
            status, data = self.check("port-listener/" + bad)
            self.assertEqual((status, data["error"]), (400, "bad_request"), bad)

    def test_protocol_listener(self):
        for name in ("amqp", "amqp091", "AMQP0-9-1", "grpc"):
            status, data = self.check("protocol-listener/" + name)
            self.assertEqual((status, data["status"]), (200, "ok"), name)
        self.assertEqual(self.check("protocol-listener/amqp0-9-1")[1]["protocol"], "amqp")
        status, data = self.check("protocol-listener/amqps")
        self.assertEqual(status, 503)
        self.assertEqual((data["status"], data["missing"]), ("failed", "amqp/ssl"))
        self.assertIn("amqp", data["protocols"])
        self.assertEqual(self.check("protocol-listener/mqtt")[0], 503)

    def test_healthchecks_node(self):
        node = self.status_of_node()
        self.assertEqual(self.api.ok("GET", "/api/healthchecks/node"), {"status": "ok"})
        self.assertEqual(self.api.ok("GET", "/api/healthchecks/node/" + q(node)),
                         {"status": "ok"})
        status, data, _ = self.api.request("GET", "/api/healthchecks/node/nobody%40nowhere")
        self.assertEqual(status, 404)
        self.assertEqual(self.api.request("HEAD", "/api/healthchecks/node")[0], 200)

    def test_checks_need_credentials_and_a_management_tag(self):
        status, data, _ = self.api.request("GET", "/api/health/checks/local-alarms", user=None)
        self.assertEqual(status, 401)
        status, data, _ = self.api.request("GET", "/api/healthchecks/node", user="limited",
                                           password="limited")
        self.assertEqual((status, data["error"]), (401, "not_authorised"))

    def test_feature_flags(self):
        self.assertEqual(self.api.ok("GET", "/api/feature-flags"), [])
        status, data, _ = self.api.request("PUT", "/api/feature-flags/quorum_queue/enable", {})
        self.assertEqual(status, 400)
        self.assertIn("quorum_queue", data["reason"])

    def test_auth_answers_without_credentials(self):
        for user in (None, "guest"):
            status, data, _ = self.api.request("GET", "/api/auth", user=user)
            self.assertEqual((status, data), (200, {"oauth_enabled": False}))

    def test_the_cluster_name_is_at_first_the_nodes(self):
        # Changed through the API in test_parameters.py.
        node = self.api.ok("GET", "/api/overview")["node"]
        self.assertEqual(self.api.ok("GET", "/api/overview")["cluster_name"], node)
        self.assertEqual(self.api.ok("GET", "/api/cluster-name"), {"name": node})
        self.assertEqual(self.api.ok("GET", "/api/global-parameters/cluster_name"),
                         {"name": "cluster_name", "value": node})
        status, data, _ = self.api.request("GET", "/api/global-parameters/nope")
        self.assertEqual((status, data), (404, {"error": "Object Not Found", "reason": "Not Found"}))

if __name__ == "__main__":
    mgmt.harness.main()
