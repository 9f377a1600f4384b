#include "common/tls_client.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>

namespace warren::tls {

namespace {

constexpr size_t kReadAhead = 64 * 1024;

bool IsIpAddress(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// Why the server's certificate was refused, in an operator's words first and
// OpenSSL's after.
std::string VerifyFailure(SSL* ssl, long result) {
  std::string why = X509_verify_cert_error_string(result);
  switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "certificate not trusted (not signed by a CA in the CA file): " + why;
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "certificate expired: " + why;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "certificate not valid yet: " + why;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: {
      const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
      return "certificate names another server: " + why +
             (name ? std::string(" (wanted ") + name + ")" : std::string());
    }
    default:
      return "certificate verify failed: " + why;
  }
}

// The error queue holds an alert the server sent (OpenSSL files each alert
// as a reason SSL_AD_REASON_OFFSET above its code).
bool AlertReceived() {
  unsigned long e = ERR_peek_last_error();
  return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET;
}

std::string Refused() { return "the server refused the connection: " + TakeErrors(); }

// A handshake that failed in OpenSSL's own checks (SSL_ERROR_SSL).
std::string HandshakeFailure(SSL* ssl) {
  unsigned long e = ERR_peek_last_error();
  int reason = ERR_GET_REASON(e);
  long verify = SSL_get_verify_result(ssl);
  if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && verify != X509_V_OK) {
    ERR_clear_error();
    return VerifyFailure(ssl, verify);
  }
  // A plain AMQP server answers a ClientHello with its protocol header
  // ("AMQP" 0 0 9 1, spec 4.2.2), which is no TLS record.
  if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
      reason == SSL_R_RECORD_LENGTH_MISMATCH)
    return "the server does not speak TLS (" + TakeErrors() + "): a plain AMQP port?";
  if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ERR_clear_error();
    return "the server closed the connection during the TLS handshake";
  }
  // Alerts the server sent ("tlsv1 alert protocol version", ...).
  if (AlertReceived()) return Refused();
  return "TLS handshake failed: " + TakeErrors();
}

}  // namespace

void ClientSession::Free::operator()(ssl_st* ssl) const { SSL_free(ssl); }

Result<ClientSession> ClientSession::Make(const Context& context, int fd,
                                          const std::string& server_name) {
  SSL* ssl = SSL_new(context.get());
  if (!ssl) return Error{0, "tls: " + TakeErrors()};
  ClientSession session(ssl);
  if (SSL_set_fd(ssl, fd) != 1) return Error{0, "tls: " + TakeErrors()};
  // Records are read ahead, up to 64 KiB a read (not a 5-byte header and
  // then its record: two reads a record); see Read().
  SSL_set_read_ahead(ssl, 1);
  SSL_set_default_read_buffer_len(ssl, kReadAhead);
  if (server_name.empty()) return session;
  bool ip = IsIpAddress(server_name);
  if (!ip && SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1)
    return Error{0, "tls: server name " + server_name + ": " + TakeErrors()};
  if (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) {
    int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str())
                : SSL_set1_host(ssl, server_name.c_str());
    if (ok != 1) return Error{0, "tls: server name " + server_name + ": " + TakeErrors()};
  }
  return session;
}

Io ClientSession::Handshake() {
  ERR_clear_error();  // SSL_get_error reads this thread's queue, and errno
  errno = 0;
  int rc = SSL_connect(ssl_.get());
  if (rc == 1) {
    handshaken_ = true;
    return Io::kDone;
  }
  return Classify(rc, "handshake");
}

Io ClientSession::Read(char* buf, size_t len, size_t& n) {
  ERR_clear_error();
  errno = 0;
  n = 0;
  if (SSL_read_ex(ssl_.get(), buf, len, &n) == 1) return Io::kDone;
  return Classify(0, "read");
}

Io ClientSession::Write(const char* buf, size_t len, size_t& n) {
  ERR_clear_error();
  errno = 0;
  n = 0;
  if (SSL_write_ex(ssl_.get(), buf, len, &n) == 1) return Io::kDone;
  Io io = Classify(0, "write");
  if (io == Io::kError && handshaken_) ReadAlert();
  return io;
}

// In TLS 1.3 a server checks the client's certificate after the client's
// handshake has ended, then sends an alert and hangs up: the client's next
// read gets the alert, but its next write fails (EPIPE) first when it writes
// first. The alert, already received, says why.
void ClientSession::ReadAlert() {
  char byte;
  size_t n = 0;
  ERR_clear_error();
  if (SSL_read_ex(ssl_.get(), &byte, 1, &n) != 1 && SSL_get_error(ssl_.get(), 0) == SSL_ERROR_SSL &&
      AlertReceived())
    error_ = Refused();
  ERR_clear_error();
}

void ClientSession::Shutdown() {
  if (!handshaken_) return;
  ERR_clear_error();
  (void)SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

std::string ClientSession::Negotiated() const {
  PeerInfo p = Describe(ssl_.get());
  return p.protocol + " " + p.cipher;
}

Io ClientSession::Classify(int rc, const char* during) {
  int saved_errno = errno;
  switch (SSL_get_error(ssl_.get(), rc)) {
    case SSL_ERROR_WANT_READ:
      return Io::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      error_ = handshaken_ ? "the server closed the TLS stream"
                           : "the server closed the connection during the TLS handshake";
      return Io::kClosed;
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (saved_errno == 0) {
        error_ = handshaken_ ? "the server closed the connection without close_notify"
                             : "the server closed the connection during the TLS handshake";
        return Io::kClosed;
      }
      error_ = std::string("TLS ") + during + ": " + std::strerror(saved_errno);
      return Io::kError;
    case SSL_ERROR_SSL:
      if (!handshaken_) {
        error_ = HandshakeFailure(ssl_.get());
      } else if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        error_ = "the server closed the connection without close_notify";
        return Io::kClosed;
      } else if (AlertReceived()) {
        error_ = Refused();  // see ReadAlert
      } else {
        error_ = std::string("TLS ") + during + ": " + TakeErrors();
      }
      return Io::kError;
    default:
      error_ = std::string("TLS ") + during + ": " + TakeErrors();
      return Io::kError;
  }
}

}  // namespace warren::tls
