#include "broker/net/session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

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

// Sizes a read buffer (in_, and over TLS the ciphertext's) to the traffic:
// a read that filled it (`filled`) doubles it up to kBusyReadBuffer; once it
// holds nothing (`held`), a last read of `n` bytes that brought little, or a
// size past kShrinkAbove (a frame near frame_max), takes it back to 4 KiB, so
// idle connections stay small.
void SizeToTraffic(std::string& buffer, size_t held, bool filled, size_t n) {
  if (filled && buffer.size() < kBusyReadBuffer) {
    buffer.resize(buffer.size() * 2);
  } else if (held == 0 && buffer.size() > kInitialReadBuffer &&
             (buffer.size() > kShrinkAbove || n < buffer.size() / 16)) {
    buffer.resize(kInitialReadBuffer);
    buffer.shrink_to_fit();
  }
}

// AMQPS: OpenSSL works on memory. Ciphertext arrives through the loop's own
// reads into `rx` and leaves through its writes from `tx`, so TLS costs the
// same system calls as plain AMQP (no epoll re-arm per wait, one write(2)
// for a batch's records). Plaintext still goes straight between OpenSSL and
// the connection's buffers (docs/tls.md, AMQPS).
struct CipherBuffers {
  std::string rx;         // ciphertext read, [rx_off, rx_len) not yet taken by OpenSSL
  size_t rx_off = 0;
  size_t rx_len = 0;
  size_t rx_last = 0;     // what the last read brought (SizeToTraffic)
  bool rx_eof = false;    // the client closed its side
  std::string tx;         // ciphertext OpenSSL made, not yet handed to the socket

  size_t buffered() const { return rx_len - rx_off; }
};

// The BIO OpenSSL reads and writes: a session's CipherBuffers.
int CipherRead(BIO* bio, char* out, size_t len, size_t* n) {
  auto* t = static_cast<CipherBuffers*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  size_t avail = t->buffered();
  if (avail == 0) {
    if (t->rx_eof) return 0;
    BIO_set_retry_read(bio);
    return 0;
  }
  *n = std::min(avail, len);
  std::memcpy(out, t->rx.data() + t->rx_off, *n);
  t->rx_off += *n;
  return 1;
}

int CipherWrite(BIO* bio, const char* in, size_t len, size_t* n) {
  auto* t = static_cast<CipherBuffers*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  t->tx.append(in, len);
  *n = len;
  return 1;
}

long CipherCtrl(BIO* bio, int cmd, long, void*) {
  auto* t = static_cast<CipherBuffers*>(BIO_get_data(bio));
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return t->rx_eof && t->buffered() == 0;
    case BIO_CTRL_PENDING: return static_cast<long>(t->buffered());
    case BIO_CTRL_WPENDING: return static_cast<long>(t->tx.size());
    default: return 0;
  }
}

BIO* NewCipherBio(CipherBuffers* t) {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "warren session");
    BIO_meth_set_read_ex(m, CipherRead);
    BIO_meth_set_write_ex(m, CipherWrite);
    BIO_meth_set_ctrl(m, CipherCtrl);
    return m;
  }();
  BIO* bio = method ? BIO_new(method) : nullptr;
  if (!bio) return nullptr;
  BIO_set_data(bio, t);
  BIO_set_init(bio, 1);
  return bio;
}

}  // namespace

struct Session::Tls : CipherBuffers {
  explicit Tls(SSL* s) : ssl(s) {}
  ~Tls() { SSL_free(ssl); }
  SSL* ssl;
  std::string sending;    // ciphertext the socket is writing
  bool send_in_flight = false;
  bool report = false;    // tx holds writing_: OnWrite follows its write
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
  tls_ = std::make_unique<Tls>(SSL_new(tls.get()));
  if (!tls_->ssl) return;
  if (BIO* bio = NewCipherBio(tls_.get())) {
    SSL_set_bio(tls_->ssl, bio, bio);  // one reference, both directions
    SSL_set_accept_state(tls_->ssl);
  } else {
    SSL_free(tls_->ssl);
    tls_->ssl = nullptr;
  }
}

Session::~Session() = default;

void Session::Start() {
  if (tls_) Handshake();
  else DoRead();
}

template <class Then, class Failed>
void Session::ReadCipher(Then then, Failed failed) {
  Tls& t = *tls_;
  if (t.rx_off == t.rx_len) {
    t.rx_off = t.rx_len = 0;
    SizeToTraffic(t.rx, 0, false, t.rx_last);
  }
  if (t.rx.size() < kInitialReadBuffer) t.rx.resize(kInitialReadBuffer);
  if (t.rx_len == t.rx.size()) {
    if (t.rx_off > 0) {
      std::memmove(t.rx.data(), t.rx.data() + t.rx_off, t.rx_len - t.rx_off);
      t.rx_len -= t.rx_off;
      t.rx_off = 0;
    } else {
      t.rx.resize(t.rx.size() * 2);  // a record bigger than the buffer; OpenSSL bounds it
    }
  }
  socket_.async_read_some(
      asio::buffer(t.rx.data() + t.rx_len, t.rx.size() - t.rx_len),
      [self = shared_from_this(), then, failed](const std::error_code& ec, size_t n) {
        Tls& t = *self->tls_;
        if (self->finished_) return failed(*self, asio::error::operation_aborted);
        if (ec == asio::error::eof) {
          t.rx_eof = true;  // OpenSSL reads the end from the BIO
        } else if (ec) {
          return failed(*self, ec);
        }
        if (n > 0) ++self->reads_;
        bool filled = t.rx_len + n == t.rx.size();
        t.rx_len += n;
        t.rx_last = n;
        SizeToTraffic(t.rx, t.buffered(), filled, n);
        then(*self);
      });
}

void Session::FlushCipher() {
  Tls& t = *tls_;
  if (t.send_in_flight || t.tx.empty()) return;
  bool report = std::exchange(t.report, false);
  if (finished_) {
    t.tx.clear();
    if (report) OnWrite(asio::error::operation_aborted, 0);
    return;
  }
  t.send_in_flight = true;
  t.sending.swap(t.tx);
  asio::async_write(socket_, asio::buffer(t.sending),
                    [self = shared_from_this(), report](const std::error_code& ec, size_t n) {
                      Tls& t = *self->tls_;
                      t.send_in_flight = false;
                      if (n > 0) ++self->writes_;
                      // A busy connection keeps its buffer; an idle one lets it go.
                      if (n < kInitialReadBuffer || t.sending.capacity() > kShrinkAbove) {
                        std::string().swap(t.sending);
                      } else {
                        t.sending.clear();
                      }
                      if (report) {
                        self->OnWrite(ec, ec ? 0 : self->writing_.size());
                      } else if (ec) {
                        return self->Finish();
                      }
                      self->FlushCipher();
                    });
}

void Session::SendCipherNow() {
  Tls& t = *tls_;
  if (t.send_in_flight || t.tx.empty()) return;
  ::send(socket_.native_handle(), t.tx.data(), t.tx.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  t.tx.clear();
}

void Session::Handshake() {
  if (!tls_->ssl) return HandshakeFailed(tls::TakeErrors("cannot start TLS"));
  close_timer_.expires_after(handshake_timeout_);
  close_timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (ec || self->finished_ || self->connection_) return;
    self->HandshakeFailed("not finished within " +
                          std::to_string(self->handshake_timeout_.count()) + " ms");
  });
  ReadCipher([](Session& s) { s.HandshakeStep(); },
             [](Session& s, const std::error_code&) { s.Finish(); });
}

void Session::HandshakeStep() {
  if (finished_) return;
  Tls& t = *tls_;
  if (!t.peeked) {
    // A plaintext AMQP client on the TLS port sends "AMQP": say so, rather
    // than OpenSSL's "wrong version number".
    t.peeked = true;
    if (t.buffered() >= 4 && std::memcmp(t.rx.data() + t.rx_off, "AMQP", 4) == 0)
      return HandshakeFailed("a plaintext AMQP client on the TLS port");
  }
  ERR_clear_error();
  int r = SSL_do_handshake(t.ssl);
  if (r == 1) {
    close_timer_.cancel();
    FlushCipher();
    tls::PeerInfo info = tls::Describe(t.ssl);
    protocol::PeerInfo peer = PeerOf(socket_);
    peer.tls = true;
    peer.tls_protocol = info.protocol;
    peer.tls_cipher = info.cipher;
    peer.cert_subject = info.subject;
    if (info.verified) peer.cert_login = info.common_name;
    return Established(std::move(peer));
  }
  switch (SSL_get_error(t.ssl, r)) {
    case SSL_ERROR_WANT_READ:
      FlushCipher();
      return ReadCipher([](Session& s) { s.HandshakeStep(); },
                        [](Session& s, const std::error_code&) { s.Finish(); });
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) return HandshakeFailed("the client closed the connection");
      [[fallthrough]];
    default: {
      std::string why = tls::TakeErrors();
      long verify = SSL_get_verify_result(t.ssl);
      if (verify != X509_V_OK)
        why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
      return HandshakeFailed(why);
    }
  }
}

void Session::HandshakeFailed(const std::string& why) {
  protocol::PeerInfo peer = PeerOf(socket_);
  spdlog::warn("TLS handshake with {}:{} refused: {}", peer.host, peer.port, LogSafe(why));
  SendCipherNow();  // OpenSSL's alert, so the client learns why
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
        [self = shared_from_this()](const std::error_code& ec, size_t n) {
          if (n > 0) ++self->reads_;
          self->OnRead(ec, n);
        });
    return;
  }
  // Ciphertext or plaintext already buffered: the socket would not wake for it.
  if (tls_->buffered() > 0 || tls_->rx_eof || SSL_has_pending(tls_->ssl)) {
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->TlsRead(); });
    return;
  }
  ReadCipher([](Session& s) { s.TlsRead(); },
             [](Session& s, const std::error_code& ec) { s.OnRead(ec, 0); });
}

void Session::TlsRead() {
  if (finished_) return OnRead(asio::error::operation_aborted, 0);
  // Record after record until in_ is full or the ciphertext runs out, as one
  // read(2) takes all the kernel holds.
  size_t got = 0;
  for (;;) {
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_read_ex(tls_->ssl, in_.data() + in_len_ + got, in_.size() - in_len_ - got, &n);
    if (r == 1) {
      got += n;
      if (in_len_ + got < in_.size()) continue;
      break;
    }
    int e = SSL_get_error(tls_->ssl, r);
    FlushCipher();  // what reading made OpenSSL say (a key update, an alert)
    if (got > 0) break;  // an end or error shows on the next read
    switch (e) {
      case SSL_ERROR_WANT_READ:
        return ReadCipher([](Session& s) { s.TlsRead(); },
                          [](Session& s, const std::error_code& ec) { s.OnRead(ec, 0); });
      case SSL_ERROR_ZERO_RETURN:  // the client's close_notify
        return OnRead(asio::error::eof, 0);
      default:
        spdlog::debug("TLS read: {}", tls::TakeErrors("the connection was lost"));
        return OnRead(asio::error::connection_reset, 0);
    }
  }
  OnRead({}, got);
}

void Session::WriteAll() {
  if (!tls_) {
    asio::async_write(
        socket_, asio::buffer(writing_),
        [self = shared_from_this()](const std::error_code& ec, size_t n) {
          if (n > 0) ++self->writes_;
          self->OnWrite(ec, n);
        });
    return;
  }
  // Into memory, whole (a record at a time with partial writes on), then
  // out in one write with whatever OpenSSL had queued before it.
  size_t written = 0;
  while (written < writing_.size()) {
    ERR_clear_error();
    size_t n = 0;
    if (SSL_write_ex(tls_->ssl, writing_.data() + written, writing_.size() - written, &n) != 1) {
      spdlog::debug("TLS write: {}", tls::TakeErrors("the connection was lost"));
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        self->OnWrite(asio::error::connection_reset, 0);
      });
      return;
    }
    written += n;
  }
  tls_->report = true;
  FlushCipher();
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
  SizeToTraffic(in_, in_len_, filled, n);
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
    SendCipherNow();
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
