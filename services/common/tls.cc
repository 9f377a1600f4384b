#include "common/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdlib>

#include "common/config.h"
#include "common/file.h"
#include "common/text.h"

namespace warren::tls {

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

Bio MemoryBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in `pem`, in order; empty when there is none.
std::vector<Cert> ParseCertificates(const std::string& pem) {
  std::vector<Cert> out;
  Bio bio = MemoryBio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the read past the last one
  return out;
}

Key ParseKey(const std::string& pem) {
  Bio bio = MemoryBio(pem);
  // No password callback: an encrypted key is refused, not prompted for.
  static pem_password_cb* const kNoPrompt = [](char*, int, int, void*) { return 0; };
  return Key(PEM_read_bio_PrivateKey(bio.get(), nullptr, kNoPrompt, nullptr));
}

Error Failed(const std::string& what, const std::string& why) {
  return Error{0, "tls: " + what + ": " + why};
}

Result<std::string> ReadPem(const std::string& path, const std::string& key) {
  Result<std::string> text = ReadFileBounded(path, kMaxPemFile);
  if (!text.ok()) return Failed(key + " " + path, text.error().text);
  return text;
}

void Free(SSL_CTX* ctx) { SSL_CTX_free(ctx); }

// TLS 1.2 and 1.3 only; no compression, no renegotiation; a fresh key
// per handshake for ECDHE; buffers released while a connection is idle.
Result<Context> NewContext(const SSL_METHOD* method) {
  Context ctx(SSL_CTX_new(method), Free);
  if (!ctx) return Failed("context", TakeErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

// The certificate chain and key of `pem` into `ctx`.
Status UseIdentity(SSL_CTX* ctx, const Settings& s, const Pem& pem) {
  std::vector<Cert> chain = ParseCertificates(pem.cert_chain);
  Key key = ParseKey(pem.key);
  if (SSL_CTX_use_certificate(ctx, chain[0].get()) != 1)
    return Failed("cert_file " + s.cert_file, TakeErrors());
  for (size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1)
      return Failed("cert_file " + s.cert_file, TakeErrors());
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1)
    return Failed("key_file " + s.key_file, TakeErrors());
  return Status::Ok();
}

Status TrustCa(SSL_CTX* ctx, const Settings& s, const Pem& pem) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (Cert& c : ParseCertificates(pem.ca))
    if (X509_STORE_add_cert(store, c.get()) != 1) {
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_REASON(e) == X509_R_CERT_ALREADY_IN_HASH_TABLE) {
        ERR_clear_error();
        continue;
      }
      return Failed("ca_file " + s.ca_file, TakeErrors());
    }
  return Status::Ok();
}

}  // namespace

Verify ParseVerify(std::string_view text, const std::string& what) {
  if (text == "none" || text == "verify_none") return Verify::kNone;
  if (text == "peer" || text == "verify_peer") return Verify::kPeer;
  throw ConfigError(what + ": \"" + LogSafe(text) + "\" is not none or peer");
}

std::string_view VerifyName(Verify v) { return v == Verify::kPeer ? "peer" : "none"; }

void ApplyEnvironment(Settings& s) {
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
  };
  if (const char* v = env("WARREN_TLS_CERT_FILE")) s.cert_file = v;
  if (const char* v = env("WARREN_TLS_KEY_FILE")) s.key_file = v;
  if (const char* v = env("WARREN_TLS_CA_FILE")) s.ca_file = v;
  if (const char* v = env("WARREN_TLS_VERIFY")) s.verify = ParseVerify(v, "WARREN_TLS_VERIFY");
  if (const char* v = env("WARREN_TLS_FAIL_IF_NO_PEER_CERT")) {
    std::string_view t = v;
    if (t == "true" || t == "1") s.fail_if_no_peer_cert = true;
    else if (t == "false" || t == "0") s.fail_if_no_peer_cert = false;
    else throw ConfigError("WARREN_TLS_FAIL_IF_NO_PEER_CERT: \"" + LogSafe(t) +
                           "\" is not true or false");
  }
}

void Validate(const Settings& s) {
  if (s.cert_file.empty() != s.key_file.empty())
    throw ConfigError(s.cert_file.empty() ? "tls: key_file is set without cert_file"
                                          : "tls: cert_file is set without key_file");
  if (s.verify == Verify::kPeer && s.ca_file.empty())
    throw ConfigError("tls: verify = \"peer\" needs ca_file (the CA that signs peers)");
  if (s.fail_if_no_peer_cert && s.verify != Verify::kPeer)
    throw ConfigError("tls: fail_if_no_peer_cert needs verify = \"peer\"");
  if (s.handshake_timeout.count() <= 0)
    throw ConfigError("tls: handshake_timeout must be above 0");
}

Result<Pem> LoadPem(const Settings& s) {
  Pem pem;
  if (!s.cert_file.empty()) {
    Result<std::string> cert = ReadPem(s.cert_file, "cert_file");
    if (!cert.ok()) return cert.error();
    if (ParseCertificates(cert.value()).empty())
      return Failed("cert_file " + s.cert_file, "holds no PEM certificate");
    pem.cert_chain = std::move(cert.value());
  }
  if (!s.key_file.empty()) {
    Result<std::string> key = ReadPem(s.key_file, "key_file");
    if (!key.ok()) return key.error();
    Key parsed = ParseKey(key.value());
    if (!parsed) {
      ERR_clear_error();
      return Failed("key_file " + s.key_file,
                    "holds no unencrypted PEM private key");
    }
    if (!pem.cert_chain.empty()) {
      Cert leaf = std::move(ParseCertificates(pem.cert_chain)[0]);
      if (X509_check_private_key(leaf.get(), parsed.get()) != 1) {
        ERR_clear_error();
        return Failed("key_file " + s.key_file,
                      "does not match the certificate in " + s.cert_file);
      }
    }
    pem.key = std::move(key.value());
  }
  if (!s.ca_file.empty()) {
    Result<std::string> ca = ReadPem(s.ca_file, "ca_file");
    if (!ca.ok()) return ca.error();
    if (ParseCertificates(ca.value()).empty())
      return Failed("ca_file " + s.ca_file, "holds no PEM certificate");
    pem.ca = std::move(ca.value());
  }
  return pem;
}

Result<Context> ServerContext(const Settings& s) {
  if (!s.serving()) return Failed("cert_file", "not set");
  Result<Pem> pem = LoadPem(s);
  if (!pem.ok()) return pem.error();
  Result<Context> ctx = NewContext(TLS_server_method());
  if (!ctx.ok()) return ctx;
  SSL_CTX* c = ctx.value().get();
  if (Status st = UseIdentity(c, s, pem.value()); !st.ok()) return st.error();
  if (!pem->ca.empty()) {
    if (Status st = TrustCa(c, s, pem.value()); !st.ok()) return st.error();
    // The CA names sent in the certificate request, so a client with
    // several certificates picks one this server trusts.
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    for (Cert& cert : ParseCertificates(pem->ca))
      sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(cert.get())));
    SSL_CTX_set_client_CA_list(c, names);
  }
  int mode = SSL_VERIFY_NONE;
  if (s.verify == Verify::kPeer) {
    mode = SSL_VERIFY_PEER;
    if (s.fail_if_no_peer_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(c, mode, nullptr);
  // Session tickets let a client resume; one ticket is plenty.
  SSL_CTX_set_num_tickets(c, 1);
  return ctx;
}

int64_t CertificateNotAfter(const Context& ctx) {
  X509* cert = ctx ? SSL_CTX_get0_certificate(ctx.get()) : nullptr;
  if (!cert) return 0;
  struct tm t {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) != 1) return 0;
  return static_cast<int64_t>(timegm(&t));
}

Result<Context> ClientContext(const Settings& s, bool verify_server) {
  Result<Pem> pem = LoadPem(s);
  if (!pem.ok()) return pem.error();
  Result<Context> ctx = NewContext(TLS_client_method());
  if (!ctx.ok()) return ctx;
  SSL_CTX* c = ctx.value().get();
  if (!pem->cert_chain.empty()) {
    if (Status st = UseIdentity(c, s, pem.value()); !st.ok()) return st.error();
  }
  if (!pem->ca.empty()) {
    if (Status st = TrustCa(c, s, pem.value()); !st.ok()) return st.error();
  } else if (SSL_CTX_set_default_verify_paths(c) != 1) {
    ERR_clear_error();
  }
  SSL_CTX_set_verify(c, verify_server ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return ctx;
}

std::string TakeErrors(std::string_view fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000086:SSL routines::certificate verify failed": the reason
    // is what an operator needs.
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason ? reason : buf;
  }
  return out.empty() ? std::string(fallback) : out;
}

PeerInfo Describe(SSL* ssl) {
  PeerInfo p;
  p.protocol = SSL_get_version(ssl);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) p.cipher = SSL_CIPHER_get_name(c);
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return p;
  p.verified = SSL_get_verify_result(ssl) == X509_V_OK &&
               (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER);
  X509_NAME* name = X509_get_subject_name(cert);
  if (BIO* b = BIO_new(BIO_s_mem())) {
    // RFC 4514 order (CN first), as RabbitMQ shows peer_cert_subject.
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    p.subject.assign(data, static_cast<size_t>(n));
    BIO_free(b);
  }
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i >= 0) {
    ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, cn);
    if (n >= 0) {
      p.common_name.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
      OPENSSL_free(utf8);
    }
  }
  return p;
}

}  // namespace warren::tls
