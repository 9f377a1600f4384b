// A TLS client on a connected, non-blocking socket, for the event loops that
// wait for readiness themselves: warren-perf's epoll loops and the
// balancer's AMQPS health check (Asio's async_wait on the descriptor).
// OpenSSL reads and writes the descriptor directly (SSL_set_fd), so there is
// no copy through memory BIOs; every call returns at once and says, when it
// could not finish, whether the socket must become readable or writable.
//
//   auto s = ClientSession::Make(ctx, fd, "localhost");
//   Io io = s->Handshake();   // again on each readiness until kDone
//   s->Read(...), s->Write(...) // kWantRead/kWantWrite: wait, call again
//
// OpenSSL writes the socket with write(2): the process must ignore SIGPIPE.
//
// Lifecycle: one per connection, used by the thread that owns the socket;
// it never closes the descriptor (the caller does, after it). The Context
// (tls::ClientContext) may be shared by sessions on many threads.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"
#include "common/tls.h"

namespace warren::tls {

enum class Io {
  kDone,       // the handshake finished, or some bytes moved
  kWantRead,   // call again once the socket is readable
  kWantWrite,  // call again once the socket is writable
  kClosed,     // the server closed the TLS stream (close_notify or EOF)
  kError,      // see error()
};

class ClientSession {
 public:
  // `server_name` goes out as SNI (unless it is an IP address, RFC 6066 3)
  // and, when the context verifies the server, is the DNS name or IP
  // address its certificate must name.
  static Result<ClientSession> Make(const Context& context, int fd, const std::string& server_name);

  Io Handshake();
  // Moves up to `len` bytes; `n` is how many on kDone (never 0 then).
  // Records are read ahead: after a Read that filled `buf`, more may wait
  // inside OpenSSL that the socket's readiness will not announce, so read
  // again (kWantRead means there is none).
  Io Read(char* buf, size_t len, size_t& n);
  Io Write(const char* buf, size_t len, size_t& n);
  bool handshaken() const { return handshaken_; }
  // Sends close_notify if it fits without waiting; the caller then closes.
  void Shutdown();

  // After kError (or kClosed during the handshake), why, as one line:
  // "certificate verify failed: certificate has expired", "the server does
  // not speak TLS (wrong version number)", ...
  const std::string& error() const { return error_; }
  // "TLSv1.3 TLS_AES_256_GCM_SHA384" once the handshake is done.
  std::string Negotiated() const;

 private:
  struct Free {
    void operator()(ssl_st* ssl) const;
  };
  explicit ClientSession(ssl_st* ssl) : ssl_(ssl) {}
  Io Classify(int rc, const char* during);
  void ReadAlert();

  std::unique_ptr<ssl_st, Free> ssl_;
  bool handshaken_ = false;
  std::string error_;
};

}  // namespace warren::tls
