// The server on Boost.Beast: one Session per connection, driven by the I/O
// thread; each Session has at most one request in flight, whose Handler
// calls run on the pool and post their result back to the I/O thread.
// A Session is the same code over a plain TCP stream or a TLS one (Beast's
// ssl_stream over the same TCP stream, whose deadlines then bound the
// handshake and every TLS read and write too).
// Beast and OpenSSL stay in this file (they are slow to compile).
#include "http/server.h"

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/resource.h>

#include <atomic>
#include <cctype>
#include <limits>
#include <list>
#include <mutex>
#include <type_traits>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "common/config.h"
#include "common/log.h"
#include "common/text.h"

namespace warren::http {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// The client's address as text; an IPv4 client of a dual-stack socket as IPv4.
std::string PeerAddress(const tcp::endpoint& peer) {
  net::ip::address a = peer.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
  return a.to_string();
}

// "127.0.0.1:5555", "[::1]:5555": the client in log lines.
std::string PeerName(const tcp::endpoint& peer) {
  std::string address = PeerAddress(peer);
  if (address.find(':') != std::string::npos) address = "[" + address + "]";
  return address + ":" + std::to_string(peer.port());
}

// Connections that ended without a fault worth answering: the client went,
// or a deadline passed (over TLS, a client may also go without close_notify).
bool Gone(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
         ec == net::error::operation_aborted || ec == net::error::connection_reset ||
         ec == net::error::eof || ec == ssl::error::stream_truncated;
}

// Why a TLS handshake failed, for the log: OpenSSL's reason ("http
// request", "unsupported protocol", "certificate verify failed"), and when a
// client's certificate failed, what was wrong with it ("certificate has
// expired").
std::string HandshakeFailure(const error_code& ec, SSL* native,
                             std::chrono::milliseconds timeout) {
  if (ec == beast::error::timeout)
    return "not finished within " + std::to_string(timeout.count()) + " ms";
  if (ec == net::error::eof || ec == ssl::error::stream_truncated)
    return "the client closed the connection";
  if (ec.category() != net::error::get_ssl_category()) return ec.message();
  const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
  std::string out = reason ? reason : ec.message();
  if (long verify = SSL_get_verify_result(native); verify != X509_V_OK)
    out += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  return out;
}

}  // namespace

std::string Request::Header(std::string_view name) const {
  for (const Field& f : headers)
    if (SameName(f.name, name)) return f.value;
  return "";
}

bool Request::HasHeader(std::string_view name) const {
  for (const Field& f : headers)
    if (SameName(f.name, name)) return true;
  return false;
}

struct Server::Impl {
  struct Listener {
    explicit Listener(net::io_context& io, Scheme s) : acceptor(io), scheme(s) {}
    tcp::acceptor acceptor;
    Scheme scheme;
  };

  Impl(Handler& h, const Limits& l)
      : handler(h), limits(l), workers(std::max<size_t>(1, l.workers)) {}
  void Accept(Listener& listener);
  void Admit(Listener& listener, tcp::socket socket);
  std::shared_ptr<ssl::context> Tls() {
    std::lock_guard lock(tls_mu);
    return tls;
  }

  Handler& handler;
  const Limits limits;
  std::atomic<size_t> connections{0};
  size_t max_connections = 0;  // limits.max_connections, within the file limit
  tls::Settings tls_settings;  // set by UseTls, read-only after
  std::mutex tls_mu;
  // The context new TLS connections are made with (SSL_new takes its own
  // reference to the SSL_CTX, so a replaced one lives on in the
  // connections made with it). Guarded by tls_mu: ReloadTls replaces it
  // from the signal thread.
  std::shared_ptr<ssl::context> tls;
  // Declared before the I/O context: Sessions destroyed with it still count.
  net::io_context io;
  std::list<Listener> listeners;  // stable addresses: Accept holds a reference
  net::thread_pool workers;
};

namespace {

// Stream: PlainStream or TlsStream.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(Server::Impl& server, tcp::socket socket)
      : server_(server), limits_(server.limits), stream_(std::move(socket)) {
    ++server_.connections;
  }
  Session(Server::Impl& server, tcp::socket socket, ssl::context& tls)
      : server_(server), limits_(server.limits), stream_(std::move(socket), tls) {
    ++server_.connections;
  }
  ~Session() { --server_.connections; }

  void Start() {
    error_code ec;
    tcp::endpoint peer = Tcp().socket().remote_endpoint(ec);
    if (!ec) {
      request_peer_ = PeerAddress(peer);
      peer_name_ = PeerName(peer);
    }
    if constexpr (kTls) {
      Handshake();
    } else {
      ReadHead();
    }
  }

 private:
  using HeadParser = bhttp::request_parser<bhttp::empty_body>;
  using BodyParser = bhttp::request_parser<bhttp::string_body>;
  using std::enable_shared_from_this<Session>::shared_from_this;

  // The TCP stream under TLS or not: its deadlines bound every operation.
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  // A client that does not finish the handshake within handshake_timeout
  // is cut off, as one that is past a request deadline.
  void Handshake() {
    Tcp().expires_after(server_.tls_settings.handshake_timeout);
    auto self = shared_from_this();
    stream_.async_handshake(ssl::stream_base::server, [self](error_code ec) {
      if (!ec) return self->ReadHead();
      SSL* native = self->stream_.native_handle();
      // A connection opened and closed with nothing sent (a port check)
      // is no client's mistake.
      const bool silent = BIO_number_read(SSL_get_rbio(native)) == 0;
      if ((ec == net::error::eof || ec == ssl::error::stream_truncated) && silent) {
        spdlog::debug("https: {} closed the connection before a handshake", self->peer_name_);
      } else {
        spdlog::warn("https: TLS handshake with {} refused: {}", self->peer_name_,
                     HandshakeFailure(ec, native, self->server_.tls_settings.handshake_timeout));
      }
      self->Close();
    });
  }

  // Keep-alive: the next request's first byte within idle_timeout, then
  // its head within head_timeout.
  void AwaitRequest() {
    if (buffer_.size() > 0) return ReadHead();
    Tcp().expires_after(limits_.idle_timeout);
    auto self = shared_from_this();
    stream_.async_read_some(buffer_.prepare(4096), [self](error_code ec, size_t n) {
      if (ec) return self->Close();
      self->buffer_.commit(n);
      self->ReadHead();
    });
  }

  void ReadHead() {
    request_ = Request{};
    head_.emplace();
    head_->header_limit(static_cast<uint32_t>(limits_.head_limit));
    // The body's size is checked after Admit, so a 401 comes before a 413.
    // (Beast 1.74 compares the length with an empty optional as "above it",
    // so "no limit" is the largest one.)
    head_->body_limit(std::numeric_limits<uint64_t>::max());
    Tcp().expires_after(limits_.head_timeout);
    auto self = shared_from_this();
    bhttp::async_read_header(stream_, buffer_, *head_,
                             [self](error_code ec, size_t) { self->OnHead(ec); });
  }

  void OnHead(error_code ec) {
    if (ec == bhttp::error::header_limit) return Refuse(431, "the request head is too large");
    if (Gone(ec)) return Close();
    if (ec) return Refuse(400, "malformed request: " + ec.message());
    Tcp().expires_never();
    const auto& head = head_->get();
    request_.method = std::string(head.method_string());
    request_.target = std::string(head.target());
    request_.peer = request_peer_;
    for (const auto& field : head) {
      if (request_.headers.size() == limits_.max_headers)
        return Refuse(431, "more than " + std::to_string(limits_.max_headers) + " headers");
      request_.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    }
    if (request_.target.size() > limits_.max_target) return Refuse(414, "the URI is too long");
    if (boost::optional<uint64_t> n = head_->content_length()) request_.content_length = *n;
    request_.has_body = !head_->is_done();
    keep_alive_ = head_->keep_alive();
    OnPool([](Handler& h, const Request& r) { return h.Admit(r); },
           [](Session& s, std::optional<Response> r) { s.OnAdmitted(std::move(r)); });
  }

  void OnAdmitted(std::optional<Response> early) {
    if (early) return Send(std::move(*early), request_.has_body);
    if (!request_.has_body) return Dispatch();
    if (request_.content_length && *request_.content_length > limits_.body_limit)
      return Refuse(413, "the body is larger than " + std::to_string(limits_.body_limit) +
                             " bytes");
    if (SameName(request_.Header("Expect"), "100-continue")) return Continue();
    ReadBody();
  }

  // The client waits for "100 Continue" before it sends the body.
  void Continue() {
    continue_.emplace(bhttp::status::continue_, 11);
    Tcp().expires_after(limits_.write_timeout);
    auto self = shared_from_this();
    bhttp::async_write(stream_, *continue_, [self](error_code ec, size_t) {
      if (ec) return self->Close();
      self->ReadBody();
    });
  }

  void ReadBody() {
    body_.emplace(std::move(*head_));
    body_->body_limit(limits_.body_limit);
    Tcp().expires_after(limits_.body_timeout);
    auto self = shared_from_this();
    bhttp::async_read(stream_, buffer_, *body_,
                      [self](error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(error_code ec) {
    if (ec == bhttp::error::body_limit)
      return Refuse(413, "the body is larger than " + std::to_string(limits_.body_limit) +
                             " bytes");
    if (Gone(ec)) return Close();
    if (ec) return Refuse(400, "malformed body: " + ec.message());
    Tcp().expires_never();
    request_.body = std::move(body_->get().body());
    body_.reset();
    Dispatch();
  }

  void Dispatch() {
    OnPool([](Handler& h, const Request& r) { return h.Serve(r); },
           [](Session& s, Response r) { s.Send(std::move(r), false); });
  }

  // Runs `work` on the pool (an exception becomes a 500), then `then` on
  // the I/O thread with its result.
  template <typename Work, typename Then>
  void OnPool(Work work, Then then) {
    auto self = shared_from_this();
    net::post(server_.workers, [self, work, then] {
      using Result = decltype(work(self->server_.handler, self->request_));
      std::optional<Result> result;
      try {
        result.emplace(work(self->server_.handler, self->request_));
      } catch (const std::exception& e) {
        spdlog::error("{} {}: handler failed: {}", LogSafe(self->request_.method),
                      LogSafe(self->request_.target), LogSafe(e.what()));
      }
      net::post(self->stream_.get_executor(), [self, then, result = std::move(result)]() mutable {
        if (!result) return self->Refuse(500, "internal error");
        then(*self, std::move(*result));
      });
    });
  }

  // A refusal of the server's own; the connection closes after it, since
  // the rest of what the client sent is unread or unreadable.
  void Refuse(int status, const std::string& reason) {
    Response r;
    try {
      r = server_.handler.Refuse(status, reason);
    } catch (const std::exception&) {
      r = Response{status, "text/plain", {}, reason + "\n"};
    }
    Send(std::move(r), true);
  }

  void Send(Response r, bool close) {
    close = close || !keep_alive_;
    response_.emplace(static_cast<bhttp::status>(r.status), 11);
    for (const Field& f : r.headers) response_->set(f.name, f.value);
    if (!r.content_type.empty()) response_->set(bhttp::field::content_type, r.content_type);
    if (request_.method == "HEAD") {
      response_->content_length(r.body.size());
    } else {
      response_->body() = std::move(r.body);
      response_->prepare_payload();
    }
    response_->keep_alive(!close);
    Tcp().expires_after(limits_.write_timeout);
    auto self = shared_from_this();
    bhttp::async_write(stream_, *response_, [self, close](error_code ec, size_t) {
      self->response_.reset();
      if (ec) return self->Close();
      if (close) return self->Linger();
      self->AwaitRequest();
    });
  }

  // Half-closes, then reads and drops what the client still sends (for at
  // most two seconds and a megabyte), so the reply is not lost to a reset.
  // Over TLS the half-close is close_notify, and OpenSSL reads and drops
  // the records that follow until the client's close_notify or EOF, within
  // the same two seconds.
  void Linger() {
    Tcp().expires_after(std::chrono::seconds(2));
    auto self = shared_from_this();
    if constexpr (kTls) {
      stream_.async_shutdown([self](error_code) { self->Close(); });
    } else {
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      buffer_.clear();
      Drain(0);
    }
  }

  void Drain(size_t drained) {
    if (drained > (1 << 20)) return Close();
    auto self = shared_from_this();
    stream_.async_read_some(buffer_.prepare(16384), [self, drained](error_code ec, size_t n) {
      if (ec) return self->Close();
      self->Drain(drained + n);
    });
  }

  // At once, without close_notify over TLS: the client is gone, failed or
  // past a deadline.
  void Close() {
    error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().close();
  }

  Server::Impl& server_;
  const Limits& limits_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<HeadParser> head_;
  std::optional<BodyParser> body_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  Request request_;
  std::string request_peer_;
  std::string peer_name_;  // address and port, for log lines
  bool keep_alive_ = true;
};

}  // namespace

void Server::Impl::Accept(Listener& listener) {
  listener.acceptor.async_accept([this, &listener](error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of file descriptors, most likely: try again shortly.
      spdlog::warn("http accept failed: {}", ec.message());
      auto timer = std::make_shared<net::steady_timer>(io, std::chrono::milliseconds(100));
      timer->async_wait([this, &listener, timer](error_code e) {
        if (!e) Accept(listener);
      });
      return;
    }
    Admit(listener, std::move(socket));
    Accept(listener);
  });
}

void Server::Impl::Admit(Listener& listener, tcp::socket socket) {
  if (connections.load() >= max_connections) {
    error_code ignored;
    socket.close(ignored);
  } else if (listener.scheme == Scheme::kHttps) {
    std::make_shared<Session<TlsStream>>(*this, std::move(socket), *Tls())->Start();
  } else {
    std::make_shared<Session<PlainStream>>(*this, std::move(socket))->Start();
  }
}

Server::Server(Handler& handler, const Limits& limits)
    : impl_(std::make_unique<Impl>(handler, limits)) {}

Server::~Server() {
  Stop();
  impl_->workers.stop();
  impl_->workers.join();
}

namespace {

// Raises the open-file limit to the hard limit (one descriptor per client)
// and lowers max_connections to what it leaves room for, so accept never
// fails for want of descriptors.
size_t ConnectionsAllowed(size_t wanted) {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return wanted;
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    getrlimit(RLIMIT_NOFILE, &files);
  }
  constexpr rlim_t kReserved = 64;  // gRPC channels, logs, the UI's files
  if (files.rlim_cur == RLIM_INFINITY || files.rlim_cur > wanted + kReserved) return wanted;
  return files.rlim_cur > 2 * kReserved ? files.rlim_cur - kReserved : files.rlim_cur / 2;
}

}  // namespace

namespace {

// `context` as Asio's: Asio's context owns the SSL_CTX it wraps, so it gets
// a reference of its own.
std::shared_ptr<ssl::context> AsioContext(const tls::Context& context) {
  SSL_CTX_up_ref(context.get());
  return std::make_shared<ssl::context>(context.get());
}

}  // namespace

Status Server::UseTls(const tls::Settings& settings) {
  Result<tls::Context> made = tls::ServerContext(settings);
  if (!made.ok()) return made.error();
  impl_->tls_settings = settings;
  std::lock_guard lock(impl_->tls_mu);
  impl_->tls = AsioContext(made.value());
  return Status::Ok();
}

void Server::ReloadTls() {
  if (!impl_->Tls()) {
    spdlog::info("https: not served, no certificates to reload");
    return;
  }
  const tls::Settings& settings = impl_->tls_settings;
  Result<tls::Context> made = tls::ServerContext(settings);
  if (!made.ok()) {
    spdlog::error("https: certificates not reloaded, those in use stay: {}", made.error().text);
    return;
  }
  std::shared_ptr<ssl::context> fresh = AsioContext(made.value());
  {
    std::lock_guard lock(impl_->tls_mu);
    impl_->tls = std::move(fresh);
  }
  spdlog::info("https: certificates reloaded from {}; established connections keep theirs",
               settings.cert_file);
}

Result<uint16_t> Server::Listen(const std::string& host, uint16_t port, Scheme scheme) {
  if (scheme == Scheme::kHttps && !impl_->Tls())
    return Error{0, "HTTPS needs a certificate (tls cert_file and key_file)"};
  impl_->max_connections = ConnectionsAllowed(impl_->limits.max_connections);
  error_code ec;
  tcp::endpoint at;
  if (net::ip::address address = net::ip::make_address(host, ec); !ec) {
    at = tcp::endpoint(address, port);
  } else {
    tcp::resolver resolver(impl_->io);
    auto found = resolver.resolve(host, std::to_string(port), ec);
    if (ec || found.empty()) return Error{0, "cannot resolve \"" + host + "\""};
    at = found.begin()->endpoint();
  }
  Impl::Listener& listener = impl_->listeners.emplace_back(impl_->io, scheme);
  tcp::acceptor& a = listener.acceptor;
  if (a.open(at.protocol(), ec); ec) return Error{0, ec.message()};
  a.set_option(net::socket_base::reuse_address(true), ec);
  if (a.bind(at, ec); ec) return Error{0, ec.message()};
  if (a.listen(net::socket_base::max_listen_connections, ec); ec) return Error{0, ec.message()};
  return a.local_endpoint().port();
}

sigset_t BlockServerSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

void CheckListeners(bool http, bool https, const tls::Settings& tls) {
  if (!http && !https)
    throw ConfigError("http_listen and https_listen are both \"none\": nothing to serve");
  tls::Validate(tls);
  if (https && !tls.serving())
    throw ConfigError("https_listen needs a certificate: [tls] cert_file and key_file "
                      "(--tls-cert, --tls-key)");
}

std::vector<Bound> ListenAll(Server& server, const std::optional<HostPort>& http,
                             const std::optional<HostPort>& https, const tls::Settings& tls) {
  std::vector<Bound> out;
  auto listen = [&](const HostPort& at, Scheme scheme) {
    const char* name = scheme == Scheme::kHttps ? "https" : "http";
    Result<uint16_t> bound = server.Listen(at.host, at.port, scheme);
    if (!bound.ok())
      throw ConfigError(std::string(name) + "_listen: cannot listen on " + at.host + ":" +
                        std::to_string(at.port) + ": " + bound.error().text);
    spdlog::info("{} listening on {}:{}", name, at.host, bound.value());
    out.push_back({scheme == Scheme::kHttps, at.host, bound.value()});
  };
  if (https) {
    if (Status st = server.UseTls(tls); !st.ok()) throw ConfigError(st.error().text);
    listen(*https, Scheme::kHttps);
  }
  if (http) listen(*http, Scheme::kHttp);
  return out;
}

void Server::Run() {
  for (Impl::Listener& listener : impl_->listeners)
    if (listener.acceptor.is_open()) impl_->Accept(listener);
  impl_->io.run();
}

void Server::Stop() {
  // The I/O context's stop is thread-safe; the acceptor and the sessions
  // are closed when the context and the Server go.
  impl_->io.stop();
}

}  // namespace warren::http
