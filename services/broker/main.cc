// warren-node: parse flags, environment and config; build a Node; run it.
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <functional>
#include <thread>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "broker/node.h"
#include "common/log.h"

namespace {

// glibc's allocator, set before any thread starts (docs/message-path.md,
// "The allocator"): messages and frames are allocated on gRPC's threads and
// freed on the loop, so the defaults grow and trim the threads' heaps and
// merge small chunks on almost every frame.
void TuneAllocator() {
  mallopt(M_MXFAST, 0);                   // no fast bins to merge: the per-thread cache serves
  mallopt(M_TRIM_THRESHOLD, 8 << 20);     // keep up to 8 MiB free at a heap's top
  mallopt(M_MMAP_THRESHOLD, 4 << 20);     // frames of up to 1 MiB come from the heap
}

}  // namespace

int main(int argc, char** argv) {
  using namespace warren;
  TuneAllocator();
  // OpenSSL writes AMQPS sockets with write(2), which raises SIGPIPE when
  // the client has gone; the write's EPIPE is handled, the signal must not
  // end the node.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"warren-node: a RabbitMQ-compatible AMQP 0-9-1 message broker"};
  app.set_version_flag("--version", std::string("warren-node 0.1.0"));
  std::string config_file, node_name, amqp_listen, amqps_listen, grpc_listen, data_dir,
      log_level, cluster_secret_file, cluster_seeds, load_definitions, tls_cert, tls_key, tls_ca;
  app.add_option("--config", config_file, "TOML config file (env WARREN_CONFIG)");
  app.add_option("--node-name", node_name, "node name (env WARREN_NODE_NAME)");
  app.add_option("--amqp-listen", amqp_listen,
                 "AMQP address HOST:PORT, default 0.0.0.0:5672 (env WARREN_AMQP_LISTEN)");
  app.add_option("--amqps-listen", amqps_listen,
                 "AMQP over TLS HOST:PORT, e.g. 0.0.0.0:5671; needs a certificate "
                 "(env WARREN_AMQPS_LISTEN)");
  app.add_option("--tls-cert", tls_cert, "[tls] cert_file (env WARREN_TLS_CERT_FILE)");
  app.add_option("--tls-key", tls_key, "[tls] key_file (env WARREN_TLS_KEY_FILE)");
  app.add_option("--tls-ca", tls_ca, "[tls] ca_file (env WARREN_TLS_CA_FILE)");
  app.add_option("--grpc-listen", grpc_listen,
                 "gRPC address HOST:PORT, default 0.0.0.0:25672 (env WARREN_GRPC_LISTEN)");
  app.add_option("--data-dir", data_dir, "data directory (env WARREN_DATA_DIR)");
  app.add_option("--log-level", log_level, "trace|debug|info|warning|error (env WARREN_LOG_LEVEL)");
  app.add_option("--cluster-secret-file", cluster_secret_file,
                 "the secret the cluster's nodes share, default DATA_DIR/cluster-secret, made "
                 "when absent (env WARREN_CLUSTER_SECRET_FILE)");
  app.add_option("--cluster-seeds", cluster_seeds,
                 "HOST:PORT[,...]: the gRPC addresses of every node of the cluster, this one's "
                 "included; nodes started with the same list form one cluster "
                 "(env WARREN_CLUSTER_SEEDS)");
  app.add_option("--load-definitions", load_definitions,
                 "a definitions JSON file (export_definitions' format) imported at every start "
                 "(env WARREN_LOAD_DEFINITIONS)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  NodeConfig config;
  try {
    if (config_file.empty())
      if (const char* env = std::getenv("WARREN_CONFIG"); env && *env) config_file = env;
    if (!config_file.empty()) LoadConfigFile(config_file, config);
    ApplyEnvironment(config);
    if (!node_name.empty()) config.node_name = node_name;
    if (!amqp_listen.empty()) config.amqp_listen = amqp_listen;
    if (!amqps_listen.empty()) config.amqps_listen = amqps_listen;
    if (!tls_cert.empty()) config.tls.cert_file = tls_cert;
    if (!tls_key.empty()) config.tls.key_file = tls_key;
    if (!tls_ca.empty()) config.tls.ca_file = tls_ca;
    if (!grpc_listen.empty()) config.grpc_listen = grpc_listen;
    if (!data_dir.empty()) config.data_dir = data_dir;
    if (!log_level.empty()) config.log_level = log_level;
    if (!cluster_secret_file.empty()) config.cluster_secret_file = cluster_secret_file;
    if (!cluster_seeds.empty()) config.cluster_seeds = SplitSeeds(cluster_seeds);
    if (!load_definitions.empty()) config.load_definitions = load_definitions;
    for (const auto& seed : config.cluster_seeds) ParseHostPort(seed, "cluster_seeds");
    CheckListeners(config);
    ResolveDefaults(config);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "warren-node: %s\n", e.what());
    return 2;
  }
  InitLogging(config.log_level);
  spdlog::info("open file limit {}", RaiseFileLimit());

  try {
    Node node(config);
    node.Start();
    asio::io_context signals_io;
    asio::signal_set signals(signals_io, SIGINT, SIGTERM);
    signals.async_wait([&](const std::error_code& ec, int sig) {
      if (ec) return;
      spdlog::info("signal {} received, stopping", sig);
      node.Stop();
    });
    // SIGHUP reloads the certificates (docs/tls.md), as often as it comes.
    asio::signal_set hangups(signals_io, SIGHUP);
    std::function<void()> await_hangup = [&] {
      hangups.async_wait([&](const std::error_code& ec, int) {
        if (ec) return;
        node.ReloadTls();
        await_hangup();
      });
    };
    await_hangup();
    std::thread signal_thread([&] { signals_io.run(); });
    node.Run();
    signals_io.stop();
    signal_thread.join();
    spdlog::info("stopped");
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "warren-node: %s\n", e.what());
    return 2;
  }
  return 0;
}
