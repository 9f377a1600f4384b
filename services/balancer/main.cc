// warren-balancer: parse flags and the config file, build a Balancer, run
// its event loop. SIGHUP re-reads the file; SIGTERM/SIGINT stop accepting and
// let sessions finish (up to [global] hard_stop_after), then exit 0.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "balancer/balancer.h"
#include "common/log.h"

namespace {

// haproxy sizes its file limit from maxconn. Raise the soft limit to the
// hard one (no privilege needed), and say so when even that is short of two
// descriptors per session: accepts would then fail before maxconn.
void RaiseFileLimit(int maxconn) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) getrlimit(RLIMIT_NOFILE, &limit);
  }
  rlim_t needed = 2 * static_cast<rlim_t>(maxconn) + 64;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed)
    spdlog::warn("the file descriptor limit ({}) is below the {} that [global] maxconn = {} needs; "
                 "clients will be refused with 'Too many open files' before maxconn",
                 limit.rlim_cur, needed, maxconn);
}

void WaitForSignals(asio::io_context& io, asio::signal_set& signals, warren::balancer::Balancer& balancer,
                    bool& stopping) {
  signals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      balancer.Reload();
    } else if (!stopping) {
      stopping = true;
      spdlog::info("signal {} received, stopping", sig);
      balancer.Stop([&] {
        signals.cancel();
        io.stop();
      });
    }
    WaitForSignals(io, signals, balancer, stopping);
  });
}

}  // namespace

int main(int argc, char** argv) {
  using namespace warren;
  CLI::App app{"warren-balancer: a TCP load balancer for AMQP nodes (haproxy's listen/server/check model)"};
  app.set_version_flag("--version", std::string("warren-balancer 0.1.0"));
  std::string config_file, log_level = "info";
  app.add_option("--config", config_file,
                 "TOML config file (env WARREN_CONFIG); without one: 0.0.0.0:5672 -> 127.0.0.1:5673");
  app.add_option("--log-level", log_level, "trace|debug|info|warning|error (env WARREN_LOG_LEVEL)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (config_file.empty())
    if (const char* env = std::getenv("WARREN_CONFIG"); env && *env) config_file = env;
  if (const char* env = std::getenv("WARREN_LOG_LEVEL"); env && *env && log_level == "info") log_level = env;

  balancer::BalancerConfig config;
  try {
    config = config_file.empty() ? balancer::DefaultConfig() : balancer::LoadConfigFile(config_file);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "warren-balancer: %s\n", e.what());
    return 2;
  }
  InitLogging(log_level);
  std::signal(SIGPIPE, SIG_IGN);
  RaiseFileLimit(config.maxconn);
  if (config_file.empty()) spdlog::info("no config file: built-in defaults");

  asio::io_context io(1);
  balancer::Balancer balancer(io, config_file);
  try {
    balancer.Start(config);
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "warren-balancer: %s\n", e.what());
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  bool stopping = false;
  WaitForSignals(io, signals, balancer, stopping);
  io.run();
  spdlog::info("stopped");
  return 0;
}
