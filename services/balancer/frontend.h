// One [[listen]] section: the acceptor on its bind address, its ServerPool
// and HealthChecks, and the registry of its sessions. A client accepted
// while no server is UP, or from an address that already holds
// maxconn_per_source sessions, is closed at once. At maxconn (the
// listener's, or [global] maxconn across all listeners) the Frontend stops
// accepting, so further clients wait in the kernel's accept backlog, as
// haproxy does, and accepting resumes when a session ends; sessions of
// silent clients end after timeout_client, so the backlog moves. A failed
// accept (out of file descriptors) pauses accepting for 100 ms rather than
// retrying at once.
//
// Lifecycle: shared_ptr owned by the Balancer and by each of its sessions.
// Reconfigure() swaps servers on SIGHUP (servers kept by name and address
// keep their state and counters); StopAccepting() on reload-removal or
// SIGTERM; sessions run on until they end. Single-threaded on the loop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "balancer/config.h"
#include "balancer/health_check.h"
#include "balancer/log_budget.h"
#include "balancer/pool.h"
#include "balancer/session.h"

namespace warren::balancer {

// [global] maxconn across every listener.
struct GlobalLimit {
  int maxconn = 4096;
  int active = 0;
  std::function<void()> on_release;  // a slot freed: paused listeners may accept
};

class Frontend : public SessionOwner, public std::enable_shared_from_this<Frontend> {
 public:
  Frontend(asio::io_context& io, GlobalLimit& global);
  ~Frontend() override;

  // Binds and listens (throws std::system_error), then starts accepting.
  void Open(const ListenConfig& config, const BalancerConfig& defaults);
  void Reconfigure(const ListenConfig& config, const BalancerConfig& defaults);
  void StopAccepting();
  void CloseSessions(const std::string& reason);
  void ResumeAccepting();

  const ListenConfig& config() const { return config_; }
  const ServerPool& pool() const { return *pool_; }
  size_t session_count() const { return sessions_.size(); }
  uint16_t port() const { return port_; }

  // SessionOwner
  std::shared_ptr<Server> PickServer(const std::string& client_ip,
                                     const std::vector<const Server*>& tried) override;
  void SessionEnded(Session* session) override;
  Counters& counters() override { return counters_; }
  const std::string& name() const override { return config_.name; }
  const Counters& counters() const { return counters_; }

 private:
  void Accept();
  void OnAcceptFailed(std::error_code ec);
  void OnAccept(asio::ip::tcp::socket socket);
  void Refuse(asio::ip::tcp::socket& socket, const std::string& why);
  bool AtLimit() const;
  void StartChecks();
  void StopChecks();

  asio::io_context& io_;
  GlobalLimit& global_;
  asio::ip::tcp::acceptor acceptor_;
  ListenConfig config_;
  Timeouts timeouts_;
  std::unique_ptr<ServerPool> pool_;
  std::vector<std::shared_ptr<HealthCheck>> checks_;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_;
  std::unordered_map<std::string, int> per_source_;  // open sessions by client address
  Counters counters_;
  LogBudget refusals_log_{5};
  int64_t failed_accepts_ = 0;  // in a row; logged when the first fails and when one works again
  uint16_t port_ = 0;
  bool accepting_ = false;  // an async_accept is pending
  bool open_ = false;       // the acceptor is still ours to use
};

}  // namespace warren::balancer
