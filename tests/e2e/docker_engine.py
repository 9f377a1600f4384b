"""A Docker engine for the end-to-end tests: the one already running, or one
this process starts (dockerd from Debian's docker.io, which `make test`
installs) and stops again. When none can run here, the tests exit 77
(skipped) and say why."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

from harness import terminate  # tests/interop, on the path of the tests that use this

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
# Debian's CLI: it builds with BuildKit without the buildx plugin.
DOCKER = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else shutil.which("docker")
SKIP = 77


def docker(*args, check=True, timeout=300, **kwargs):
    return subprocess.run([DOCKER] + list(args), capture_output=True, text=True,
                          check=check, timeout=timeout, **kwargs)


def running():
    return DOCKER is not None and docker("info", check=False, timeout=30).returncode == 0


class Engine:
    def __init__(self):
        self.proc = None
        self.log = None

    def __enter__(self):
        if running():
            return self
        dockerd = shutil.which("dockerd")
        if DOCKER is None or dockerd is None:
            skip("no Docker here (docker.io is not installed)")
        if os.geteuid() != 0:
            skip("dockerd needs root")
        self.log = tempfile.NamedTemporaryFile(prefix="dockerd-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([dockerd], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                skip("dockerd exited (%d): %s" % (self.proc.returncode, self.tail()))
            if running():
                return self
            time.sleep(0.2)  # a poll while the daemon starts, not a synchronisation
        self.__exit__(None, None, None)
        skip("dockerd did not answer within 60 s: " + self.tail())

    def tail(self):
        with open(self.log.name, errors="replace") as f:
            return " | ".join(f.read().splitlines()[-5:])

    def __exit__(self, *exc):
        if self.proc is None:
            return False
        terminate(self.proc, 60)
        os.unlink(self.log.name)
        self.proc = None
        return False


def skip(why):
    print("SKIPPED: " + why, file=sys.stderr)
    sys.exit(SKIP)


def build_dir():
    """The build directory the tests run from: WARREN_NODE_BIN's."""
    node = os.environ.get("WARREN_NODE_BIN", "")
    if not os.path.isabs(node) or not os.access(node, os.X_OK):
        raise RuntimeError("WARREN_NODE_BIN must be the absolute path of warren-node")
    return os.path.normpath(os.path.join(os.path.dirname(node), "..", ".."))


def build_prebuilt_images():
    """Warren's images from this build's executables (docker/images.sh
    --prebuilt); returns what it printed: each image's size."""
    env = dict(os.environ, BUILD=build_dir(), DOCKER=DOCKER)
    built = subprocess.run([os.path.join(ROOT, "docker", "images.sh"), "--prebuilt"],
                           capture_output=True, text=True, env=env, timeout=900)
    if built.returncode != 0:
        raise RuntimeError("docker/images.sh --prebuilt failed:\n" + built.stdout + built.stderr)
    return built.stdout
