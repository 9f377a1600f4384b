// A small HTTP/1.1 server for warren-mgmt and warren-exporter, safe to face
// hostile clients (README.md in this folder):
//   - one I/O thread reads and writes every connection (event-driven), so a
//     slow client holds a socket and a buffer, never a thread;
//   - the request head has a total deadline and a size cap, the body its own
//     deadline and cap, an idle keep-alive connection a deadline, the
//     response write a deadline; a client past one is disconnected;
//   - the Handler runs on a bounded pool of worker threads (it may block,
//     e.g. on gRPC), first on the head alone (Admit: authenticate, refuse
//     before reading any body), then on the whole request (Serve);
//   - listeners serve plain HTTP or HTTPS (UseTls); a TLS client has
//     handshake_timeout to finish its handshake, and one that fails it is
//     refused with one log line naming it and OpenSSL's reason.
//
// Lifecycle: construct, UseTls() when serving HTTPS, Listen() once per
// address, Run() on one thread until Stop() (from any thread, e.g. the
// signal thread); ReloadTls() from any thread too. Stop closes the
// listeners and every connection and makes Run() return; the destructor
// waits for handlers still running on the pool (a handler blocked on I/O
// should be released by its owner, e.g. by cancelling its calls, before or
// right after Stop()).
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "common/tls.h"

namespace warren::http {

struct Field {
  std::string name;
  std::string value;
};

struct Request {
  std::string method;           // "GET", as sent
  std::string target;           // the raw request target, "/api/queues/%2F?page=1"
  std::vector<Field> headers;   // as received
  std::string body;             // empty in Admit; the whole body in Serve
  std::string peer;             // the client's IP address ("127.0.0.1", "::1")
  bool has_body = false;        // a Content-Length above 0, or chunked
  std::optional<uint64_t> content_length;

  // The first header named `name` (case-insensitive); "" when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type;     // none when empty
  std::vector<Field> headers;
  std::string body;
};

struct Limits {
  std::chrono::milliseconds head_timeout{10'000};   // first byte to the head's end
  std::chrono::milliseconds body_timeout{60'000};   // the whole body
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive, between requests
  std::chrono::milliseconds write_timeout{60'000};  // the whole response
  uint64_t head_limit = 16 * 1024;                  // request line and headers, bytes
  size_t max_headers = 100;
  size_t max_target = 8000;                         // request target, bytes (414)
  uint64_t body_limit = 20'000'000;                 // bytes (413)
  size_t max_connections = 4096;                    // more are closed at once
  size_t workers = 8;                               // the handler pool's threads
};

// What the server serves. Called on the worker pool, never on the I/O
// thread, from several threads at once.
class Handler {
 public:
  virtual ~Handler() = default;
  // After the head, before any byte of the body is read: a response to
  // answer at once (the body is then never read and the connection closes
  // if one was announced), or nullopt to read the body and call Serve.
  virtual std::optional<Response> Admit(const Request& head) = 0;
  virtual Response Serve(const Request& request) = 0;
  // The server's own refusals (400 malformed, 413, 414, 431, 500 when a
  // handler threw), in the handler's error format.
  virtual Response Refuse(int status, const std::string& reason) = 0;
};

enum class Scheme { kHttp, kHttps };

class Server {
 public:
  Server(Handler& handler, const Limits& limits);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The certificate (and, with verify = peer, the CA clients' certificates
  // must be signed by) of the kHttps listeners: tls::ServerContext's
  // checks, so an Error names the file at fault. Before Listen(kHttps).
  Status UseTls(const tls::Settings& settings);
  // Reads UseTls's files again (SIGHUP): connections accepted from then on
  // use them, established ones keep theirs; when the files cannot be used
  // the old ones stay. Logs one line either way. Thread-safe.
  void ReloadTls();

  // Binds host:port (port 0: a free port) and returns the bound port; may be
  // called for several addresses, each plain or TLS. Raises the process's
  // open-file limit to its hard limit; max_connections (for all listeners
  // together) is lowered to fit under it.
  Result<uint16_t> Listen(const std::string& host, uint16_t port, Scheme scheme = Scheme::kHttp);
  void Run();
  void Stop();

  struct Impl;  // server.cc's

 private:
  std::unique_ptr<Impl> impl_;
};

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread, and so in every
// thread it starts afterwards (call it first), and returns them for the one
// thread that sigwait()s: SIGHUP reloads the certificates (ReloadTls), the
// others stop the server.
sigset_t BlockServerSignals();

// Start-up: the listeners asked for make sense with the TLS settings: one
// at least; HTTPS with a certificate and its key; tls::Validate's rules.
// Throws ConfigError naming the settings (http_listen, https_listen, tls).
void CheckListeners(bool http, bool https, const tls::Settings& tls);

// Start-up: UseTls(tls) and HTTPS on `https`, then HTTP on `http`, each
// when set. Logs "https listening on HOST:PORT" ("http ...") once bound,
// the line operators and tests look for; throws ConfigError naming the
// setting ("https_listen: cannot listen on HOST:PORT: <why>") or the file.
// Returns what was bound, a port 0 asked for as the port taken.
struct Bound {
  bool https = false;
  std::string host;
  uint16_t port = 0;
};
std::vector<Bound> ListenAll(Server& server, const std::optional<HostPort>& http,
                             const std::optional<HostPort>& https, const tls::Settings& tls);

}  // namespace warren::http
