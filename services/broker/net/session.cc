#include "broker/net/session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <cstring>

#include <asio/post.hpp>
#include <asio/write.hpp>

#include "amqp/frame.h"
#include "broker/core/broker.h"
#include "common/log.h"
#include "common/text.h"

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

struct Session::Tls {
  explicit Tls(SSL* s) : ssl(s) {}
  ~Tls() { SSL_free(ssl); }
  SSL* ssl;
  size_t written = 0;     // of writing_, by TlsWrite
  bool peeked = false;    // the first bytes were looked at (HandshakeStep)
};

Session::Session(asio::ip::tcp::socket socket, core::Broker& broker, tls::Context tls,
                 std::chrono::milliseconds handshake_timeout, OnFinished on_finished)
    : socket_(std::move(socket)), broker_(broker), handshake_timeout_(handshake_timeout),
      on_finished_(std::move(on_finished)), close_timer_(socket_.get_executor()) {
  std::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  in_.resize(kInitialReadBuffer);
  if (!tls) {
    connection_ = std::make_unique<protocol::Connection>(broker_, *this, PeerOf(socket_));
    return;
  }
  // OpenSSL reads and writes the socket itself, without blocking; the loop
  // only waits for it to become readable or writable.
  socket_.non_blocking(true, ec);
  tls_ = std::make_unique<Tls>(SSL_new(tls.get()));
  if (tls_->ssl) {
    SSL_set_fd(tls_->ssl, socket_.native_handle());
    SSL_set_accept_state(tls_->ssl);
    // Whole records, several at a time, per read(2): without read-ahead
    // OpenSSL reads a record's 5-byte header, then the record, two system
    // calls a record. The buffer goes back while the connection is idle
    // (SSL_MODE_RELEASE_BUFFERS, common/tls.cc).
    SSL_set_read_ahead(tls_->ssl, 1);
    SSL_set_default_read_buffer_len(tls_->ssl, kBusyReadBuffer);
  }
}

Session::~Session() = default;

void Session::Start() {
  if (tls_) Handshake();
  else DoRead();
}

template <class Then, class Failed>
void Session::AwaitSocket(bool write, Then then, Failed failed) {
  socket_.async_wait(write ? asio::socket_base::wait_write : asio::socket_base::wait_read,
                     [self = shared_from_this(), then, failed](const std::error_code& ec) {
                       if (ec || self->finished_) failed(*self, ec ? ec : asio::error::eof);
                       else then(*self);
                     });
}

void Session::Handshake() {
  if (!tls_->ssl) return HandshakeFailed(tls::TakeErrors("cannot start TLS"));
  close_timer_.expires_after(handshake_timeout_);
  close_timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (ec || self->finished_ || self->connection_) return;
    self->HandshakeFailed("not finished within " +
                          std::to_string(self->handshake_timeout_.count()) + " ms");
  });
  AwaitSocket(
      false, [](Session& s) { s.HandshakeStep(); },
      [](Session& s, const std::error_code&) { s.Finish(); });
}

void Session::HandshakeStep() {
  if (finished_) return;
  if (!tls_->peeked) {
    // A plaintext AMQP client on the TLS port sends "AMQP": say so, rather
    // than OpenSSL's "wrong version number".
    tls_->peeked = true;
    char head[4];
    ssize_t n = ::recv(socket_.native_handle(), head, sizeof head, MSG_PEEK);
    if (n == 4 && std::memcmp(head, "AMQP", 4) == 0)
      return HandshakeFailed("a plaintext AMQP client on the TLS port");
  }
  ERR_clear_error();
  int r = SSL_do_handshake(tls_->ssl);
  if (r == 1) {
    close_timer_.cancel();
    tls::PeerInfo t = tls::Describe(tls_->ssl);
    protocol::PeerInfo peer = PeerOf(socket_);
    peer.tls = true;
    peer.tls_protocol = t.protocol;
    peer.tls_cipher = t.cipher;
    peer.cert_subject = t.subject;
    if (t.verified) peer.cert_login = t.common_name;
    return Established(std::move(peer));
  }
  switch (SSL_get_error(tls_->ssl, r)) {
    case SSL_ERROR_WANT_READ:
      return AwaitSocket(
          false, [](Session& s) { s.HandshakeStep(); },
          [](Session& s, const std::error_code&) { s.Finish(); });
    case SSL_ERROR_WANT_WRITE:
      return AwaitSocket(
          true, [](Session& s) { s.HandshakeStep(); },
          [](Session& s, const std::error_code&) { s.Finish(); });
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) return HandshakeFailed("the client closed the connection");
      [[fallthrough]];
    default: {
      std::string why = tls::TakeErrors();
      long verify = SSL_get_verify_result(tls_->ssl);
      if (verify != X509_V_OK)
        why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
      return HandshakeFailed(why);
    }
  }
}

void Session::HandshakeFailed(const std::string& why) {
  protocol::PeerInfo peer = PeerOf(socket_);
  spdlog::warn("TLS handshake with {}:{} refused: {}", peer.host, peer.port, LogSafe(why));
  Finish();
}

void Session::Established(protocol::PeerInfo peer) {
  spdlog::debug("TLS from {}:{}: {} {}{}", peer.host, peer.port, peer.tls_protocol,
                peer.tls_cipher,
                peer.cert_subject.empty() ? "" : ", certificate " + LogSafe(peer.cert_subject));
  connection_ = std::make_unique<protocol::Connection>(broker_, *this, std::move(peer));
  DoRead();
}

void Session::ReadSome() {
  if (!tls_ || draining_) {
    socket_.async_read_some(
        asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
        [self = shared_from_this()](const std::error_code& ec, size_t n) { self->OnRead(ec, n); });
    return;
  }
  // OpenSSL may hold decrypted bytes already: the socket would not wake.
  if (SSL_has_pending(tls_->ssl)) {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->TlsRead(); });
    return;
  }
  AwaitSocket(
      false, [](Session& s) { s.TlsRead(); },
      [](Session& s, const std::error_code& ec) { s.OnRead(ec, 0); });
}

void Session::TlsRead() {
  if (finished_) return OnRead(asio::error::operation_aborted, 0);
  ERR_clear_error();
  size_t n = 0;
  int r = SSL_read_ex(tls_->ssl, in_.data() + in_len_, in_.size() - in_len_, &n);
  if (r == 1) return OnRead({}, n);
  switch (int e = SSL_get_error(tls_->ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return AwaitSocket(
          e == SSL_ERROR_WANT_WRITE, [](Session& s) { s.TlsRead(); },
          [](Session& s, const std::error_code& ec) { s.OnRead(ec, 0); });
    case SSL_ERROR_ZERO_RETURN:  // the client's close_notify
      return OnRead(asio::error::eof, 0);
    default:
      spdlog::debug("TLS read: {}", tls::TakeErrors("the connection was lost"));
      return OnRead(asio::error::connection_reset, 0);
  }
}

void Session::WriteAll() {
  if (!tls_) {
    asio::async_write(
        socket_, asio::buffer(writing_),
        [self = shared_from_this()](const std::error_code& ec, size_t n) { self->OnWrite(ec, n); });
    return;
  }
  tls_->written = 0;
  TlsWrite();
}

void Session::TlsWrite() {
  auto failed = [](Session& s, const std::error_code& ec) { s.OnWrite(ec, s.tls_->written); };
  if (finished_) return failed(*this, asio::error::operation_aborted);
  while (tls_->written < writing_.size()) {
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_write_ex(tls_->ssl, writing_.data() + tls_->written,
                         writing_.size() - tls_->written, &n);
    if (r == 1) {
      tls_->written += n;
      continue;
    }
    int e = SSL_get_error(tls_->ssl, r);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
      return AwaitSocket(e == SSL_ERROR_WANT_WRITE, [](Session& s) { s.TlsWrite(); }, failed);
    spdlog::debug("TLS write: {}", tls::TakeErrors("the connection was lost"));
    return failed(*this, asio::error::connection_reset);
  }
  // Completed here, but reported from the loop as a socket write would be:
  // OnWrite may start the next write.
  asio::post(socket_.get_executor(),
             [self = shared_from_this()] { self->OnWrite({}, self->tls_->written); });
}

void Session::DoRead() {
  if (!reading_ || read_in_flight_ || close_after_flush_ || finished_) return;
  if (in_len_ == in_.size()) {
    // A frame bigger than the buffer is arriving; frame_max bounds it.
    size_t limit = connection_->input_frame_max();
    size_t next = std::max(in_.size() * 2, size_t{kInitialReadBuffer});
    in_.resize(std::max(std::min(next, limit * 2), in_len_ + 1));
  }
  read_in_flight_ = true;
  ReadSome();
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
  WriteAll();
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
  // Over TLS, close_notify first: the client then knows the stream ended
  // whole. One try; a full socket buffer loses it, and the FIN still
  // follows.
  if (tls_) {
    ERR_clear_error();
    SSL_shutdown(tls_->ssl);
    ERR_clear_error();
  }
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
  ReadSome();  // the raw bytes: nothing more is decrypted
}

void Session::Close(uint16_t code, const std::string& text) {
  if (!connection_) return Finish();  // still in the TLS handshake
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
  if (connection_) connection_->OnTransportClosed();
  if (on_finished_) on_finished_(this);
}

}  // namespace warren::net
