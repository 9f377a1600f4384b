"""What the HTTPS tests of warren-mgmt and warren-exporter share
(tests/mgmt/test_tls.py, tests/exporter/test_tls.py): the process under test
with the ports it logs ("https listening on HOST:PORT", "http ..."), a node
whose gRPC port speaks TLS, Python `ssl` clients, and a wait for a server to
hang up."""
import os
import re
import select
import signal
import ssl
import subprocess
import sys
import threading
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.path.insert(0, HERE)

import certs  # noqa: E402
import harness  # noqa: E402

START_TIMEOUT = 20.0
HANDSHAKE_TIMEOUT_MS = 500
_LISTENING = re.compile(r"\b(https?) listening on [0-9.]+:(\d+)")


class Pkis:
    """The run's CA; the certificate the node and the process under test
    serve with (one for both, as a deployment may); clients' certificates,
    one expired, one from a CA nobody trusts."""

    def __init__(self, directory):
        self.pki = certs.Pki(os.path.join(directory, "ca"))
        self.ca = self.pki.ca
        self.server = self.pki.issue("localhost")
        self.alice = self.pki.issue("alice", client=True)
        self.expired = self.pki.issue("bob", client=True, expired=True)
        self.other = certs.Pki(os.path.join(directory, "other"), name="Other CA")
        self.stranger = self.other.issue("carol", client=True)


def tls_node(pkis):
    """A started warren-node whose gRPC port speaks TLS (client
    certificates checked against the run's CA)."""
    node = harness.Broker(args=["--tls-cert", pkis.server.cert, "--tls-key", pkis.server.key,
                                "--tls-ca", pkis.ca])
    node.__enter__()
    if "(TLS)" not in node.logs():
        node.stop()
        raise RuntimeError("warren-node did not say its gRPC port is TLS:\n" + node.logs())
    return node


def tls_table(verify="peer", fail_if_no_peer_cert=True):
    """A [tls] table for a config file: the handshake deadline short, so the
    test that waits for it is quick."""
    return ('[tls]\nverify = "%s"\nfail_if_no_peer_cert = %s\nhandshake_timeout = %d\n'
            % (verify, "true" if fail_if_no_peer_cert else "false", HANDSHAKE_TIMEOUT_MS))


def tls_flags(pkis, cert=None):
    cert = cert or pkis.server
    return ["--tls-cert", cert.cert, "--tls-key", cert.key, "--tls-ca", pkis.ca]


def client_context(ca, cert=None, maximum=None):
    """A client that checks the server against `ca` and presents `cert`."""
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert.cert, cert.key)
    if maximum:
        # Debian's OpenSSL speaks nothing below TLS 1.2 at its default
        # security level; level 0 lets the old handshake go out.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # as it should be
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = maximum
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def eof_within(sock, seconds):
    """True when the peer closes `sock` within `seconds` (what it sends is
    read and dropped)."""
    deadline = time.monotonic() + seconds
    sock.setblocking(False)
    while time.monotonic() < deadline:
        ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        try:
            if sock.recv(4096) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except BlockingIOError:
            continue
    return False


class Served:
    """warren-mgmt or warren-exporter (`args`, binary first) started and
    read until it logs every scheme of `schemes` listening; .ports["https"],
    .ports["http"]. Stops at exit."""

    def __init__(self, args, schemes=("https",), env=None):
        self.ports = {}
        self.log = []
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace",
                                     env=env, preexec_fn=harness._die_with_parent)
        listening = threading.Event()

        def drain():
            for line in self.proc.stdout:
                self.log.append(line)
                m = _LISTENING.search(line)
                if m:
                    self.ports[m.group(1)] = int(m.group(2))
                    if all(s in self.ports for s in schemes):
                        listening.set()
            listening.set()

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        if not listening.wait(START_TIMEOUT) or not all(s in self.ports for s in schemes):
            self.stop()
            raise RuntimeError("%s did not start:\n%s" % (args[0], self.logs()))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def logs(self):
        return "".join(self.log)

    def lines(self, text):
        """The log lines holding `text`."""
        return [line for line in list(self.log) if text in line]

    def hangup(self):
        self.proc.send_signal(signal.SIGHUP)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if harness.terminate(self.proc, 10):
            self.log.append("[test] no exit 10 s after SIGTERM; SIGKILL\n")
        self._drain.join(timeout=5)
        self.proc.stdout.close()
        return self.proc.returncode
