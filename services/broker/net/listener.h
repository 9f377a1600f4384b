// Accepts AMQP clients on one address and keeps the registry of live
// sessions (so the node can close them all on shutdown).
//
// Lifecycle: owned by the Node; single-threaded on the node loop.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

namespace warren::core {
class Broker;
}

namespace warren::net {

class Session;

class Listener {
 public:
  Listener(asio::io_context& io, core::Broker& broker);
  ~Listener();
  // Binds and listens; throws std::system_error when the address is taken.
  void Listen(const std::string& host, uint16_t port);
  uint16_t port() const;
  std::string host() const;
  // Stops accepting and closes every session with 320 CONNECTION_FORCED.
  void Shutdown();
  size_t session_count() const { return sessions_.size(); }

 private:
  void Accept();

  asio::io_context& io_;
  core::Broker& broker_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_;
  bool stopping_ = false;
};

}  // namespace warren::net
