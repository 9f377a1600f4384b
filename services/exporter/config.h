// warren-exporter's settings: built-in defaults, then a TOML file (--config
// or WARREN_CONFIG), then WARREN_HTTP_LISTEN, WARREN_HTTPS_LISTEN,
// WARREN_NODES, WARREN_USERNAME, WARREN_PASSWORD, WARREN_TLS_*, then flags.
// Errors throw ConfigError naming the key.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/tls.h"

namespace warren::exporter {

struct ExporterConfig {
  // "none" (or ""): not served; one of the two at least.
  std::string http_listen = "0.0.0.0:15692";
  std::string https_listen;  // e.g. "0.0.0.0:15691"; needs [tls] cert_file, key_file
  // [tls]: HTTPS's certificate, and the same files make the channels to
  // the nodes TLS (the CA checks the nodes' certificates, the certificate
  // is presented to them).
  tls::Settings tls;
  std::vector<std::string> nodes = {"127.0.0.1:25672"};  // gRPC addresses
  // A user with the monitoring (or administrator) tag on every node.
  std::string username = "guest";
  std::string password = "guest";
  int64_t timeout_ms = 2000;  // per node and scrape
  // /metrics carries per-object series (queues, channels, connections) as
  // /metrics/per-object does; off (the default, as RabbitMQ's
  // return_per_object_metrics), it sums them per node and lists no queues.
  bool per_object_metrics = false;
  // HTTP: the request head's deadline and a keep-alive connection's idle
  // deadline (Prometheus keeps its connection open between scrapes).
  int64_t head_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 120'000;
};

// "a:1,b:2" -> {"a:1", "b:2"}; a bare host gets :25672.
std::vector<std::string> ParseNodes(const std::string& list);
void LoadExporterConfig(const std::string& path, ExporterConfig& config);
void ApplyExporterEnvironment(ExporterConfig& config);

}  // namespace warren::exporter
