// warren-exporter: Prometheus metrics for Warren nodes, read from each node's
// Admin gRPC service at scrape time and served on /metrics (per-queue series
// unless per_object_metrics = false) and /metrics/per-object (always).
#include <chrono>
#include <csignal>
#include <cstdio>
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

ExporterConfig Configure(int argc, char** argv, int& exit_code) {
  CLI::App app{"warren-exporter: Prometheus metrics for Warren nodes"};
  app.set_version_flag("--version", std::string("warren-exporter 0.1.0"));
  std::string config_file, http_listen, nodes, log_level = "info";
  app.add_option("--config", config_file, "TOML config file (env WARREN_CONFIG)");
  app.add_option("--http-listen", http_listen,
                 "HTTP address HOST:PORT, default 0.0.0.0:15692 (env WARREN_HTTP_LISTEN)");
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
    if (!nodes.empty()) c.nodes = ParseNodes(nodes);
    warren::ParseHostPort(c.http_listen, "http_listen");
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
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  Scraper scraper(config);
  MetricsHandler handler(scraper, config.per_object_metrics);
  warren::http::Limits limits;
  limits.head_timeout = std::chrono::milliseconds(config.head_timeout_ms);
  limits.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  limits.body_limit = 0;  // a scrape has no body
  limits.workers = 4;
  warren::http::Server server(handler, limits);
  warren::HostPort listen = warren::ParseHostPort(config.http_listen, "http_listen");
  warren::Result<uint16_t> port = server.Listen(listen.host, listen.port);
  if (!port.ok()) {
    std::fprintf(stderr, "warren-exporter: http_listen: cannot listen on %s: %s\n",
                 config.http_listen.c_str(), port.error().text.c_str());
    return 2;
  }
  spdlog::info("http listening on {}:{}", listen.host, port.value());
  std::string joined;
  for (const auto& n : config.nodes) joined += (joined.empty() ? "" : ",") + n;
  spdlog::info("reading nodes {} (timeout {} ms, per-queue series on /metrics: {})", joined,
               config.timeout_ms, config.per_object_metrics);

  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop, &sig);
    spdlog::info("signal {} received, stopping", sig);
    // Reads in flight are cancelled so the workers are free; a stop before
    // Run() makes Run() return at once.
    scraper.Shutdown();
    server.Stop();
  });
  server.Run();
  signals.join();
  spdlog::info("stopped");
  return 0;
}
