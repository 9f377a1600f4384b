// The composition root of warren-balancer: the Frontends (one per [[listen]])
// and the stats listener, built from a BalancerConfig and rebuilt in place by
// Reload() (SIGHUP), without touching established sessions:
//   - a listener with the same name and bind keeps its socket and sessions
//     and takes the new servers, balance and timeouts (servers with the same
//     name and address keep their health and counters);
//   - a new or re-bound listener is opened first; if any bind fails, the
//     reload is abandoned and the old configuration stays whole;
//   - a listener that is gone stops accepting; its sessions run to the end.
// Stop() (SIGTERM) stops accepting everywhere, waits up to hard_stop_after
// for sessions to end, closes what is left, then calls `done`.
//
// Lifecycle: one per process, on the one event loop that runs everything.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "balancer/config.h"
#include "balancer/frontend.h"
#include "balancer/stats_server.h"

namespace warren::balancer {

class Balancer {
 public:
  // `config_path` empty: the built-in defaults, and SIGHUP has nothing to re-read.
  Balancer(asio::io_context& io, std::string config_path);
  ~Balancer();
  // Applies the first configuration; throws ConfigError or std::system_error.
  void Start(const BalancerConfig& config);
  // Re-reads the file; a bad file or a failed bind is logged and changes nothing.
  void Reload();
  void Stop(std::function<void()> done);

 private:
  void Apply(const BalancerConfig& config);
  void CheckStopped();

  asio::io_context& io_;
  std::string path_;
  BalancerConfig config_;
  GlobalLimit global_;
  std::vector<std::shared_ptr<Frontend>> frontends_;
  std::vector<std::shared_ptr<Frontend>> draining_;  // dropped by a reload, sessions still open
  std::unique_ptr<StatsServer> stats_;
  asio::steady_timer stop_timer_;
  std::function<void()> on_stopped_;
};

}  // namespace warren::balancer
