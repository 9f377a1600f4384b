// Metadata commands (core/command.h) as bytes in the cluster's Raft log
// (docs/cluster.md, "Metadata as commands").
//
// The bytes are a protobuf message (MetadataCommand in
// proto/warren/v1/metadata.proto); field tables travel in AMQP's own table
// encoding. Log entries come from peers and from disk, so decoding is
// bounded: it refuses what the model would refuse from a client (names and
// keys over 255 bytes, tables deeper than core/limits allows), hashes,
// patterns and whole commands over their own bounds (command_codec.cc), and
// never trusts a length it has not checked. Encoding cannot fail, so whoever
// proposes a command must first check that it decodes: a committed entry
// that no node can decode cannot be applied.
#pragma once

#include <string>
#include <string_view>

#include "broker/core/command.h"
#include "common/status.h"

namespace warren::cluster {

std::string EncodeCommand(const core::Command& command);
// A clear error (code 0, one line naming what is wrong) for bytes that are
// not a command this version understands.
Result<core::Command> DecodeCommand(std::string_view bytes);

}  // namespace warren::cluster
