// TLS settings and OpenSSL contexts shared by every Warren process
// (docs/tls.md). One set of files per process: the certificate it serves
// with is also the one it presents as a client (to a node's gRPC port), and
// the CA file both verifies peers' certificates and the servers it reaches.
//
// The keys follow RabbitMQ's ssl_options: cert_file (certfile), key_file
// (keyfile), ca_file (cacertfile), verify = "none" | "peer" (verify_none /
// verify_peer) and fail_if_no_peer_cert. Only TLS 1.2 and 1.3 are spoken.
//
// The files are read with a size bound and parsed here, from memory, so a
// damaged or hostile file gives one error naming it, and the same bytes can
// be handed to gRPC (which takes PEM text, not file names).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace warren::tls {

enum class Verify { kNone, kPeer };

struct Settings {
  std::string cert_file;  // PEM: the certificate, then its chain
  std::string key_file;   // PEM: its private key (not encrypted)
  std::string ca_file;    // PEM: the CAs trusted to sign peers' certificates
  Verify verify = Verify::kNone;
  bool fail_if_no_peer_cert = false;
  // How long a client may take to finish the handshake (RabbitMQ's
  // ssl_handshake_timeout, 5 s).
  std::chrono::milliseconds handshake_timeout{5000};

  // A server is configured: it has a certificate.
  bool serving() const { return !cert_file.empty(); }
  // A client speaks TLS when it was given any file.
  bool dialing() const { return !cert_file.empty() || !key_file.empty() || !ca_file.empty(); }
};

// PEM files larger than this are refused (a certificate chain is a few KiB).
inline constexpr size_t kMaxPemFile = 1 << 20;

// "none" / "peer" (also RabbitMQ's "verify_none" / "verify_peer"); throws
// ConfigError naming `what`.
Verify ParseVerify(std::string_view text, const std::string& what);
std::string_view VerifyName(Verify v);

// Applies WARREN_TLS_CERT_FILE, WARREN_TLS_KEY_FILE, WARREN_TLS_CA_FILE,
// WARREN_TLS_VERIFY and WARREN_TLS_FAIL_IF_NO_PEER_CERT when set.
void ApplyEnvironment(Settings& settings);

// The combinations that cannot work, as RabbitMQ refuses them too: a
// certificate without its key (or the reverse), verify = peer or
// fail_if_no_peer_cert without a CA file, fail_if_no_peer_cert without
// verify = peer. Throws ConfigError ("tls: ...").
void Validate(const Settings& settings);

// The files' contents, read and checked (each parses as PEM, the key
// matches the certificate).
struct Pem {
  std::string cert_chain;
  std::string key;
  std::string ca;
};
Result<Pem> LoadPem(const Settings& settings);

using Context = std::shared_ptr<ssl_ctx_st>;

// A server context: TLS 1.2 and 1.3, the certificate and key, and with
// verify = peer the client's certificate checked against the CA (required
// when fail_if_no_peer_cert). Errors name the file and OpenSSL's reason.
Result<Context> ServerContext(const Settings& settings);

// When the certificate `ctx` serves with stops being valid (its notAfter),
// in seconds since the epoch; 0 when it has none (the management API's
// certificate-expiration health check).
int64_t CertificateNotAfter(const Context& ctx);

// A client context: TLS 1.2 and 1.3; with `verify_server` the server's
// certificate checked against ca_file (the system's CAs when empty); the
// certificate and key presented when given. (Host names are the caller's
// to check: SSL_set1_host.)
Result<Context> ClientContext(const Settings& settings, bool verify_server = true);

// OpenSSL's queued errors as one line (and clears them); `fallback` when
// there are none.
std::string TakeErrors(std::string_view fallback = "unknown TLS error");

// What a finished handshake established, for logs and listings.
struct PeerInfo {
  std::string protocol;     // "TLSv1.3"
  std::string cipher;       // "TLS_AES_256_GCM_SHA384"
  std::string subject;      // the client's certificate subject, "" without one
  std::string common_name;  // its CN, "" without one
  bool verified = false;    // a certificate was presented and verified
};
PeerInfo Describe(ssl_st* ssl);

}  // namespace warren::tls
