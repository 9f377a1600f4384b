#include "balancer/session.h"

#include <asio/write.hpp>

#include "common/log.h"

namespace warren::balancer {

namespace {
constexpr size_t kBufferSize = 64 * 1024;

std::string Endpoint(const asio::ip::tcp::socket& s) {
  std::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
}
}  // namespace

Session::Session(asio::io_context& io, asio::ip::tcp::socket client,
                 std::shared_ptr<SessionOwner> owner, Timeouts timeouts)
    : io_(io),
      client_(std::move(client)),
      server_socket_(io),
      owner_(std::move(owner)),
      timeouts_(timeouts),
      dialer_(io),
      idle_timer_(io) {
  peer_ = Endpoint(client_);
  client_ip_ = peer_.substr(0, peer_.rfind(':'));
  std::error_code ignored;
  client_.set_option(asio::ip::tcp::no_delay(true), ignored);
  dirs_[0] = Direction{&client_, &server_socket_, {}, false, {}, true};
  dirs_[1] = Direction{&server_socket_, &client_, {}, false, {}, false};
  started_ = Clock::now();
}

void Session::Start(std::shared_ptr<Server> first) {
  server_ = std::move(first);
  owner_->counters().current++;
  owner_->counters().total++;
  Connect();
}

void Session::Connect() {
  auto self = shared_from_this();
  dialer_.Dial(server_->config().address, timeouts_.connect,
               [self](std::error_code ec, asio::ip::tcp::socket s) { self->OnConnected(ec, std::move(s)); });
}

void Session::OnConnected(std::error_code ec, asio::ip::tcp::socket socket) {
  if (finished_) return;
  if (ec) {
    server_->counters().errors++;
    tried_.push_back(server_.get());
    int attempt = static_cast<int>(tried_.size());
    std::shared_ptr<Server> next =
        attempt <= timeouts_.retries ? owner_->PickServer(client_ip_, tried_) : nullptr;
    spdlog::warn("{}: client {}: connect to {} ({}:{}) failed: {}{}", owner_->name(), peer_,
                 server_->name(), server_->config().address.host, server_->config().address.port,
                 ec.message(), next ? ", retrying on " + next->name() : ", giving up");
    if (!next) return Finish("no server could be reached");
    server_ = std::move(next);
    return Connect();
  }
  server_socket_ = std::move(socket);
  connected_ = true;
  server_->counters().current++;
  server_->counters().total++;
  std::error_code ignored;
  client_.non_blocking(true, ignored);
  server_socket_.non_blocking(true, ignored);
  for (Direction& d : dirs_) {
    d.buffer.resize(kBufferSize);
    d.last_activity = Clock::now();
    Pump(d);
  }
  ArmIdleTimer();
}

void Session::Pump(Direction& d) {
  auto self = shared_from_this();
  d.from->async_read_some(asio::buffer(d.buffer), [self, &d](std::error_code ec, size_t n) {
    self->OnRead(d, ec, n);
  });
}

void Session::OnRead(Direction& d, std::error_code ec, size_t n) {
  if (finished_) return;
  if (ec == asio::error::eof) {
    // This side will send no more: pass the FIN on, keep the other way open.
    d.ended = true;
    if (first_end_.empty()) first_end_ = d.from_client ? "client" : "server";
    std::error_code ignored;
    d.to->shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    if (dirs_[0].ended && dirs_[1].ended) Finish("closed, " + first_end_ + " first");
    return;
  }
  if (ec) return Finish(std::string(d.from_client ? "client" : "server") + " error: " + ec.message());
  d.last_activity = Clock::now();
  int64_t& total = d.from_client ? in_ : out_;
  total += static_cast<int64_t>(n);
  int64_t& mine = d.from_client ? server_->counters().bytes_in : server_->counters().bytes_out;
  int64_t& listener = d.from_client ? owner_->counters().bytes_in : owner_->counters().bytes_out;
  mine += static_cast<int64_t>(n);
  listener += static_cast<int64_t>(n);
  // Most writes fit the peer's socket buffer: write at once and read again
  // without a trip through the event loop; only the remainder waits.
  std::error_code wec;
  size_t done = d.to->write_some(asio::buffer(d.buffer.data(), n), wec);
  if (wec == asio::error::would_block || wec == asio::error::try_again) {
    done = 0;
  } else if (wec) {
    return Finish(std::string(d.from_client ? "server" : "client") + " error: " + wec.message());
  }
  if (done == n) {
    d.last_activity = Clock::now();
    return Pump(d);
  }
  auto self = shared_from_this();
  asio::async_write(*d.to, asio::buffer(d.buffer.data() + done, n - done),
                    [self, &d](std::error_code ec, size_t) {
    if (self->finished_) return;
    if (ec)
      return self->Finish(std::string(d.from_client ? "server" : "client") + " error: " + ec.message());
    d.last_activity = Clock::now();
    self->Pump(d);
  });
}

void Session::ArmIdleTimer() {
  // One timer per session, set for the earliest idle deadline; reads only
  // move timestamps, and the timer re-arms itself when it fires early.
  Clock::time_point deadline = Clock::time_point::max();
  for (const Direction& d : dirs_) {
    Millis limit = d.from_client ? timeouts_.client : timeouts_.server;
    if (!d.ended && limit.count() > 0) deadline = std::min(deadline, d.last_activity + limit);
  }
  if (deadline == Clock::time_point::max()) return;
  idle_timer_.expires_at(deadline);
  auto self = shared_from_this();
  idle_timer_.async_wait([self](std::error_code ec) {
    if (ec || self->finished_) return;
    auto now = Clock::now();
    for (const Direction& d : self->dirs_) {
      Millis limit = d.from_client ? self->timeouts_.client : self->timeouts_.server;
      if (!d.ended && limit.count() > 0 && now - d.last_activity >= limit)
        return self->Finish(d.from_client ? "client idle timeout" : "server idle timeout");
    }
    self->ArmIdleTimer();
  });
}

void Session::Close(const std::string& reason) {
  auto self = shared_from_this();
  asio::post(io_, [self, reason] { self->Finish(reason); });
}

void Session::Finish(const std::string& reason) {
  if (finished_) return;
  finished_ = true;
  std::error_code ignored;
  client_.close(ignored);
  server_socket_.close(ignored);
  idle_timer_.cancel();
  dialer_.Cancel();
  owner_->counters().current--;
  if (connected_) server_->counters().current--;
  auto ms = std::chrono::duration_cast<Millis>(Clock::now() - started_).count();
  spdlog::info("{}: client {} -> {}: {} after {} ms, {} B in, {} B out", owner_->name(), peer_,
               server_->name(), reason, ms, in_, out_);
  owner_->SessionEnded(this);
}

}  // namespace warren::balancer
