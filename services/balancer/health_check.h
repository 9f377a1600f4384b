// Checks one server every `inter` and feeds the result to Server::RecordCheck:
//   tcp   a TCP connect within min(inter, timeout_connect);
//   amqp  the same, then the AMQP 0-9-1 protocol header ("AMQP" 0 0 9 1,
//         spec 4.2.2) and a wait for the server's first frame, which must be
//         a method frame on channel 0 carrying connection.start (10,10), the
//         first thing a broker sends (spec 1.4.2.1); then the check hangs up;
//   amqps the same as amqp inside TLS: the handshake (check_tls_*: the CA,
//         verify, the server name, a client certificate) then the protocol
//         header and connection.start; the one deadline covers both. Why a
//         handshake failed (untrusted or expired certificate, a plain AMQP
//         port, ...) is the check's detail;
//   none  (check = false) no probe: the server stays UP.
// Every UP/DOWN change is logged, with the detail of the last check.
//
// Lifecycle: owned by shared_ptr; Start() then Stop() (reload or exit).
// Pending handlers hold a reference, so Stop() may be called at any time.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "balancer/dial.h"
#include "balancer/server.h"
#include "common/tls_client.h"

namespace warren::balancer {

class HealthCheck : public std::enable_shared_from_this<HealthCheck> {
 public:
  HealthCheck(asio::io_context& io, std::shared_ptr<Server> server, std::string listener,
              Millis timeout_connect);
  void Start();
  void Stop();

 private:
  void Schedule();
  void Probe();
  void Connected(asio::ip::tcp::socket socket, std::chrono::steady_clock::time_point start);
  void Handshake();
  void SendHeader(size_t from);
  void ReadMore();
  void Received(size_t n);
  // Runs `then` once the socket is ready for what `io` asks (TLS only).
  void Wait(tls::Io io, std::function<void()> then);
  // The deadline closed the socket, or the probe ended meanwhile.
  bool Interrupted(std::error_code ec) const;
  void Done(bool ok, std::string detail);

  asio::io_context& io_;
  std::shared_ptr<Server> server_;
  std::string listener_;
  Millis timeout_;
  Dialer dialer_;
  asio::steady_timer timer_;
  asio::steady_timer deadline_;
  asio::ip::tcp::socket socket_;
  tls::Context tls_context_;         // amqps: made once per HealthCheck
  std::string tls_context_error_;    // why it could not be made
  std::optional<tls::ClientSession> tls_;  // the probe's session
  std::array<char, 4096> buf_;
  std::string in_;
  bool stopped_ = false;
  bool probing_ = false;
};

}  // namespace warren::balancer
