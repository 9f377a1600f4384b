"""warren-mgmt as a process: failover across --nodes, 503 when every node is
down, the web UI's static files (index, Content-Types, no way out of the
folder, a plain 404 without it), the alarms health check failing, and the
command-line contract (--help, --version, bad flags and config, env,
SIGTERM)."""
import http.client
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

import mgmt


def dead_port():
    """A loopback port nothing listens on."""
    return mgmt.harness.free_port()


class NodesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker = mgmt.harness.Broker(definitions=mgmt.DEFINITIONS)
        cls.broker.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def test_failover_to_the_next_node(self):
        nodes = ["127.0.0.1:%d" % dead_port(), "127.0.0.1:%d" % self.broker.grpc_port]
        with mgmt.Mgmt(nodes) as api:
            self.assertEqual(api.ok("GET", "/api/whoami")["name"], "guest")
            self.assertEqual(api.ok("GET", "/api/overview")["object_totals"]["queues"], 0)
            self.assertIn("unreachable", "".join(api.log))

    def test_every_node_down_is_503(self):
        with mgmt.Mgmt(["127.0.0.1:%d" % dead_port(), "127.0.0.1:%d" % dead_port()]) as api:
            status, data, _ = api.request("GET", "/api/overview")
            self.assertEqual(status, 503)
            self.assertEqual(data["error"], "service_unavailable")

    def test_static_files(self):
        ui = tempfile.mkdtemp(prefix="warren-ui-")
        self.addCleanup(shutil.rmtree, ui)
        with open(os.path.join(ui, "index.html"), "w") as f:
            f.write("<!doctype html><title>Warren</title>")
        os.mkdir(os.path.join(ui, "js"))
        with open(os.path.join(ui, "js", "app.js"), "w") as f:
            f.write("console.log('warren');")
        with open(os.path.join(ui, "style.css"), "w") as f:
            f.write("body {}")
        with mgmt.Mgmt(["127.0.0.1:%d" % self.broker.grpc_port], ui_dir=ui) as api:
            status, body, headers = api.request("GET", "/", user=None)
            self.assertEqual((status, body), (200, "<!doctype html><title>Warren</title>"))
            self.assertTrue(headers["Content-Type"].startswith("text/html"))
            status, body, headers = api.request("GET", "/js/app.js", user=None)
            self.assertEqual(status, 200)
            self.assertIn("javascript", headers["Content-Type"])
            self.assertTrue(api.request("GET", "/style.css", user=None)[2]["Content-Type"]
                            .startswith("text/css"))
            self.assertEqual(api.request("GET", "/missing.html", user=None)[0], 404)
            for path in ("/../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                         "/js/../../etc/passwd"):
                conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
                conn.request("GET", path)
                r = conn.getresponse()
                body = r.read()
                conn.close()
                self.assertIn(r.status, (400, 404), path)
                self.assertNotIn(b"root:", body, path)
            # The API still answers beside the files.
            self.assertEqual(api.ok("GET", "/api/whoami")["name"], "guest")

    def test_without_ui_folder_a_plain_404(self):
        missing = os.path.join(tempfile.gettempdir(), "warren-no-ui-%d" % os.getpid())
        with mgmt.Mgmt(["127.0.0.1:%d" % self.broker.grpc_port], ui_dir=missing) as api:
            status, body, headers = api.request("GET", "/", user=None)
            self.assertEqual(status, 404)
            self.assertTrue(headers["Content-Type"].startswith("text/plain"))
            self.assertEqual(api.ok("GET", "/api/whoami")["name"], "guest")

    def test_settings_from_config_file_and_env(self):
        conf = mgmt.harness.temp_file(
            self, 'nodes = ["127.0.0.1:%d"]\nhttp_listen = "127.0.0.1:1"\n' % self.broker.grpc_port)
        # The nodes come from the file; the environment's listen address
        # overrides the file's.
        env = dict(os.environ, WARREN_CONFIG=conf, WARREN_HTTP_LISTEN="127.0.0.1:0")
        with mgmt.Mgmt(None, listen=None, env=env) as api:
            self.assertEqual(api.ok("GET", "/api/whoami")["name"], "guest")
            self.assertEqual(api.stop(), 0)


class AlarmTest(unittest.TestCase):
    def test_alarm_in_effect_is_503(self):
        with mgmt.harness.Broker(extra_config="[alarms]\nmemory_limit = 1\n") as b, \
                mgmt.Mgmt(["127.0.0.1:%d" % b.grpc_port]) as api:
            def failing():
                status, data, _ = api.request("GET", "/api/health/checks/alarms")
                return status == 503 and data
            data = mgmt.wait_for(failing, "memory alarm reported", timeout=20)
            self.assertEqual(data["status"], "failed")
            self.assertEqual([a["resource"] for a in data["alarms"]], ["memory"])


class CommandLineTest(unittest.TestCase):
    def run_mgmt(self, *args, env=None):
        return subprocess.run([mgmt.binary(), *args], capture_output=True, text=True,
                              timeout=20, env=env)

    def test_help_and_version(self):
        r = self.run_mgmt("--help")
        self.assertEqual(r.returncode, 0)
        for flag in ("--config", "--http-listen", "--nodes", "--ui-dir"):
            self.assertIn(flag, r.stdout)
        r = self.run_mgmt("--version")
        self.assertEqual((r.returncode, r.stdout.split()[0]), (0, "warren-mgmt"))

    def test_bad_flags_and_config_exit_with_one_line(self):
        conf = mgmt.harness.temp_file(self, 'colour = "red"\n')
        for args, needle in ((["--no-such-flag"], "no-such-flag"),
                             (["--http-listen", "127.0.0.1:99999"], "99999"),
                             (["--http-listen", "nonsense"], "nonsense"),
                             (["--nodes", ""], "--nodes"),
                             (["--config", conf], "colour"),
                             (["--config", "/no/such/file.toml"], "/no/such/file.toml")):
            r = self.run_mgmt(*args)
            self.assertNotEqual(r.returncode, 0, args)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, r.stderr)
            self.assertIn(needle, lines[0])

    def test_sigint_stops_cleanly(self):
        with mgmt.Mgmt(["127.0.0.1:%d" % dead_port()]) as api:
            api.proc.send_signal(signal.SIGINT)
            self.assertEqual(api.proc.wait(timeout=10), 0)


if __name__ == "__main__":
    mgmt.harness.main()
