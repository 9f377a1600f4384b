// warren-exporter: Prometheus metrics for Warren nodes, read from each node's
// Admin gRPC service at scrape time and served on /metrics (per-queue series
// unless per_object_metrics = false) and /metrics/per-object (always).
#include <csignal>
#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include "common/config.h"
#include "common/log.h"
#include "exporter/config.h"
#include "exporter/metrics.h"
#include "exporter/scraper.h"

namespace {

using namespace warren::exporter;

class NodesCollectable : public prometheus::Collectable {
 public:
  NodesCollectable(const Scraper& scraper, bool per_object)
      : scraper_(scraper), per_object_(per_object) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return BuildMetrics(scraper_.ScrapeAll(per_object_), per_object_);
  }

 private:
  const Scraper& scraper_;
  bool per_object_;
};

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
  auto metrics = std::make_shared<NodesCollectable>(scraper, config.per_object_metrics);
  auto per_object = std::make_shared<NodesCollectable>(scraper, true);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(config.http_listen, 4);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warren-exporter: http_listen: cannot listen on %s: %s\n",
                 config.http_listen.c_str(), e.what());
    return 2;
  }
  exposer->RegisterCollectable(metrics, "/metrics");
  exposer->RegisterCollectable(per_object, "/metrics/per-object");
  warren::HostPort listen = warren::ParseHostPort(config.http_listen, "http_listen");
  std::vector<int> ports = exposer->GetListeningPorts();
  spdlog::info("http listening on {}:{}", listen.host, ports.empty() ? 0 : ports.front());
  std::string joined;
  for (const auto& n : config.nodes) joined += (joined.empty() ? "" : ",") + n;
  spdlog::info("reading nodes {} (timeout {} ms, per-queue series on /metrics: {})", joined,
               config.timeout_ms, config.per_object_metrics);

  int sig = 0;
  sigwait(&stop, &sig);
  spdlog::info("signal {} received, stopping", sig);
  exposer.reset();
  spdlog::info("stopped");
  return 0;
}
