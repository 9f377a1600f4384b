"""Runs the pods of rendered Kubernetes manifests as Docker containers, as far
as a chart's wiring goes (tests/e2e/test_chart.py): what a kubelet and the
cluster's DNS would give each container, taken from the manifests alone.

- Pods: a StatefulSet's (NAME-0 ... NAME-N-1), a Deployment's (NAME-0 ...;
  the replica count of each), and a lone Pod's. A pod is a sandbox
  container (Kubernetes' pause container: `sleep infinity` in the pod's
  first image, as no pause image can be pulled here) that holds the pod's
  network and IPC namespaces, its hostname, its DNS names and its published
  ports, and every container of the pod spec, in order, joined to them
  (--network/--ipc container:SANDBOX): the containers of a pod reach each
  other on 127.0.0.1, and each of its containerPorts is the pod's.
- Image, command and args (command replaces the image's ENTRYPOINT, args its
  CMD), env with $(VAR) expansion and valueFrom secretKeyRef,
  configMapKeyRef and fieldRef (metadata.name, metadata.namespace).
- Volumes: configMap and secret files written to a temporary folder in the
  kubelet's layout (KEY -> ..data/KEY -> ..TIMESTAMP/KEY, items, defaultMode
  and mode, the fsGroup's group owning them with g+r as the kubelet does),
  bind-mounted read-only; emptyDir as a tmpfs volume per pod (shared by its
  containers); a volumeClaimTemplate as a named volume per pod.
- securityContext: runAsUser/Group (--user), fsGroup (--group-add),
  readOnlyRootFilesystem (--read-only), capabilities.drop, no-new-privileges;
  limits.memory (--memory).
- Names: every container on one user-defined network; a StatefulSet pod is
  POD.SERVICE.NAMESPACE.svc.DOMAIN for its serviceName, and each Service's
  names (NAME, NAME.NAMESPACE, NAME.NAMESPACE.svc, NAME.NAMESPACE.svc.DOMAIN)
  lead to the pods its selector matches. Docker's aliases cannot map ports,
  so a Service whose port differs from its target is refused. Unlike a
  Service, an alias also leads to pods that are not ready.
- Probes, per container: exec runs through `docker exec`, tcpSocket as a
  connection from inside the container to 127.0.0.1 (bash's /dev/tcp); a
  pod passes when every container with such a probe passes.

Every container, volume and the network carry the caller's prefix; remove()
takes them all away."""
import base64
import os
import re
import shutil
import tempfile
import time

from docker_engine import docker

QUANTITY = {"Ki": "k", "Mi": "m", "Gi": "g", "Ti": "t"}


def expand(text, env):
    """Kubernetes' $(VAR) expansion: VAR defined earlier in the container's
    env; $$ stands for $; an unknown $(VAR) stays as it is."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, text)


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


class Pod:
    def __init__(self, name, spec, labels, kind, owner=None):
        self.name = name
        self.spec = spec
        self.labels = labels
        self.kind = kind          # StatefulSet, Deployment or Pod
        self.owner = owner        # the StatefulSet or Deployment
        self.sandbox = None       # Docker's name of the sandbox, once started
        self.containers = {}      # container name -> Docker's name, once started
        self.aliases = []

    @property
    def main(self):
        return self.spec["containers"][0]

    def container(self, name):
        """The pod spec's container called `name`."""
        for c in self.spec["containers"]:
            if c["name"] == name:
                return c
        raise KeyError("%s has no container %s" % (self.name, name))


class Kubelet:
    def __init__(self, manifests, prefix, namespace, cluster_domain="cluster.local"):
        self.docs = manifests
        self.prefix = prefix
        self.namespace = namespace
        self.domain = cluster_domain
        self.network = prefix + "-net"
        self.files = tempfile.mkdtemp(prefix=prefix + "-")
        self.volumes = []
        self.started = []
        self.network_made = False
        self.pods = self._pods()
        self._assign_names()

    # ---- reading the manifests ------------------------------------------------

    def kind(self, kind):
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind, name):
        for d in self.kind(kind):
            if d["metadata"]["name"] == name:
                return d
        raise KeyError("no %s %s in the manifests" % (kind, name))

    def _pods(self):
        pods = []
        for kind in ("StatefulSet", "Deployment"):
            for d in self.kind(kind):
                template = d["spec"]["template"]
                for i in range(d["spec"].get("replicas", 1)):
                    pods.append(Pod("%s-%d" % (d["metadata"]["name"], i), template["spec"],
                                    template["metadata"].get("labels", {}), kind, d))
        for d in self.kind("Pod"):
            pods.append(Pod(d["metadata"]["name"], d["spec"], d["metadata"].get("labels", {}),
                            "Pod", d))
        return pods

    def pods_of(self, kind, name):
        return [p for p in self.pods if p.kind == kind and p.owner["metadata"]["name"] == name]

    def pod(self, name):
        return next(p for p in self.pods if p.name == name)

    def _assign_names(self):
        for pod in self.pods:
            if pod.kind == "StatefulSet":
                service = pod.owner["spec"]["serviceName"]
                pod.aliases.append("%s.%s.%s.svc.%s" % (pod.name, service, self.namespace,
                                                        self.domain))
        for svc in self.kind("Service"):
            name = svc["metadata"]["name"]
            targets = [p for p in self.pods if matches(svc["spec"].get("selector"), p.labels)]
            for p in targets:
                for port in svc["spec"]["ports"]:
                    target = self._container_port(p, port.get("targetPort", port["port"]))
                    if target != port["port"]:
                        raise ValueError("Service %s: port %d leads to %s's %s; Docker's aliases "
                                         "cannot map ports" % (name, port["port"], p.name, target))
                p.aliases += [name, "%s.%s" % (name, self.namespace),
                              "%s.%s.svc" % (name, self.namespace),
                              "%s.%s.svc.%s" % (name, self.namespace, self.domain)]

    @staticmethod
    def _container_port(pod, port, container=None):
        """A port by number or name: a probe's names its own container's
        port, a Service's any container's of the pod."""
        if isinstance(port, int):
            return port
        for c in [container] if container else pod.spec["containers"]:
            for p in c.get("ports", []):
                if p.get("name") == port:
                    return p["containerPort"]
        raise ValueError("%s has no port named %s" % (pod.name, port))

    # ---- what the kubelet gives a container -----------------------------------

    def env(self, pod, container=None):
        """The environment of one container (the pod's first by default)."""
        env = {}
        for e in (container or pod.main).get("env", []):
            if "value" in e:
                env[e["name"]] = expand(e["value"], env)
            elif "valueFrom" in e:
                env[e["name"]] = self._value_from(pod, e["valueFrom"])
            else:
                env[e["name"]] = ""
        return env

    def _value_from(self, pod, source):
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            return base64.b64decode(self.get("Secret", ref["name"])["data"][ref["key"]]).decode()
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            return self.get("ConfigMap", ref["name"])["data"][ref["key"]]
        if "fieldRef" in source:
            field = source["fieldRef"]["fieldPath"]
            if field == "metadata.name":
                return pod.name
            if field == "metadata.namespace":
                return self.namespace
            raise ValueError("fieldRef %s is not emulated" % field)
        raise ValueError("valueFrom %s is not emulated" % list(source))

    def _volume_files(self, pod, volume):
        """The files of a configMap or secret volume: {path: (bytes, mode)}."""
        if "configMap" in volume:
            src = volume["configMap"]
            cm = self.get("ConfigMap", src["name"])
            data = {k: v.encode() for k, v in cm.get("data", {}).items()}
            data.update({k: base64.b64decode(v) for k, v in cm.get("binaryData", {}).items()})
        else:
            src = volume["secret"]
            secret = self.get("Secret", src["secretName"])
            data = {k: base64.b64decode(v) for k, v in secret.get("data", {}).items()}
            data.update({k: v.encode() for k, v in secret.get("stringData", {}).items()})
        mode = src.get("defaultMode", 0o644)
        if "items" in src:
            return {i["path"]: (data[i["key"]], i.get("mode", mode)) for i in src["items"]}
        return {k: (v, mode) for k, v in data.items()}

    def _write_volume(self, pod, volume, fs_group):
        """Lays a configMap/secret volume out as the kubelet's atomic writer
        does: the keys are symlinks through ..data to a timestamped folder.
        Written once per pod: its containers share it."""
        root = os.path.join(self.files, pod.name, volume["name"])
        if os.path.isdir(root):
            return root
        stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.000000001")
        os.makedirs(os.path.join(root, stamp))
        for path, (content, mode) in self._volume_files(pod, volume).items():
            real = os.path.join(root, stamp, path)
            os.makedirs(os.path.dirname(real), exist_ok=True)
            with open(real, "wb") as f:
                f.write(content)
            if fs_group is not None:
                mode |= 0o440  # the kubelet's SetVolumeOwnership on a read-only volume
                try:
                    os.chown(real, -1, fs_group)
                except PermissionError:
                    mode |= 0o004  # not root here: readable by the container's user all the same
            os.chmod(real, mode)
            top = path.split("/")[0]
            if not os.path.lexists(os.path.join(root, top)):
                os.symlink(os.path.join("..data", top), os.path.join(root, top))
        os.symlink(stamp, os.path.join(root, "..data"))
        for d, _, _ in os.walk(root):
            os.chmod(d, 0o755)
        return root

    def sandbox_args(self, pod, sandbox, publish=()):
        """`docker run` arguments for the pod's sandbox: what the containers
        of a pod share (network and IPC namespaces, hostname, DNS names,
        published ports). It runs nothing but `sleep infinity`, unprivileged."""
        args = ["run", "-d", "--name", sandbox, "--hostname", pod.name[:63],
                "--network", self.network, "--ipc", "shareable", "--pull", "never",
                "--user", "65535:65535", "--read-only", "--cap-drop", "ALL",
                "--security-opt", "no-new-privileges", "--memory", "16m"]
        if pod.spec.get("restartPolicy", "Always") == "Always":
            args += ["--restart", "unless-stopped"]
        for alias in pod.aliases:
            args += ["--network-alias", alias]
        for port in publish:
            args += ["-p", "127.0.0.1::%d" % port]
        return args + ["--entrypoint", "sleep", pod.main["image"], "infinity"]

    def run_args(self, pod, c, sandbox, name, env_override=None):
        """`docker run` arguments for the pod's container `c`, joined to the
        pod's `sandbox`; `env_override` replaces some of its variables'
        values."""
        spec = pod.spec
        pod_sc = spec.get("securityContext", {})
        sc = dict(pod_sc, **c.get("securityContext", {}))
        fs_group = pod_sc.get("fsGroup")
        env = dict(self.env(pod, c), **(env_override or {}))
        args = ["run", "-d", "--name", name, "--network", "container:" + sandbox,
                "--ipc", "container:" + sandbox, "--pull", "never"]
        if spec.get("restartPolicy", "Always") == "Always":
            args += ["--restart", "unless-stopped"]
        for k, v in env.items():
            args += ["-e", "%s=%s" % (k, v)]
        if "runAsUser" in sc:
            args += ["--user", "%d:%d" % (sc["runAsUser"], sc.get("runAsGroup", sc["runAsUser"]))]
        if fs_group is not None:
            args += ["--group-add", str(fs_group)]
        if sc.get("readOnlyRootFilesystem"):
            args.append("--read-only")
        for cap in sc.get("capabilities", {}).get("drop", []):
            args += ["--cap-drop", cap]
        if sc.get("allowPrivilegeEscalation") is False:
            args += ["--security-opt", "no-new-privileges"]
        memory = c.get("resources", {}).get("limits", {}).get("memory")
        if memory:
            args += ["--memory", self._bytes(memory, "memory limit")]
        args += self._mounts(pod, c, sandbox, fs_group)
        command = [expand(a, env) for a in c.get("command", [])]
        rest = [expand(a, env) for a in c.get("args", [])]
        if command:
            args += ["--entrypoint", command[0]]
        args.append(c["image"])
        return args + command[1:] + rest

    @staticmethod
    def _bytes(quantity, what):
        """A Kubernetes quantity (64Mi) as Docker writes it (64m)."""
        m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)?", str(quantity))
        if not m:
            raise ValueError("%s %s is not emulated" % (what, quantity))
        return m.group(1) + QUANTITY.get(m.group(2), "b")

    def _mounts(self, pod, c, sandbox, fs_group):
        volumes = {v["name"]: v for v in pod.spec.get("volumes", [])}
        claims = set()
        if pod.kind == "StatefulSet":
            templates = pod.owner["spec"].get("volumeClaimTemplates", [])
            claims = {t["metadata"]["name"] for t in templates}
        out = []
        for m in c.get("volumeMounts", []):
            name, path = m["name"], m["mountPath"]
            if name in claims:
                volume = "%s-%s-%s" % (self.prefix, name, pod.name)
                self._volume(volume)
                out += ["-v", "%s:%s" % (volume, path)]
                continue
            v = volumes[name]
            if "emptyDir" in v:
                # One per pod (its sandbox), in memory, seen by each of its containers.
                opts = "mode=1777"
                size = v["emptyDir"].get("sizeLimit")
                if size:
                    opts += ",size=" + self._bytes(size, "emptyDir sizeLimit")
                volume = "%s-%s" % (sandbox, name)
                self._volume(volume, "--opt", "type=tmpfs", "--opt", "device=tmpfs",
                             "--opt", "o=" + opts)
                out += ["-v", "%s:%s" % (volume, path)]
            elif "configMap" in v or "secret" in v:
                source = self._write_volume(pod, v, fs_group)
                if m.get("subPath"):
                    source = os.path.realpath(os.path.join(source, m["subPath"]))
                ro = ",readonly" if m.get("readOnly", True) else ""
                out += ["--mount", "type=bind,source=%s,target=%s%s" % (source, path, ro)]
            else:
                raise ValueError("volume %s of %s is not emulated" % (name, pod.name))
        return out

    def _volume(self, name, *options):
        if name not in self.volumes:
            docker("volume", "create", *options, name)
            self.volumes.append(name)

    # ---- running ----------------------------------------------------------------

    def create_network(self):
        docker("network", "create", self.network)
        self.network_made = True

    def start(self, pod, publish=(), env_override=None, suffix=""):
        """Starts the pod: its sandbox, publishing `publish` (container
        ports) on 127.0.0.1, then each of its containers in order, with
        `env_override` in each one's environment (a second run of the same
        pod needs a `suffix`). Returns {container name: Docker's name}."""
        sandbox = "%s-%s%s" % (self.prefix, pod.name, suffix)
        self.started.append(sandbox)
        docker(*self.sandbox_args(pod, sandbox, publish))
        pod.sandbox = sandbox
        pod.containers = {}
        for c in pod.spec["containers"]:
            name = "%s-%s" % (sandbox, c["name"])
            self.started.append(name)
            docker(*self.run_args(pod, c, sandbox, name, env_override))
            pod.containers[c["name"]] = name
        return dict(pod.containers)

    def published(self, pod, port):
        """The 127.0.0.1 port where the pod's `port` is published."""
        out = docker("port", pod.sandbox, "%d/tcp" % port).stdout.splitlines()[0]
        return int(out.rsplit(":", 1)[1])

    def probe(self, pod, kind, container=None):
        """Runs the `kind` probe (readinessProbe, livenessProbe) of the
        container named `container`, or of every container of the pod that
        has one, once: (passed by all, what they printed)."""
        names = [container] if container else [c["name"] for c in pod.spec["containers"]]
        passed, out = True, []
        for name in names:
            c = pod.container(name)
            if kind not in c:
                if container:
                    raise ValueError("container %s of %s has no %s" % (name, pod.name, kind))
                continue
            ok, text = self._probe(pod, c, c[kind], kind)
            passed = passed and ok
            out.append("%s: %s" % (name, text))
        return passed, "\n".join(out)

    def _probe(self, pod, c, probe, kind):
        timeout = probe.get("timeoutSeconds", 1) + 5
        target = pod.containers[c["name"]]
        if "exec" in probe:
            r = docker("exec", target, *probe["exec"]["command"], check=False,
                       timeout=timeout)
        elif "tcpSocket" in probe:
            port = self._container_port(pod, probe["tcpSocket"]["port"], c)
            r = docker("exec", target, "bash", "-c",
                       "exec 3<>/dev/tcp/127.0.0.1/%d" % port, check=False, timeout=timeout)
        else:
            raise ValueError("%s of %s's %s is not emulated" % (kind, pod.name, c["name"]))
        return r.returncode == 0, r.stdout + r.stderr

    def logs(self):
        out = []
        for container in self.started:
            r = docker("logs", "--tail", "200", container, check=False)
            state = docker("inspect", "-f", "{{.State.Status}} exit {{.State.ExitCode}}",
                           container, check=False).stdout.strip()
            out.append("---- %s (%s) ----\n%s%s" % (container, state, r.stdout, r.stderr))
        return "\n".join(out)

    def remove(self):
        # The containers before the sandboxes whose namespaces they hold.
        for container in reversed(self.started):
            docker("rm", "-f", "-v", container, check=False)
        for v in self.volumes:
            docker("volume", "rm", "-f", v, check=False)
        if self.network_made:
            docker("network", "rm", self.network, check=False)
        shutil.rmtree(self.files, ignore_errors=True)
