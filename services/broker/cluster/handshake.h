// The node-to-node handshake's pieces that hold no sockets (the protocol is
// described in proto/warren/v1/cluster.proto and docs/cluster.md): random
// challenges, the two transcripts each side proves with the cluster secret,
// and the callee's table of open sessions. Challenges and proofs travel in
// metadata as hex (common/text.h, ToHex / FromHex).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace warren::cluster {

inline constexpr size_t kChallengeSize = 32;

// The metadata keys an authenticated call carries.
inline constexpr char kSessionKey[] = "x-warren-cluster-session";
inline constexpr char kProofKey[] = "x-warren-cluster-proof";

// kChallengeSize bytes from the system's random source.
std::string RandomChallenge();

// What the callee proves in its Hello answer, and what the caller proves
// for one call of `method` ("/warren.v1.Cluster/Ping"). Each field is
// length-prefixed, and the two roles are labelled, so no transcript of one
// kind can be read as another.
std::string ServerTranscript(std::string_view client_challenge, std::string_view server_challenge,
                             std::string_view caller, std::string_view callee);
std::string ClientTranscript(std::string_view client_challenge, std::string_view server_challenge,
                             std::string_view caller, std::string_view callee,
                             std::string_view method);

// The callee's sessions: Hello opens one, the authenticated call it allows
// takes it (once). At most `capacity` are open; opening one more forgets the
// oldest, so callers that never come back cannot grow it. Thread-safe.
class SessionTable {
 public:
  struct Session {
    std::string client_challenge;
    std::string caller;
  };

  explicit SessionTable(size_t capacity = 1024, int64_t ttl_ms = 30'000)
      : capacity_(capacity), ttl_ms_(ttl_ms) {}

  // Opens a session for `caller`; returns the callee's new challenge.
  std::string Open(std::string client_challenge, std::string caller, int64_t now_ms);
  // The session of `server_challenge`, removed; nullopt when there is none
  // or it has expired.
  std::optional<Session> Take(const std::string& server_challenge, int64_t now_ms);
  size_t size() const;

 private:
  struct Entry {
    Session session;
    int64_t opened_ms;
    uint64_t order;
  };
  const size_t capacity_;
  const int64_t ttl_ms_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> by_challenge_;
  std::map<uint64_t, std::string> by_order_;  // oldest first
  uint64_t next_order_ = 0;
};

}  // namespace warren::cluster
