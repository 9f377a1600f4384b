// Changing who is in the cluster (docs/cluster.md, "Members"): what
// join_cluster, forget_cluster_node and reset send, how a member's address
// is kept in the Raft configuration, and how a node reaches the leader that
// carries a change out.
//
// A member's entry in the configuration (raft::Configuration::addresses) is
// "HOST:PORT NAME": the gRPC address the others reach it at, a space, then
// its node name (empty for the seeds of a cluster formed from seeds, whose
// names are learned by asking them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace warren::cluster {

class Secret;

// The gRPC port a node name without one (warren@node1) means.
inline constexpr uint16_t kDefaultClusterPort = 25672;
// The longest gRPC address a member may have.
inline constexpr size_t kMaxGrpcAddress = 512;

struct MemberAddress {
  std::string grpc;  // HOST:PORT
  std::string node;  // may be empty
};

std::string EncodeMemberAddress(const MemberAddress& a);
MemberAddress DecodeMemberAddress(std::string_view text);

// What a user names a node with: "warren@node1" (that host's gRPC port
// 25672) or a gRPC address "HOST:PORT" ("[::1]:25672" for IPv6). Error 400
// (a usage error) for anything else.
Result<std::string> NodeAddress(std::string_view name_or_address);

struct MembersChange {
  enum class Kind : uint8_t { kAdd, kRemove };
  Kind kind = Kind::kAdd;
  std::string address;  // kAdd: the joiner's gRPC address
  std::string node;     // kAdd: the joiner's name
  uint64_t id = 0;      // kAdd: the joiner's member id if it has one; kRemove: who leaves
};

struct MembersResult {
  Status status;  // an Error: code and text of the refusal
  uint64_t id = 0;
  bool already_member = false;
  std::string leader;  // not the leader: the leader's address, when known
  std::map<uint64_t, std::string> members;  // kAdd: every member then ("HOST:PORT NAME")
};

// Carries `change` to the cluster's leader: asks each of `addresses` in
// turn (the leader's first, when known) and follows a callee's pointer to
// the leader, a few hops at most. The first answer that is not a pointer is
// returned; when no node answers, an Error (code 503) saying so. Blocks:
// call it off the node's loop.
MembersResult AskLeader(const Secret& secret, const std::string& self,
                        std::vector<std::string> addresses, const MembersChange& change);

}  // namespace warren::cluster
