// One message of every kind, with fields that exercise the encoding (large
// varints, entries of every type, a snapshot with learners): the Raft codec's
// unit tests round-trip them and mutate them, and warren_raft_fuzz_corpus
// writes them as the seeds of warren_fuzz_raft_message.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "raft/codec.h"
#include "raft/message.h"

namespace warren::raft::fuzz {

inline std::vector<std::pair<std::string, Message>> SampleMessages() {
  Configuration grown{{1, 2, 3}, {4, 1000000}, {{1, "127.0.0.1:25672"}, {1000000, "n5:25672"}}};
  AppendEntries append{41, 6, 40, 123456, {}};
  append.entries = {Entry{42, 6, EntryType::kCommand, "declare queue q"},
                    Entry{43, 7, EntryType::kNoOp, ""},
                    Entry{44, 7, EntryType::kMembership, EncodeConfiguration(grown)},
                    Entry{45, 7, EntryType::kCommand, std::string(300, 'x')}};
  append.stable = 41;
  return {
      {"append", Message{1, 2, 7, append}},
      {"heartbeat", Message{1, 3, 7, AppendEntries{45, 7, 45, 124000, {}, 45}}},
      {"append-ok", Message{2, 1, 7, AppendEntriesResponse{true, 45, 0, 0, 0, 123456}}},
      {"append-reject", Message{3, 1, 7, AppendEntriesResponse{false, 0, 41, 30, 5, 123456}}},
      {"pre-vote", Message{2, 3, 8, VoteRequest{true, false, 45, 7}}},
      {"vote-transfer", Message{2, 3, 8, VoteRequest{false, true, 45, 7}}},
      {"vote-granted", Message{3, 2, 8, VoteResponse{false, true}}},
      {"snapshot",
       Message{1, 4, 9, InstallSnapshot{130000, Snapshot{{44, 7, grown}, "1=declare\n"}}}},
      {"snapshot-ok", Message{4, 1, 9, InstallSnapshotResponse{44, 130000}}},
      {"timeout-now", Message{1, 2, 9, TimeoutNow{}}},
  };
}

}  // namespace warren::raft::fuzz
