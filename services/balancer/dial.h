// Opens one TCP connection to HOST:PORT within a deadline: a numeric host is
// used as is, a name goes through the asynchronous resolver first. Used by
// sessions (to reach a server) and by TCP/AMQP health checks.
//
// Lifecycle: Dial() once; the handler runs exactly once on the loop, with
// the connected socket on success. Destroying the Dialer, or Cancel(),
// completes a pending dial with operation_aborted.
#pragma once

#include <functional>
#include <system_error>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "balancer/config.h"

namespace warren::balancer {

class Dialer {
 public:
  using Handler = std::function<void(std::error_code, asio::ip::tcp::socket)>;

  explicit Dialer(asio::io_context& io) : io_(io), resolver_(io), timer_(io), socket_(io) {}
  void Dial(const HostPort& to, Millis timeout, Handler handler);
  void Cancel();

 private:
  void Connect(const asio::ip::tcp::endpoint& endpoint);
  void Complete(std::error_code ec);

  asio::io_context& io_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer timer_;
  asio::ip::tcp::socket socket_;
  Handler handler_;
  bool timed_out_ = false;
};

}  // namespace warren::balancer
