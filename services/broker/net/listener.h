// Accepts AMQP clients on one address, in plain text or over TLS (AMQPS),
// and keeps the registry of live sessions (so the node can close them all
// on shutdown).
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

#include "common/tls.h"

namespace warren::core {
class Broker;
}

namespace warren::net {

class Session;

class Listener {
 public:
  // `tls`: the server context of an AMQPS listener; null for plain AMQP.
  Listener(asio::io_context& io, core::Broker& broker, tls::Context tls = nullptr,
           std::chrono::milliseconds handshake_timeout = std::chrono::seconds(5));
  ~Listener();
  // Binds and listens; throws std::system_error when the address is taken.
  void Listen(const std::string& host, uint16_t port);
  uint16_t port() const;
  std::string host() const;
  // Stops accepting and closes every session with 320 CONNECTION_FORCED.
  void Shutdown();
  size_t session_count() const { return sessions_.size(); }
  // The last accept failed for want of file descriptors (RabbitMQ's
  // file_descriptor_limit alarm); the next one that succeeds clears it.
  bool out_of_descriptors() const { return out_of_descriptors_; }
  bool tls() const { return tls_ != nullptr; }
  // New certificates (SIGHUP): connections accepted from now on use
  // `context`; established ones keep theirs.
  void ReplaceTls(tls::Context context) { tls_ = std::move(context); }
  // Its certificate's expiry (tls::CertificateNotAfter); 0 without TLS.
  int64_t certificate_not_after() const { return tls::CertificateNotAfter(tls_); }

 private:
  void Accept();

  asio::io_context& io_;
  core::Broker& broker_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  tls::Context tls_;
  std::chrono::milliseconds handshake_timeout_;
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_;
  bool stopping_ = false;
  bool out_of_descriptors_ = false;
};

}  // namespace warren::net
