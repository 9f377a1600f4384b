// warren-mgmt's settings and where they come from (docs/architecture.md,
// "Configuration"): built-in defaults, then the TOML file
// (--config or WARREN_CONFIG), then WARREN_HTTP_LISTEN, WARREN_HTTPS_LISTEN,
// WARREN_NODES, WARREN_UI_DIR, WARREN_LOG_LEVEL, WARREN_MAX_BODY_SIZE,
// WARREN_TLS_*, then flags. ResolveOptions throws ConfigError with one line
// naming the bad flag or key.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/tls.h"
#include "http/server.h"

namespace warren::mgmt {

using Endpoint = HostPort;

struct Options {
  // nullopt: not served ("none"; RabbitMQ's management.tcp left out). One
  // of the two at least.
  std::optional<Endpoint> http_listen = Endpoint{"0.0.0.0", 15672};
  std::optional<Endpoint> https_listen;  // RabbitMQ's management.ssl, 15671
  // [tls]: HTTPS's certificate, and the same files make the channels to
  // the nodes TLS (the CA checks the nodes' certificates, the certificate
  // is presented to them).
  tls::Settings tls;
  std::vector<std::string> nodes{"127.0.0.1:25672"};  // gRPC HOST:PORT, tried in order
  std::string ui_dir;  // static files of the web UI
  std::string log_level = "info";
  double timeout_seconds = 30;  // the deadline of each call to a node
  // HTTP limits. Keys: max_body_size (bytes; RabbitMQ's
  // management.http.max_body_size, default 20000000 as there),
  // head_timeout, body_timeout, idle_timeout (seconds).
  http::Limits http;
  // Origins besides this server's own whose pages may call the API (as
  // RabbitMQ's management.cors.allow_origins), e.g. behind a proxy that
  // rewrites Host: "https://rabbit.example.com". Key allowed_origins.
  std::vector<std::string> allowed_origins;
  // How often the counters served are sampled for their rates (rates.h), as
  // RabbitMQ's collect_statistics_interval. Key collect_statistics_interval
  // (milliseconds, 100 to 3600000).
  std::chrono::milliseconds collect_statistics_interval{5000};
};

// What the command line said; nullopt means "not given".
struct Flags {
  std::optional<std::string> config;
  std::optional<std::string> http_listen;
  std::optional<std::string> https_listen;
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  std::optional<std::string> tls_ca;
  std::optional<std::string> nodes;
  std::optional<std::string> ui_dir;
  std::optional<std::string> log_level;
};

Options ResolveOptions(const Flags& flags);

// "HOST:PORT" ("[v6]:PORT" too); throws ConfigError naming `what`.
Endpoint ParseEndpoint(const std::string& text, const std::string& what);

}  // namespace warren::mgmt
