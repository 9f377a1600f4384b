// Messages to bytes and back, for the transport between peers. The format is
// compact (varints; an entry's index is implied by prev_index) and canonical:
// bytes that decode encode back to exactly the same bytes.
//
//   message  = kind:u8 from to term body          (kind 1..7: MessageBody's order)
//   append   = prev_index prev_term commit lease_tick count entry* stable
//   entry    = term type:u8 bytes                 (index = prev_index + position)
//   config   = count voter* count learner*        (sorted, disjoint, non-zero ids)
//              count (id address)* highest       (members' addresses, each bytes;
//                                                the highest id ever a member)
//   snapshot = index term config bytes
//   bytes    = length payload
//
// Decoding takes untrusted bytes (they come off the network): it never reads
// out of bounds, allocates no more than the input could describe, bounds
// every length and count below, and rejects unknown kinds, flag bits and
// entry types, non-canonical varints, trailing bytes, and messages no peer
// could send (a zero or self-addressed id, entries whose terms go backwards
// or past the message's term, a membership entry that is not a valid
// configuration). The core never produces a message past these bounds.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"
#include "raft/message.h"

namespace warren::raft {

inline constexpr size_t kMaxMessageBytes = size_t{64} << 20;
inline constexpr size_t kMaxEntriesPerMessage = 4096;
inline constexpr size_t kMaxEntryBytes = size_t{8} << 20;
inline constexpr size_t kMaxSnapshotBytes = size_t{60} << 20;
inline constexpr size_t kMaxMembers = 255;  // voters and learners together

std::string EncodeMessage(const Message& m);
// Error code Errc::kMalformed; the text says what was wrong.
Result<Message> DecodeMessage(std::string_view bytes);

// A membership entry's payload.
std::string EncodeConfiguration(const Configuration& c);
Result<Configuration> DecodeConfiguration(std::string_view bytes);

}  // namespace warren::raft
