// The cluster secret: what RabbitMQ's .erlang.cookie is to its nodes. Every
// node of a cluster reads the same secret from a file; nodes prove to each
// other that they hold it without sending it (an HMAC over a challenge,
// docs/cluster.md), so a node with another secret is refused.
//
// The file: --cluster-secret-file / WARREN_CLUSTER_SECRET_FILE /
// [cluster] secret_file, by default <data_dir>/cluster-secret, created with a
// random secret (mode 0600) when absent, as RabbitMQ creates its cookie.
// Like RabbitMQ, a node refuses to start when the file can be read by anyone
// but its owner. The secret is 1 to 255 printable ASCII characters (no
// spaces); a trailing newline is ignored.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace grpc {
class ChannelCredentials;
}

namespace warren::cluster {

inline constexpr size_t kMaxSecretSize = 255;
inline constexpr size_t kProofSize = 32;  // HMAC-SHA256

class Secret {
 public:
  // Reads the secret at `path`, or creates the file with a new random
  // secret when it does not exist (`created` tells which). Throws
  // ConfigError with one line naming the file and what is wrong.
  static Secret LoadOrCreate(const std::string& path, bool& created);
  // For tests: a secret held in memory.
  static Secret FromText(std::string text);

  // HMAC-SHA256 of `transcript` keyed by the secret: kProofSize bytes.
  std::string Prove(std::string_view transcript) const;
  // Whether `proof` is Prove(transcript), compared in constant time.
  bool Verify(std::string_view transcript, std::string_view proof) const;

  // Mutual TLS between nodes, on top of the secret (docs/tls.md): the
  // credentials presenting this node's certificate to its peers, and from
  // then on a peer's call is refused unless its certificate was verified
  // against the CA. Without: plaintext channels, no certificate asked.
  void UseTls(std::shared_ptr<grpc::ChannelCredentials> channel);
  // The credentials every channel to a peer is made with.
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;
  bool RequiresPeerCertificate() const { return tls_ != nullptr; }

 private:
  explicit Secret(std::string text) : text_(std::move(text)) {}
  std::string text_;
  std::shared_ptr<grpc::ChannelCredentials> tls_;
};

// The error in `text` as a secret ("" when it is a good one).
std::string CheckSecretText(std::string_view text);

}  // namespace warren::cluster
