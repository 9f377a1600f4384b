// The [stats] listener: a minimal HTTP/1.0 server. GET <uri> is the HTML
// page, GET <uri>?format=json the same as JSON, GET /metrics (or
// <uri>/metrics) the Prometheus text format; HEAD gives the same headers
// without the body; anything else is 404 (405 for other methods, 400 for a
// request line that is not HTTP). One request per connection, answered and
// closed.
//
// Bounded against slow and hostile clients: the request line and headers
// must arrive within 5 s and fit in 8 KiB (else 431), the answer must be
// taken within 5 s, and at most 64 connections are open at once: one more
// closes the oldest that is still sending its request, so a crowd of slow
// clients can neither keep an operator or a scraper out nor use up the
// process's file descriptors. A failed accept pauses accepting for 100 ms.
// Request lines are logged through LogSafe: errors at info (a few a second
// at most), the rest at debug.
//
// Lifecycle: owned by the Balancer; Close() before destruction closes every
// open connection. Single-threaded on the loop; `frontends` is asked for the
// current listeners on every request.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "balancer/log_budget.h"
#include "balancer/stats_render.h"

namespace warren::balancer {

class StatsServer {
 public:
  static constexpr size_t kMaxConnections = 64;
  static constexpr size_t kMaxRequestBytes = 8192;
  static constexpr Millis kRequestTimeout{5000};

  StatsServer(asio::io_context& io, std::function<Frontends()> frontends);
  // Binds and listens (throws std::system_error).
  void Open(const StatsConfig& config);
  void Update(const StatsConfig& config) { config_ = config; }
  void Close();
  const StatsConfig& config() const { return config_; }

 private:
  class Exchange;  // one connection: its request and the answer
  struct Response {
    int status;
    const char* content_type;
    std::string body;
  };
  void Accept();
  void OnAcceptFailed(std::error_code ec);
  void Admit(asio::ip::tcp::socket socket);
  void Forget(Exchange* exchange);
  Response Answer(const std::string& request_line) const;
  void LogRequest(const std::string& peer, const std::string& line, int status);

  asio::io_context& io_;
  std::function<Frontends()> frontends_;
  asio::ip::tcp::acceptor acceptor_;
  StatsConfig config_;
  std::list<std::shared_ptr<Exchange>> open_;  // oldest first
  LogBudget log_budget_{5};
  int64_t failed_accepts_ = 0;  // in a row
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace warren::balancer
