// gRPC credentials from the TLS settings (common/tls.h, docs/tls.md), for
// the node's gRPC port and for every process that reaches one: warrenctl,
// warren-mgmt, warren-exporter and the nodes themselves.
#pragma once

#include <memory>

#include "common/tls.h"

namespace grpc {
class ChannelCredentials;
class ServerCredentials;
class AuthContext;
}  // namespace grpc

namespace warren::tls {

// TLS when the settings name any file (the CA checks the node's
// certificate; the certificate and key are presented to it), plaintext
// otherwise. Throws ConfigError naming a file that cannot be used.
std::shared_ptr<grpc::ChannelCredentials> GrpcChannelCredentials(const Settings& settings);

// How often a node's gRPC port looks at its certificate files again.
inline constexpr unsigned kGrpcRefreshSeconds = 5;

// TLS when the settings have a certificate, plaintext otherwise. With a CA
// file a client's certificate is asked for and, when presented, must be
// signed by it; with fail_if_no_peer_cert (and verify = peer) one is
// required. The files are watched: changed ones serve new connections
// within kGrpcRefreshSeconds. Throws ConfigError naming a file that cannot
// be used at start.
std::shared_ptr<grpc::ServerCredentials> GrpcServerCredentials(const Settings& settings);

// True when the call's client presented a certificate the server verified.
bool PeerCertified(const grpc::AuthContext& auth);

}  // namespace warren::tls
