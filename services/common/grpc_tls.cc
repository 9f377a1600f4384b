#include "common/grpc_tls.h"

#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "common/config.h"

namespace warren::tls {

namespace {

Pem Load(const Settings& settings) {
  Result<Pem> pem = LoadPem(settings);
  if (!pem.ok()) throw ConfigError(pem.error().text);
  return std::move(pem.value());
}

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> GrpcChannelCredentials(const Settings& settings) {
  if (!settings.dialing()) return grpc::InsecureChannelCredentials();
  if (settings.cert_file.empty() != settings.key_file.empty())
    throw ConfigError(settings.cert_file.empty() ? "tls: a key is given without its certificate"
                                                 : "tls: a certificate is given without its key");
  Pem pem = Load(settings);
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pem.ca;  // empty: gRPC's default roots
  options.pem_private_key = pem.key;
  options.pem_cert_chain = pem.cert_chain;
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(const Settings& settings) {
  if (!settings.serving()) return grpc::InsecureServerCredentials();
  // Read and checked here first, so a bad file stops the start naming it;
  // from then on gRPC reads the files again every kGrpcRefreshSeconds and
  // takes new certificates for new connections, keeping the old ones when
  // the new files do not make a pair (docs/tls.md).
  Load(settings);
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      settings.key_file, settings.cert_file, settings.ca_file, kGrpcRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!settings.ca_file.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(settings.fail_if_no_peer_cert
                                      ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                      : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

bool PeerCertified(const grpc::AuthContext& auth) {
  // gRPC's SSL transport names the peer by its certificate only after
  // verifying it against the root certificates.
  return auth.IsPeerAuthenticated() &&
         !auth.FindPropertyValues("x509_pem_cert").empty();
}

}  // namespace warren::tls
