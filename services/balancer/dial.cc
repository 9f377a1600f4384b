#include "balancer/dial.h"

#include <asio/connect.hpp>

namespace warren::balancer {

void Dialer::Dial(const HostPort& to, Millis timeout, Handler handler) {
  handler_ = std::move(handler);
  timed_out_ = false;
  timer_.expires_after(timeout);
  timer_.async_wait([this](std::error_code ec) {
    if (ec) return;  // cancelled: the dial finished first
    timed_out_ = true;
    resolver_.cancel();
    std::error_code ignored;
    socket_.close(ignored);
  });
  std::error_code ec;
  asio::ip::address address = asio::ip::make_address(to.host, ec);
  if (!ec) return Connect({address, to.port});
  resolver_.async_resolve(to.host, std::to_string(to.port),
                          [this](std::error_code ec, asio::ip::tcp::resolver::results_type r) {
                            if (ec || r.empty()) return Complete(ec ? ec : asio::error::host_not_found);
                            Connect(*r.begin());
                          });
}

void Dialer::Connect(const asio::ip::tcp::endpoint& endpoint) {
  socket_.async_connect(endpoint, [this](std::error_code ec) { Complete(ec); });
}

void Dialer::Complete(std::error_code ec) {
  timer_.cancel();
  if (timed_out_) ec = asio::error::timed_out;
  if (!handler_) return;
  Handler h = std::move(handler_);
  handler_ = nullptr;
  // The handler may Dial() again at once (a retry): hand the socket over and
  // leave a fresh one behind first.
  asio::ip::tcp::socket connected = std::move(socket_);
  socket_ = asio::ip::tcp::socket(io_);
  if (!ec) {
    std::error_code ignored;
    connected.set_option(asio::ip::tcp::no_delay(true), ignored);
  }
  h(ec, std::move(connected));
}

void Dialer::Cancel() {
  timer_.cancel();
  resolver_.cancel();
  std::error_code ignored;
  socket_.close(ignored);
}

}  // namespace warren::balancer
