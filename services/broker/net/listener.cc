#include "broker/net/listener.h"

#include <asio/post.hpp>

#include "amqp/constants.h"
#include "broker/net/session.h"
#include "common/log.h"

namespace warren::net {

Listener::Listener(asio::io_context& io, core::Broker& broker, tls::Context tls,
                   std::chrono::milliseconds handshake_timeout)
    : io_(io), broker_(broker), acceptor_(io), retry_timer_(io), tls_(std::move(tls)),
      handshake_timeout_(handshake_timeout) {}

Listener::~Listener() {
  // Release every connection's model state while the broker still exists;
  // handlers still queued on the loop then find their session finished.
  auto sessions = std::move(sessions_);
  for (auto& [p, s] : sessions) s->Abort();
}

void Listener::Listen(const std::string& host, uint16_t port) {
  asio::ip::tcp::endpoint ep(asio::ip::make_address(host), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  Accept();
}

uint16_t Listener::port() const { return acceptor_.local_endpoint().port(); }
std::string Listener::host() const { return acceptor_.local_endpoint().address().to_string(); }

void Listener::Accept() {
  acceptor_.async_accept([this](const std::error_code& ec, asio::ip::tcp::socket socket) {
    if (stopping_) return;
    if (ec) {
      // EMFILE and friends: log, wait a moment for descriptors to free up,
      // and keep accepting rather than stop forever.
      if (ec == asio::error::operation_aborted) return;
      spdlog::warn("accept failed: {}", ec.message());
      if (ec == asio::error::no_descriptors || ec == std::errc::too_many_files_open_in_system)
        out_of_descriptors_ = true;
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](const std::error_code& e) {
        if (!e && !stopping_) Accept();
      });
      return;
    }
    out_of_descriptors_ = false;
    auto session = std::make_shared<Session>(
        std::move(socket), broker_, tls_, handshake_timeout_, [this](Session* s) {
          // Deferred: the session may be inside its own handler.
          asio::post(io_, [this, s] { sessions_.erase(s); });
        });
    sessions_.emplace(session.get(), session);
    session->Start();
    Accept();
  });
}

void Listener::Shutdown() {
  stopping_ = true;
  std::error_code ec;
  acceptor_.close(ec);
  retry_timer_.cancel();
  for (auto& [p, s] : sessions_)
    s->Close(static_cast<uint16_t>(amqp::ReplyCode::kConnectionForced),
             "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'");
}

}  // namespace warren::net
