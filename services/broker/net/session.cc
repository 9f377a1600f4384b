#include "broker/net/session.h"

#include <cstring>

#include <asio/post.hpp>
#include <asio/write.hpp>

#include "amqp/frame.h"
#include "broker/core/broker.h"
#include "common/log.h"

namespace warren::net {

namespace {

constexpr size_t kInitialReadBuffer = 4096;
// A busy publisher fills whatever it is offered: reads that fill the buffer
// double it up to this, so a stream of small messages costs one read per
// hundreds of frames, while an idle connection keeps 4 KiB. Not more: one
// publisher's bigger batch holds the loop longer, and at 64 KiB a 1:1
// publisher/consumer pair (bench/perf.sh scenario 1) let the consumer fall
// behind.
constexpr size_t kBusyReadBuffer = 32 * 1024;
// Past this (a frame near frame_max), an emptied buffer goes back to 4 KiB.
constexpr size_t kShrinkAbove = 256 * 1024;

protocol::PeerInfo PeerOf(const asio::ip::tcp::socket& s) {
  protocol::PeerInfo p;
  std::error_code ec;
  auto ep = s.remote_endpoint(ec);
  if (ec) return p;
  auto addr = ep.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  p.host = addr.to_string();
  p.port = ep.port();
  p.loopback = addr.is_loopback();
  auto local = s.local_endpoint(ec);
  if (!ec) {
    auto laddr = local.address();
    if (laddr.is_v6() && laddr.to_v6().is_v4_mapped())
      laddr = asio::ip::make_address_v4(asio::ip::v4_mapped, laddr.to_v6());
    p.local_host = laddr.to_string();
    p.local_port = local.port();
  }
  return p;
}

}  // namespace

Session::Session(asio::ip::tcp::socket socket, core::Broker& broker, OnFinished on_finished)
    : socket_(std::move(socket)), on_finished_(std::move(on_finished)),
      close_timer_(socket_.get_executor()) {
  std::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  connection_ = std::make_unique<protocol::Connection>(broker, *this, PeerOf(socket_));
  in_.resize(kInitialReadBuffer);
}

Session::~Session() = default;

void Session::Start() { DoRead(); }

void Session::DoRead() {
  if (!reading_ || read_in_flight_ || close_after_flush_ || finished_) return;
  if (in_len_ == in_.size()) {
    // A frame bigger than the buffer is arriving; frame_max bounds it.
    size_t limit = connection_->input_frame_max();
    size_t next = std::max(in_.size() * 2, size_t{kInitialReadBuffer});
    in_.resize(std::max(std::min(next, limit * 2), in_len_ + 1));
  }
  read_in_flight_ = true;
  socket_.async_read_some(
      asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
      [self = shared_from_this()](const std::error_code& ec, size_t n) { self->OnRead(ec, n); });
}

void Session::OnRead(const std::error_code& ec, size_t n) {
  read_in_flight_ = false;
  if (finished_) return;
  if (ec) {
    Finish();
    return;
  }
  if (close_after_flush_) {
    // The connection is done with input: what still arrives is dropped.
    in_len_ = 0;
    if (draining_) DoDrain();
    return;
  }
  bool filled = in_len_ + n == in_.size();
  in_len_ += n;
  Offer(filled, n);
}

void Session::Offer(bool filled, size_t n) {
  size_t used = connection_->OnData(std::string_view(in_.data(), in_len_));
  if (used > 0) {
    std::memmove(in_.data(), in_.data() + used, in_len_ - used);
    in_len_ -= used;
  }
  // Size the buffer to the traffic: double it while reads fill it; back to
  // 4 KiB once it is empty and a read brought little, so idle connections
  // stay small.
  if (filled && in_.size() < kBusyReadBuffer) {
    in_.resize(in_.size() * 2);
  } else if (in_len_ == 0 && in_.size() > kInitialReadBuffer &&
             (in_.size() > kShrinkAbove || n < in_.size() / 16)) {
    in_.resize(kInitialReadBuffer);
    in_.shrink_to_fit();
  }
  if (connection_->state() == protocol::Connection::State::kClosed) {
    CloseAfterFlush();
    return;
  }
  DoRead();
}

void Session::RequestFlush() {
  if (flush_posted_ || write_in_flight_ || finished_) return;
  flush_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->DoWrite();
  });
}

void Session::DoWrite() {
  if (write_in_flight_ || finished_) return;
  std::string& out = connection_->output();
  if (draining_) {
    out.clear();  // after our FIN nothing more can be sent
    return;
  }
  if (out.empty()) {
    if (close_after_flush_) ShutdownWrite();
    return;
  }
  // The log first: a client must never see a delivery the store has not
  // recorded (it would come back without redelivered after a crash).
  if (core::Persistence* store = connection_->broker().persistence()) store->WriteBuffered();
  writing_.swap(out);
  out.clear();
  write_in_flight_ = true;
  asio::async_write(
      socket_, asio::buffer(writing_),
      [self = shared_from_this()](const std::error_code& ec, size_t n) { self->OnWrite(ec, n); });
}

void Session::OnWrite(const std::error_code& ec, size_t n) {
  write_in_flight_ = false;
  bytes_written_ += n;
  if (finished_) return;
  if (ec) {
    Finish();
    return;
  }
  writing_.clear();
  if (writing_.capacity() > kShrinkAbove) writing_.shrink_to_fit();
  if (!connection_->output().empty()) {
    DoWrite();
    return;
  }
  if (close_after_flush_) {
    ShutdownWrite();
    return;
  }
  connection_->OnDrained();
}

size_t Session::Backlog() const {
  return (write_in_flight_ ? writing_.size() : 0) + connection_->output().size();
}

void Session::SetReading(bool reading) {
  reading_ = reading;
  if (!reading_) return;
  // Frames the connection held back (a metadata change was in flight) are
  // still buffered: offer them again before reading more. Posted, so the
  // connection is not re-entered from its own call. A read in flight offers
  // them itself when it completes.
  if (in_len_ > 0 && !read_in_flight_) {
    if (offer_posted_) return;
    offer_posted_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->offer_posted_ = false;
      if (self->finished_ || self->close_after_flush_ || !self->reading_ || self->read_in_flight_)
        return;
      self->Offer(false, 0);
    });
    return;
  }
  DoRead();
}

void Session::CloseAfterFlush() {
  if (close_after_flush_ || finished_) return;
  close_after_flush_ = true;
  // A peer that reads nothing (a full window) or never closes cannot hold
  // the socket longer than this.
  close_timer_.expires_after(kCloseLinger);
  close_timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec) self->Finish();
  });
  RequestFlush();
}

void Session::ShutdownWrite() {
  if (draining_ || finished_) return;
  draining_ = true;
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) {
    Finish();
    return;
  }
  DoDrain();
}

void Session::DoDrain() {
  if (read_in_flight_ || finished_) return;
  read_in_flight_ = true;
  in_len_ = 0;
  socket_.async_read_some(
      asio::buffer(in_.data(), in_.size()),
      [self = shared_from_this()](const std::error_code& ec, size_t n) { self->OnRead(ec, n); });
}

void Session::Close(uint16_t code, const std::string& text) {
  connection_->Close(code, text);
  RequestFlush();
}

void Session::Finish() {
  if (finished_) return;
  finished_ = true;
  close_timer_.cancel();
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  connection_->OnTransportClosed();
  if (on_finished_) on_finished_(this);
}

}  // namespace warren::net
