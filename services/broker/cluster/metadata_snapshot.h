// The cluster's metadata as one snapshot (docs/cluster.md, "Metadata
// through the log"): the commands that re-create it, each in the command
// codec's encoding (command_codec.h).
//
//   snapshot := version (one byte, kSnapshotVersion) command*
//   command  := varint length, then EncodeCommand bytes
//
// The commands are definitions only (AddVHost, AddUser, SetUserLimits,
// SetPermissions, SetTopicPermission, SetPolicy, DeclareExchange,
// DeclareQueue, SetMirrors, Bind, SetParameter), in an order that applies
// cleanly to an empty broker: vhosts, users and their limits, permissions,
// topic permissions, then each vhost's policies, exchanges, queues and
// bindings, and runtime parameters last. Names are sorted and bindings
// ordered by their encoding, so the same metadata gives the same bytes
// whatever history made it, and applying a snapshot's commands to an empty
// broker describes it again as the same bytes.
//
// Snapshots come from peers (InstallSnapshot) and from disk, so decoding is
// bounded and refuses, with one line naming what is wrong, anything that is
// not such a snapshot; it never throws.
//
// Plain functions over a Broker, called on the node's loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/command.h"
#include "common/status.h"

namespace warren::core {
class Broker;
}

namespace warren::cluster {

inline constexpr uint8_t kSnapshotVersion = 1;

// Every definition in `broker` as the commands that re-create it. The
// built-in amq.* exchanges and the default exchange are not declared (every
// vhost has them), but bindings from them are kept. An exclusive queue
// keeps its owner connection, and so does a binding to it.
std::vector<core::Command> DescribeMetadata(const core::Broker& broker);

std::string EncodeSnapshot(const std::vector<core::Command>& commands);
Result<std::vector<core::Command>> DecodeSnapshot(std::string_view bytes);

// Makes `broker`'s metadata exactly `commands` (a decoded snapshot): what
// they do not hold is removed (bindings, then queues and exchanges, which
// are also removed when they differ, then policies, permissions, users and
// vhosts), and then every command is applied. Queues and exchanges that
// match keep their messages and consumers. Returns how many commands the
// model refused (each logged).
size_t ReconcileMetadata(core::Broker& broker, const std::vector<core::Command>& commands);

}  // namespace warren::cluster
