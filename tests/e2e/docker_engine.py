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
