#include "balancer/session.h"

#include <algorithm>

#include <asio/post.hpp>

#include "common/log.h"

namespace warren::balancer {

namespace {
constexpr size_t kScratchSize = 64 * 1024;
// Reads forwarded in one go while the destination keeps up, before the
// direction goes back to the loop so other sessions get their turn.
constexpr int kReadsPerTurn = 16;

LiveGauges live;

// The one read buffer of the loop's thread: every direction reads into it
// and writes from it before anything else runs.
char* Scratch() {
  static thread_local std::array<char, kScratchSize> scratch;
  return scratch.data();
}

bool WouldBlock(std::error_code ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

std::string Endpoint(const asio::ip::tcp::socket& s) {
  std::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
}
}  // namespace

const LiveGauges& Live() { return live; }

Session::Session(asio::io_context& io, asio::ip::tcp::socket client,
                 std::shared_ptr<SessionOwner> owner, Timeouts timeouts)
    : io_(io),
      client_(io),
      server_side_(io),
      owner_(std::move(owner)),
      timeouts_(timeouts),
      dialer_(io),
      idle_timer_(io) {
  live.sessions++;
  client_.socket = std::move(client);
  client_.name = "client";
  server_side_.name = "server";
  peer_ = Endpoint(client_.socket);
  client_ip_ = peer_.substr(0, peer_.rfind(':'));
  std::error_code ignored;
  client_.socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  dirs_[0].from = dirs_[1].to = &client_;
  dirs_[0].to = dirs_[1].from = &server_side_;
  started_ = Clock::now();
}

Session::~Session() {
  for (Direction& d : dirs_) Release(d);
  live.sessions--;
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
  server_side_.socket = std::move(socket);
  connected_ = true;
  server_->counters().current++;
  server_->counters().total++;
  std::error_code ignored;
  client_.socket.non_blocking(true, ignored);
  server_side_.socket.non_blocking(true, ignored);
  client_.last_io = server_side_.last_io = Clock::now();
  ArmIdleTimer();
  // The client may have sent its protocol header while the connect ran.
  for (Direction& d : dirs_)
    if (!finished_) Forward(d);
}

void Session::Forward(Direction& d) {
  char* scratch = Scratch();
  for (int turn = 0; turn < kReadsPerTurn; ++turn) {
    std::error_code ec;
    size_t n = d.from->socket.read_some(asio::buffer(scratch, kScratchSize), ec);
    if (WouldBlock(ec)) return WaitReadable(d);
    if (ec == asio::error::eof) return EndDirection(d);
    if (ec) return Finish(std::string(d.from->name) + " error: " + ec.message());
    d.from->last_io = Clock::now();
    Count(d, n);
    size_t written = 0;
    if (!WriteNow(d, scratch, n, written)) return;
    if (written < n) {
      Hold(d, scratch + written, n - written);
      return WaitWritable(d);
    }
  }
  // More may be waiting, and the readiness wait would miss it (Asio's epoll
  // reactor is edge-triggered: wait only after a read found nothing).
  asio::post(io_, [self = shared_from_this(), &d] {
    if (!self->finished_) self->Forward(d);
  });
}

// Writes what `to` takes without blocking; false (and the session finished)
// on an error.
bool Session::WriteNow(Direction& d, const char* data, size_t n, size_t& written) {
  std::error_code ec;
  written = d.to->socket.write_some(asio::buffer(data, n), ec);
  if (WouldBlock(ec)) {
    written = 0;
  } else if (ec) {
    Finish(std::string(d.to->name) + " error: " + ec.message());
    return false;
  }
  if (written > 0) d.to->last_io = d.to->write_stalled = Clock::now();
  return true;
}

// Only after a read returned would_block (see Forward).
void Session::WaitReadable(Direction& d) {
  d.from->socket.async_wait(asio::socket_base::wait_read,
                            [self = shared_from_this(), &d](std::error_code ec) {
    if (self->finished_) return;
    if (ec) return self->Finish(std::string(d.from->name) + " error: " + ec.message());
    self->Forward(d);
  });
}

void Session::WaitWritable(Direction& d) {
  d.to->socket.async_wait(asio::socket_base::wait_write,
                          [self = shared_from_this(), &d](std::error_code ec) { self->OnWritable(d, ec); });
}

void Session::OnWritable(Direction& d, std::error_code ec) {
  if (finished_) return;
  if (ec) return Finish(std::string(d.to->name) + " error: " + ec.message());
  size_t written = 0;
  if (!WriteNow(d, d.pending.data() + d.offset, d.pending.size() - d.offset, written)) return;
  d.offset += written;
  if (d.offset < d.pending.size()) return WaitWritable(d);
  Release(d);
  d.from->last_io = Clock::now();  // waiting to read from it starts again
  Forward(d);  // the source has waited: read it again at once
}

void Session::Hold(Direction& d, const char* data, size_t n) {
  d.pending.assign(data, data + n);
  d.offset = 0;
  d.to->write_stalled = Clock::now();
  live.buffers++;
  live.buffered_bytes += static_cast<int64_t>(d.pending.capacity());
  RearmIfEarlier();
}

void Session::Release(Direction& d) {
  if (d.pending.capacity() == 0) return;
  live.buffers--;
  live.buffered_bytes -= static_cast<int64_t>(d.pending.capacity());
  std::vector<char>().swap(d.pending);  // clear() would keep the memory
  d.offset = 0;
}

void Session::EndDirection(Direction& d) {
  // `from` will send no more: pass the FIN on, keep the other way open.
  d.ended = true;
  if (first_end_.empty()) first_end_ = d.from->name;
  std::error_code ignored;
  d.to->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  if (dirs_[0].ended && dirs_[1].ended) return Finish("closed, " + first_end_ + " first");
  // The *_fin limits apply from now on, to both sides (a side that was
  // already idle gets them in full); they may be shorter than the others.
  client_.last_io = server_side_.last_io = Clock::now();
  RearmIfEarlier();
}

void Session::Count(Direction& d, size_t n) {
  bool in = d.from == &client_;
  auto bytes = static_cast<int64_t>(n);
  (in ? in_ : out_) += bytes;
  (in ? server_->counters().bytes_in : server_->counters().bytes_out) += bytes;
  (in ? owner_->counters().bytes_in : owner_->counters().bytes_out) += bytes;
}

// When `side` times out (time_point::max: nothing is expected of it):
//   - while the session waits to read from it, its limit after its last
//     activity (haproxy: a write to a side refreshes its read timeout);
//   - while bytes wait to be written to it, its limit after they last moved.
// A side that is not read because its bytes wait for the other side is not
// idle: the other side's write limit covers that.
Session::Clock::time_point Session::Deadline(const Side& side) const {
  bool client = &side == &client_;
  const Direction& from = dirs_[client ? 0 : 1];
  const Direction& into = dirs_[client ? 1 : 0];
  bool half_closed = dirs_[0].ended || dirs_[1].ended;
  Millis limit = client ? (half_closed ? timeouts_.client_fin : timeouts_.client)
                        : (half_closed ? timeouts_.server_fin : timeouts_.server);
  Clock::time_point deadline = Clock::time_point::max();
  if (!from.ended && from.pending.empty()) deadline = side.last_io + limit;
  if (!into.pending.empty()) deadline = std::min(deadline, side.write_stalled + limit);
  return deadline;
}

Session::Clock::time_point Session::Earliest() const {
  return std::min(Deadline(client_), Deadline(server_side_));
}

void Session::ArmIdleTimer() {
  // One timer per session, set for the earliest deadline. I/O only moves
  // timestamps later, and the timer re-arms itself when it fires early;
  // what can bring a deadline earlier (bytes starting to wait, a FIN) calls
  // RearmIfEarlier.
  idle_timer_.expires_at(Earliest());
  idle_timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec && !self->finished_) self->OnIdleTimer();
  });
}

void Session::RearmIfEarlier() {
  if (Earliest() < idle_timer_.expiry()) ArmIdleTimer();
}

void Session::OnIdleTimer() {
  auto now = Clock::now();
  const char* when = dirs_[0].ended || dirs_[1].ended ? " (half-closed)" : "";
  if (now >= Deadline(client_)) return Finish(std::string("client timeout") + when);
  if (now >= Deadline(server_side_)) return Finish(std::string("server timeout") + when);
  ArmIdleTimer();
}

void Session::Close(const std::string& reason) {
  auto self = shared_from_this();
  asio::post(io_, [self, reason] { self->Finish(reason); });
}

void Session::Finish(const std::string& reason) {
  if (finished_) return;
  finished_ = true;
  std::error_code ignored;
  client_.socket.close(ignored);
  server_side_.socket.close(ignored);
  idle_timer_.cancel();
  dialer_.Cancel();
  for (Direction& d : dirs_) Release(d);
  owner_->counters().current--;
  if (connected_) server_->counters().current--;
  auto ms = std::chrono::duration_cast<Millis>(Clock::now() - started_).count();
  spdlog::info("{}: client {} -> {}: {} after {} ms, {} B in, {} B out", owner_->name(), peer_,
               server_->name(), reason, ms, in_, out_);
  owner_->SessionEnded(this);
}

}  // namespace warren::balancer
