// The [stats] listener: a minimal HTTP/1.0 server. GET <uri> is the HTML
// page, GET <uri>?format=json the same as JSON, GET /metrics (or
// <uri>/metrics) the Prometheus text format; anything else is 404. One
// request per connection, answered and closed; 5 s to send the request.
//
// Lifecycle: owned by the Balancer; Close() before destruction. Single-
// threaded on the loop; `frontends` is asked for the current listeners on
// every request.
#pragma once

#include <functional>
#include <memory>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "balancer/stats_render.h"

namespace warren::balancer {

class StatsServer {
 public:
  StatsServer(asio::io_context& io, std::function<Frontends()> frontends);
  // Binds and listens (throws std::system_error).
  void Open(const StatsConfig& config);
  void Update(const StatsConfig& config) { config_ = config; }
  void Close();
  const StatsConfig& config() const { return config_; }

 private:
  struct Response {
    int status;
    const char* content_type;
    std::string body;
  };
  void Accept();
  void Serve(std::shared_ptr<asio::ip::tcp::socket> socket);
  Response Answer(const std::string& request_line) const;

  asio::io_context& io_;
  std::function<Frontends()> frontends_;
  asio::ip::tcp::acceptor acceptor_;
  StatsConfig config_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace warren::balancer
