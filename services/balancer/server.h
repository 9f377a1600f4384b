// One backend server of a listener: its configuration, its health (UP/DOWN
// after rise/fall consecutive check results, as haproxy counts them) and its
// counters. No I/O: HealthCheck feeds it results, sessions count on it.
//
// Lifecycle: shared by the ServerPool that lists it, its HealthCheck and every
// session it serves, so a reload that drops it leaves running sessions alone.
// Single-threaded: everything runs on the balancer's one event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "balancer/config.h"

namespace warren::balancer {

struct Counters {
  int64_t current = 0;    // open sessions
  int64_t total = 0;      // sessions ever started
  int64_t bytes_in = 0;   // client -> server
  int64_t bytes_out = 0;  // server -> client
  int64_t errors = 0;     // failed connects to this server / refused clients
};

class Server {
 public:
  explicit Server(ServerConfig config) : config_(std::move(config)) {}

  const ServerConfig& config() const { return config_; }
  // A reload changed check, inter, rise, fall, weight or backup; the state stays.
  void Reconfigure(ServerConfig config) { config_ = std::move(config); }
  const std::string& name() const { return config_.name; }
  bool up() const { return up_; }
  Counters& counters() { return counters_; }
  const Counters& counters() const { return counters_; }

  // Records one check result; returns true when it changed the state.
  bool RecordCheck(bool ok, std::string detail);
  const std::string& last_check() const { return last_check_; }
  bool last_check_ok() const { return last_check_ok_; }
  // Wall-clock time of the last check, seconds since the epoch (0: none yet).
  int64_t last_check_time() const { return last_check_time_; }
  int64_t state_changes() const { return state_changes_; }

  // Smooth weighted round robin bookkeeping (ServerPool only).
  int64_t rr_current = 0;

 private:
  ServerConfig config_;
  Counters counters_;
  // haproxy starts a server UP and lets `fall` failures take it down.
  bool up_ = true;
  int streak_ = 0;  // consecutive results that contradict the state
  std::string last_check_ = "not checked yet";
  bool last_check_ok_ = true;
  int64_t last_check_time_ = 0;
  int64_t state_changes_ = 0;
};

}  // namespace warren::balancer
