// warren-mgmt: RabbitMQ's management HTTP API over nodes' Admin service.
//   warren-mgmt [--config FILE] [--http-listen HOST:PORT|none] [--https-listen HOST:PORT]
//               [--tls-cert FILE --tls-key FILE] [--tls-ca FILE] [--nodes HOST:PORT,...]
//               [--ui-dir DIR] [--log-level LEVEL]
#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "common/config.h"
#include "common/log.h"
#include "mgmt/node_client.h"
#include "mgmt/options.h"
#include "mgmt/rates.h"
#include "mgmt/router.h"
#include "mgmt/server.h"

#ifndef WARREN_VERSION
#define WARREN_VERSION "0.0.0"
#endif

namespace warren::mgmt {
namespace {

int Main(int argc, char** argv) {
  CLI::App app{"warren-mgmt: the RabbitMQ-compatible management HTTP API and web UI",
               "warren-mgmt"};
  Flags flags;
  bool version = false;
  app.add_option("--config", flags.config, "TOML file (env WARREN_CONFIG)");
  app.add_option("--http-listen", flags.http_listen,
                 "HOST:PORT to serve HTTP on (0.0.0.0:15672; port 0: any free port; none: off)");
  app.add_option("--https-listen", flags.https_listen,
                 "HOST:PORT to serve HTTPS on, e.g. 0.0.0.0:15671; needs --tls-cert, --tls-key");
  app.add_option("--tls-cert", flags.tls_cert, "[tls] cert_file (env WARREN_TLS_CERT_FILE)");
  app.add_option("--tls-key", flags.tls_key, "[tls] key_file (env WARREN_TLS_KEY_FILE)");
  app.add_option("--tls-ca", flags.tls_ca,
                 "[tls] ca_file: checks the nodes' certificates, and HTTPS clients' with "
                 "verify = peer (env WARREN_TLS_CA_FILE)");
  app.add_option("--nodes", flags.nodes,
                 "nodes' gRPC addresses HOST:PORT[,...], tried in order (127.0.0.1:25672)");
  app.add_option("--ui-dir", flags.ui_dir, "the web UI's static files");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error (info)");
  app.add_flag("--version", version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "warren-mgmt: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (version) {
    std::cout << "warren-mgmt " WARREN_VERSION "\n";
    return 0;
  }
  // Signals are taken by sigwait below, not by any thread's handler.
  sigset_t signal_set = warren::http::BlockServerSignals();
  try {
    Options options = ResolveOptions(flags);
    InitLogging(options.log_level);
    NodeClient nodes(options.nodes, options.timeout_seconds, options.tls);
    Router router = ApiRouter();
    RatesSettings rate_settings;
    rate_settings.interval = options.collect_statistics_interval;
    Rates rates(rate_settings, router, nodes);
    router.set_rates(&rates);
    Server server(options, router, nodes);
    // The listeners are known once bound; the sampler reads them.
    router.set_contexts(server.Listen());
    rates.Start();
    std::string node_list;
    for (const auto& n : options.nodes) node_list += (node_list.empty() ? "" : ", ") + n;
    spdlog::info("nodes: {}{}", node_list, options.tls.dialing() ? " (TLS)" : "");
    std::atomic<bool> finished{false};
    std::thread signals([&] {
      int sig = 0;
      // SIGHUP reloads HTTPS's certificates, as often as it comes.
      while (sigwait(&signal_set, &sig) == 0 && sig == SIGHUP && !finished) server.ReloadTls();
      if (finished) return;
      spdlog::info("signal {}: stopping", sig);
      // Calls to nodes in flight are cancelled, so the workers blocked on
      // them are free; a stop before Run() makes Run() return at once.
      nodes.Shutdown();
      server.Stop();
    });
    server.Run();
    finished = true;
    // Run() also returns if the server fails; let the signal thread go.
    pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
    nodes.Shutdown();  // a sampling round in flight ends at once
    rates.Stop();
    spdlog::info("stopped");
  } catch (const ConfigError& e) {
    std::cerr << "warren-mgmt: " << e.what() << '\n';
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace warren::mgmt

int main(int argc, char** argv) { return warren::mgmt::Main(argc, argv); }
