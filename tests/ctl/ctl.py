"""Helpers for the tests that drive warrenctl (env WARREN_CTL_BIN) against a
node the interop harness starts."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))

import pika  # noqa: E402  (Debian's python3-pika)

import harness  # noqa: E402,F401  (re-exported for the tests)
from harness import wait_for  # noqa: E402,F401  (re-exported for the tests)


def warrenctl(broker, *args, user="guest", password="guest", stdin=None, check=True):
    """Runs warrenctl against `broker`; returns (exit status, stdout, stderr).
    With check, a non-zero status fails the calling test with stderr."""
    binary = os.environ.get("WARREN_CTL_BIN")
    if not binary:
        raise RuntimeError("WARREN_CTL_BIN must name the warrenctl binary")
    p = subprocess.run([binary, "-n", "127.0.0.1:%d" % broker.grpc_port, "-u", user,
                        "-p", password] + list(args),
                       input=stdin, capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("warrenctl %s exited %d: %s" % (" ".join(args), p.returncode,
                                                             p.stderr.strip()))
    return p.returncode, p.stdout, p.stderr


def listing(broker, *args, **kwargs):
    """A list_* command's rows, through --formatter json."""
    _, out, _ = warrenctl(broker, *args, "--formatter", "json", **kwargs)
    return json.loads(out)


def connect(broker, user="guest", password="guest", vhost="/"):
    params = pika.ConnectionParameters(broker.host, broker.port, vhost,
                                       pika.PlainCredentials(user, password), heartbeat=0)
    return pika.BlockingConnection(params)
