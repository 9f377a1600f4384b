#include "balancer/health_check.h"

#include <asio/write.hpp>

#include "amqp/frame.h"
#include "amqp/methods.h"
#include "common/log.h"
#include "common/text.h"

namespace warren::balancer {

namespace {
constexpr size_t kMaxStartBytes = 64 * 1024;  // connection.start is far smaller

// What the server sent, quoted for a log line and the stats page (its bytes
// are the server's, not ours: control bytes escaped, at most 64 shown).
std::string Quote(const std::string& in) { return "'" + LogSafe(in, 64) + "'"; }

// Why the first bytes of a server are not a connection.start frame.
std::string NotAmqp(const std::string& in, const std::string& why) {
  // A broker that does not speak 0-9-1 answers with the protocol header it
  // does speak, then closes (spec 4.2.2).
  if (in.size() >= 8 && in.compare(0, 4, "AMQP") == 0)
    return "the server wants another protocol version, it sent " + Quote(in.substr(0, 8));
  return why + "; the server sent " + Quote(in);
}
}  // namespace

HealthCheck::HealthCheck(asio::io_context& io, std::shared_ptr<Server> server, std::string listener,
                         Millis timeout_connect)
    : io_(io),
      server_(std::move(server)),
      listener_(std::move(listener)),
      timeout_(std::min(timeout_connect, server_->config().inter)),
      dialer_(io),
      timer_(io),
      deadline_(io),
      socket_(io) {
  const ServerConfig& c = server_->config();
  if (c.check != CheckKind::kAmqps) return;
  Result<tls::Context> ctx =
      tls::ClientContext(c.check_tls.files, c.check_tls.files.verify == tls::Verify::kPeer);
  if (ctx.ok()) tls_context_ = ctx.value();
  else tls_context_error_ = ctx.error().text;  // every probe fails with it
}

void HealthCheck::Start() {
  if (server_->config().check == CheckKind::kNone) {
    (void)server_->RecordCheck(true, "no check configured");
    return;
  }
  Probe();  // at once, so a dead server is found within fall * inter
}

void HealthCheck::Stop() {
  stopped_ = true;
  timer_.cancel();
  deadline_.cancel();
  dialer_.Cancel();
  tls_.reset();
  std::error_code ignored;
  socket_.close(ignored);
}

void HealthCheck::Schedule() {
  if (stopped_) return;
  timer_.expires_after(server_->config().inter);
  timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec && !self->stopped_) self->Probe();
  });
}

void HealthCheck::Probe() {
  probing_ = true;
  auto start = std::chrono::steady_clock::now();
  dialer_.Dial(server_->config().address, timeout_,
               [self = shared_from_this(), start](std::error_code ec, asio::ip::tcp::socket s) {
                 if (self->stopped_) return;
                 if (ec) return self->Done(false, "connect: " + ec.message());
                 if (self->server_->config().check == CheckKind::kTcp)
                   return self->Done(true, "tcp connect ok");
                 self->Connected(std::move(s), start);
               });
}

void HealthCheck::Connected(asio::ip::tcp::socket socket, std::chrono::steady_clock::time_point start) {
  socket_ = std::move(socket);
  in_.clear();
  // What remains of the check's time budget covers the handshakes.
  auto left = timeout_ - (std::chrono::steady_clock::now() - start);
  deadline_.expires_after(std::max<std::chrono::nanoseconds>(left, Millis(1)));
  deadline_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec || !self->probing_) return;
    std::error_code ignored;
    self->socket_.close(ignored);  // the pending wait or read completes with an error
  });
  if (server_->config().check != CheckKind::kAmqps) {
    SendHeader(0);
    return ReadMore();
  }
  if (!tls_context_) return Done(false, tls_context_error_);
  Result<tls::ClientSession> session =
      tls::ClientSession::Make(tls_context_, socket_.native_handle(), server_->config().check_tls.server_name);
  if (!session.ok()) return Done(false, session.error().text);
  tls_.emplace(std::move(session.value()));
  Handshake();
}

void HealthCheck::Handshake() {
  switch (tls::Io io = tls_->Handshake()) {
    case tls::Io::kDone:
      return SendHeader(0);
    case tls::Io::kWantRead:
    case tls::Io::kWantWrite:
      return Wait(io, [this] { Handshake(); });
    default:
      return Done(false, tls_->error());
  }
}

bool HealthCheck::Interrupted(std::error_code ec) const {
  return ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor;
}

void HealthCheck::Wait(tls::Io io, std::function<void()> then) {
  auto what = io == tls::Io::kWantRead ? asio::socket_base::wait_read : asio::socket_base::wait_write;
  socket_.async_wait(what, [self = shared_from_this(), then = std::move(then)](std::error_code ec) {
    if (self->stopped_ || !self->probing_) return;
    if (!ec) return then();
    std::string within = " within " + std::to_string(self->timeout_.count()) + " ms";
    self->Done(false, !self->Interrupted(ec)        ? "waiting on the socket: " + ec.message()
                      : self->tls_->handshaken()    ? "no connection.start" + within
                                                    : "no TLS handshake" + within);
  });
}

// The protocol header from `from` on; over TLS the read of connection.start
// starts once it is sent (in plain TCP both run at once, as before).
void HealthCheck::SendHeader(size_t from) {
  std::string_view header = amqp::kProtocolHeader;
  if (!tls_) {
    asio::async_write(socket_, asio::buffer(header.data(), header.size()),
                      [self = shared_from_this()](std::error_code ec, size_t) {
                        if (self->stopped_) return;
                        if (ec) self->Done(false, "sending the protocol header: " + ec.message());
                      });
    return;
  }
  size_t n = 0;
  switch (tls::Io io = tls_->Write(header.data() + from, header.size() - from, n)) {
    case tls::Io::kDone:
      return from + n < header.size() ? SendHeader(from + n) : ReadMore();
    case tls::Io::kWantRead:
    case tls::Io::kWantWrite:
      return Wait(io, [this, from] { SendHeader(from); });
    default:
      return Done(false, "sending the protocol header: " + tls_->error());
  }
}

void HealthCheck::ReadMore() {
  if (!probing_) return;  // sending the header failed
  if (tls_) {
    size_t n = 0;
    switch (tls::Io io = tls_->Read(buf_.data(), buf_.size(), n)) {
      case tls::Io::kDone:
        return Received(n);
      case tls::Io::kWantRead:
      case tls::Io::kWantWrite:
        return Wait(io, [this] { ReadMore(); });
      default:
        return Done(false, "reading connection.start: " + tls_->error() +
                               (in_.empty() ? "" : "; the server sent " + Quote(in_)));
    }
  }
  socket_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](std::error_code ec, size_t n) {
    if (self->stopped_ || !self->probing_) return;
    if (!ec) return self->Received(n);
    self->Done(false, self->Interrupted(ec)
                          ? "no connection.start within " + std::to_string(self->timeout_.count()) + " ms"
                          : "reading connection.start: " + ec.message() +
                                (self->in_.empty() ? "" : "; the server sent " + Quote(self->in_)));
  });
}

void HealthCheck::Received(size_t n) {
  in_.append(buf_.data(), n);
  amqp::FrameView frame;
  amqp::FrameError error;
  size_t used = 0;
  // The frame may not be larger than kMaxStartBytes: a bigger size is
  // refused as soon as its header has arrived.
  switch (amqp::DecodeFrame(in_, kMaxStartBytes, frame, used, error)) {
    case amqp::FrameDecode::kNeedMore:
      return ReadMore();
    case amqp::FrameDecode::kError:
      return Done(false, NotAmqp(in_, "not an AMQP frame (" + error.text + ")"));
    case amqp::FrameDecode::kOk:
      break;
  }
  amqp::Method method;
  if (frame.type != amqp::kFrameMethod || frame.channel != 0 ||
      amqp::DecodeMethod(frame.payload, method) != amqp::MethodDecode::kOk ||
      !std::holds_alternative<amqp::ConnectionStart>(method))
    return Done(false, NotAmqp(in_, "first frame is not connection.start"));
  const auto& start = std::get<amqp::ConnectionStart>(method);
  std::string over = tls_ ? " over " + tls_->Negotiated() : "";
  Done(true, "connection.start, AMQP " + std::to_string(start.version_major) + "-" +
                 std::to_string(start.version_minor) + over);
}

void HealthCheck::Done(bool ok, std::string detail) {  // a copy: it may be tls_->error()
  if (!probing_) return;  // a second failure of the same probe
  probing_ = false;
  deadline_.cancel();
  if (tls_) tls_->Shutdown();  // close_notify, if the socket takes it at once
  tls_.reset();
  std::error_code ignored;
  socket_.close(ignored);
  const ServerConfig& c = server_->config();
  if (server_->RecordCheck(ok, detail)) {
    if (ok)
      spdlog::info("{}/{} is UP ({} checks passed: {})", listener_, c.name, c.rise, detail);
    else
      spdlog::warn("{}/{} ({}:{}) is DOWN ({} checks failed: {})", listener_, c.name, c.address.host,
                   c.address.port, c.fall, detail);
  }
  Schedule();
}

}  // namespace warren::balancer
