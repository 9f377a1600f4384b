// warren-exporter: Prometheus metrics for Warren nodes, read from each node's
// Admin gRPC service at scrape time and served on /metrics (per-queue series
// unless per_object_metrics = false) and /metrics/per-object (always), over
// HTTP, HTTPS or both.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>

#include "common/config.h"
#include "common/log.h"
#include "exporter/config.h"
#include "exporter/scraper.h"
#include "exporter/serve.h"
#include "http/server.h"

namespace {

using namespace warren::exporter;

// A listener's address; nullopt when it is off ("none").
std::optional<warren::HostPort> Address(const std::string& value, const std::string& key) {
  if (warren::ListenerOff(value)) return std::nullopt;
  return warren::ParseHostPort(value, key);
}

ExporterConfig Configure(int argc, char** argv, int& exit_code) {
  CLI::App app{"warren-exporter: Prometheus metrics for Warren nodes"};
  app.set_version_flag("--version", std::string("warren-exporter 0.1.0"));
  std::string config_file, http_listen, https_listen, nodes, log_level = "info", tls_cert, tls_key,
      tls_ca;
  app.add_option("--config", config_file, "TOML config file (env WARREN_CONFIG)");
  app.add_option("--http-listen", http_listen,
                 "HTTP address HOST:PORT, default 0.0.0.0:15692; none: off "
                 "(env WARREN_HTTP_LISTEN)");
  app.add_option("--https-listen", https_listen,
                 "HTTPS address HOST:PORT, e.g. 0.0.0.0:15691; needs --tls-cert, --tls-key "
                 "(env WARREN_HTTPS_LISTEN)");
  app.add_option("--tls-cert", tls_cert, "[tls] cert_file (env WARREN_TLS_CERT_FILE)");
  app.add_option("--tls-key", tls_key, "[tls] key_file (env WARREN_TLS_KEY_FILE)");
  app.add_option("--tls-ca", tls_ca,
                 "[tls] ca_file: checks the nodes' certificates, and HTTPS clients' with "
                 "verify = peer (env WARREN_TLS_CA_FILE)");
  app.add_option("--nodes", nodes,
                 "nodes' gRPC addresses HOST:PORT[,...], default 127.0.0.1:25672 "
                 "(env WARREN_NODES)");
  app.add_option("--log-level", log_level, "trace|debug|info|warning|error");
  ExporterConfig c;
  exit_code = -1;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return c;
  }
  try {
    if (config_file.empty())
      if (const char* env = std::getenv("WARREN_CONFIG"); env && *env) config_file = env;
    if (!config_file.empty()) LoadExporterConfig(config_file, c);
    ApplyExporterEnvironment(c);
    if (!http_listen.empty()) c.http_listen = http_listen;
    if (!https_listen.empty()) c.https_listen = https_listen;
    if (!tls_cert.empty()) c.tls.cert_file = tls_cert;
    if (!tls_key.empty()) c.tls.key_file = tls_key;
    if (!tls_ca.empty()) c.tls.ca_file = tls_ca;
    if (!nodes.empty()) c.nodes = ParseNodes(nodes);
    warren::http::CheckListeners(Address(c.http_listen, "http_listen").has_value(),
                                 Address(c.https_listen, "https_listen").has_value(), c.tls);
    for (const auto& n : c.nodes) warren::ParseHostPort(n, "nodes");
  } catch (const warren::ConfigError& e) {
    std::fprintf(stderr, "warren-exporter: %s\n", e.what());
    exit_code = 2;
  }
  warren::InitLogging(log_level);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  ExporterConfig config = Configure(argc, argv, exit_code);
  if (exit_code >= 0) return exit_code;

  // Signals are taken by sigwait below, not by any thread's handler.
  sigset_t signal_set = warren::http::BlockServerSignals();

  warren::http::Limits limits;
  limits.head_timeout = std::chrono::milliseconds(config.head_timeout_ms);
  limits.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  limits.body_limit = 0;  // a scrape has no body
  limits.workers = 4;
  std::optional<Scraper> scraper;
  std::optional<MetricsHandler> handler;
  std::optional<warren::http::Server> server;
  try {
    scraper.emplace(config);
    handler.emplace(*scraper, config.per_object_metrics);
    server.emplace(*handler, limits);
    warren::http::ListenAll(*server, Address(config.http_listen, "http_listen"),
                            Address(config.https_listen, "https_listen"), config.tls);
  } catch (const warren::ConfigError& e) {
    std::fprintf(stderr, "warren-exporter: %s\n", e.what());
    return 2;
  }
  std::string joined;
  for (const auto& n : config.nodes) joined += (joined.empty() ? "" : ",") + n;
  spdlog::info("reading nodes {}{} (timeout {} ms, per-queue series on /metrics: {})", joined,
               config.tls.dialing() ? " over TLS" : "", config.timeout_ms,
               config.per_object_metrics);

  std::thread signals([&] {
    int sig = 0;
    // SIGHUP reloads HTTPS's certificates, as often as it comes.
    while (sigwait(&signal_set, &sig) == 0 && sig == SIGHUP) server->ReloadTls();
    spdlog::info("signal {} received, stopping", sig);
    // Reads in flight are cancelled so the workers are free; a stop before
    // Run() makes Run() return at once.
    scraper->Shutdown();
    server->Stop();
  });
  server->Run();
  signals.join();
  spdlog::info("stopped");
  return 0;
}
