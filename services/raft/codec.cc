#include "raft/codec.h"

#include <limits>
#include <type_traits>
#include <utility>

#include "raft/errors.h"
#include "raft/wire.h"

namespace warren::raft {

namespace {

using wire::PutBytes;
using wire::PutVarint;
using wire::Reader;

void PutBool(std::string& out, bool v) { out.push_back(v ? 1 : 0); }

bool GetBool(Reader& r) {
  uint8_t b = r.Byte();
  if (b > 1) r.Fail("bad boolean");
  return b == 1;
}

void PutIds(std::string& out, const std::vector<NodeId>& ids) {
  PutVarint(out, ids.size());
  for (NodeId id : ids) PutVarint(out, id);
}

void GetIds(Reader& r, std::vector<NodeId>& ids) {
  uint64_t n = r.Varint();
  if (n > kMaxMembers || n > r.remaining()) return r.Fail("too many members");
  ids.resize(n);
  for (NodeId& id : ids) id = r.Varint();
}

void PutConfig(std::string& out, const Configuration& c) {
  PutIds(out, c.voters);
  PutIds(out, c.learners);
  PutVarint(out, c.addresses.size());
  for (const auto& [id, address] : c.addresses) {
    PutVarint(out, id);
    PutBytes(out, address);
  }
  PutVarint(out, c.highest);
}

void GetConfig(Reader& r, Configuration& c) {
  GetIds(r, c.voters);
  GetIds(r, c.learners);
  uint64_t n = r.Varint();
  if (n > kMaxMembers || n > r.remaining()) return r.Fail("too many addresses");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    NodeId id = r.Varint();
    std::string address(r.Bytes(kMaxAddressBytes));
    if (r.ok() && !c.addresses.emplace(id, std::move(address)).second)
      return r.Fail("an address given twice");
  }
  c.highest = r.Varint();
  if (!r.ok()) return;
  if (c.voters.size() + c.learners.size() > kMaxMembers) return r.Fail("too many members");
  if (!c.IsValid()) r.Fail("configuration not sorted, not disjoint, naming node 0, or an address of no member");
}

// ---- Bodies: one Put and one Get per message type. --------------------------

void Put(std::string& out, const AppendEntries& m) {
  PutVarint(out, m.prev_index);
  PutVarint(out, m.prev_term);
  PutVarint(out, m.commit);
  PutVarint(out, m.lease_tick);
  PutVarint(out, m.entries.size());
  for (const Entry& e : m.entries) {
    PutVarint(out, e.term);
    out.push_back(static_cast<char>(e.type));
    PutBytes(out, e.payload);
  }
  PutVarint(out, m.stable);
}

// An entry a leader could have sent: known type, terms that never go
// backwards nor past the message's term, a configuration that decodes.
void GetEntry(Reader& r, Term min_term, Term max_term, Entry& e) {
  e.term = r.Varint();
  uint8_t type = r.Byte();
  e.payload = std::string(r.Bytes(kMaxEntryBytes));
  if (!r.ok()) return;
  if (type > kMaxEntryType) return r.Fail("unknown entry type");
  e.type = static_cast<EntryType>(type);
  if (e.term < min_term || e.term > max_term) return r.Fail("entry term out of order");
  if (e.type == EntryType::kNoOp && !e.payload.empty()) return r.Fail("no-op with a payload");
  if (e.type == EntryType::kMembership && !DecodeConfiguration(e.payload).ok()) {
    r.Fail("membership entry without a valid configuration");
  }
}

void Get(Reader& r, Term term, AppendEntries& m) {
  m.prev_index = r.Varint();
  m.prev_term = r.Varint();
  m.commit = r.Varint();
  m.lease_tick = r.Varint();
  uint64_t n = r.Varint();
  if (!r.ok()) return;
  // Each entry takes at least three bytes: this bounds the allocation.
  if (n > kMaxEntriesPerMessage || n > r.remaining() / 3) return r.Fail("too many entries");
  if (m.prev_index > std::numeric_limits<Index>::max() - n) return r.Fail("index overflow");
  if (m.prev_term > term) return r.Fail("prev_term past the message's term");
  m.entries.resize(n);
  Term min_term = m.prev_term;
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    Entry& e = m.entries[i];
    e.index = m.prev_index + 1 + i;
    GetEntry(r, min_term, term, e);
    min_term = e.term;
  }
  m.stable = r.Varint();
}

void Put(std::string& out, const AppendEntriesResponse& m) {
  PutBool(out, m.success);
  PutVarint(out, m.match_index);
  PutVarint(out, m.reject_index);
  PutVarint(out, m.hint_index);
  PutVarint(out, m.hint_term);
  PutVarint(out, m.lease_tick);
}

void Get(Reader& r, Term, AppendEntriesResponse& m) {
  m.success = GetBool(r);
  m.match_index = r.Varint();
  m.reject_index = r.Varint();
  m.hint_index = r.Varint();
  m.hint_term = r.Varint();
  m.lease_tick = r.Varint();
}

void Put(std::string& out, const VoteRequest& m) {
  out.push_back(static_cast<char>((m.pre_vote ? 1 : 0) | (m.transfer ? 2 : 0)));
  PutVarint(out, m.last_index);
  PutVarint(out, m.last_term);
}

void Get(Reader& r, Term term, VoteRequest& m) {
  uint8_t flags = r.Byte();
  m.pre_vote = flags & 1;
  m.transfer = flags & 2;
  m.last_index = r.Varint();
  m.last_term = r.Varint();
  if (flags > 3) r.Fail("unknown flag bits");
  if (m.last_term > term) r.Fail("last_term past the message's term");
}

void Put(std::string& out, const VoteResponse& m) {
  out.push_back(static_cast<char>((m.pre_vote ? 1 : 0) | (m.granted ? 2 : 0)));
}

void Get(Reader& r, Term, VoteResponse& m) {
  uint8_t flags = r.Byte();
  m.pre_vote = flags & 1;
  m.granted = flags & 2;
  if (flags > 3) r.Fail("unknown flag bits");
}

void Put(std::string& out, const InstallSnapshot& m) {
  PutVarint(out, m.lease_tick);
  PutVarint(out, m.snapshot.meta.index);
  PutVarint(out, m.snapshot.meta.term);
  PutConfig(out, m.snapshot.meta.config);
  PutBytes(out, m.snapshot.data);
}

void Get(Reader& r, Term term, InstallSnapshot& m) {
  SnapshotMeta& meta = m.snapshot.meta;
  m.lease_tick = r.Varint();
  meta.index = r.Varint();
  meta.term = r.Varint();
  GetConfig(r, meta.config);
  m.snapshot.data = std::string(r.Bytes(kMaxSnapshotBytes));
  if (!r.ok()) return;
  if (meta.index == 0 || meta.term == 0 || meta.term > term) r.Fail("snapshot index or term");
  if (meta.config.voters.empty()) r.Fail("snapshot without voters");
}

void Put(std::string& out, const InstallSnapshotResponse& m) {
  PutVarint(out, m.match_index);
  PutVarint(out, m.lease_tick);
}

void Get(Reader& r, Term, InstallSnapshotResponse& m) {
  m.match_index = r.Varint();
  m.lease_tick = r.Varint();
}

void Put(std::string&, const TimeoutNow&) {}
void Get(Reader&, Term, TimeoutNow&) {}

// The body of alternative `I` of MessageBody, for kind I + 1.
template <size_t I>
void GetBody(Reader& r, uint8_t kind, Message& m) {
  if constexpr (I < std::variant_size_v<MessageBody>) {
    if (kind != I + 1) return GetBody<I + 1>(r, kind, m);
    Get(r, m.term, m.body.emplace<I>());
  } else {
    r.Fail("unknown message kind");
  }
}

}  // namespace

std::string EncodeMessage(const Message& m) {
  std::string out;
  out.push_back(static_cast<char>(m.body.index() + 1));
  PutVarint(out, m.from);
  PutVarint(out, m.to);
  PutVarint(out, m.term);
  std::visit([&](const auto& body) { Put(out, body); }, m.body);
  return out;
}

Result<Message> DecodeMessage(std::string_view bytes) {
  if (bytes.size() > kMaxMessageBytes) {
    return RaftError(Errc::kMalformed, "raft message: larger than its bound");
  }
  Reader r(bytes);
  Result<Message> result = Message{};  // built in place: no move out at the end
  Message& m = result.value();
  uint8_t kind = r.Byte();
  m.from = r.Varint();
  m.to = r.Varint();
  m.term = r.Varint();
  if (r.ok() && (m.from == kNoNode || m.to == kNoNode || m.from == m.to)) {
    r.Fail("bad sender or destination");
  }
  if (r.ok()) GetBody<0>(r, kind, m);
  if (r.ok() && r.remaining() != 0) r.Fail("trailing bytes");
  if (!r.ok()) return RaftError(Errc::kMalformed, std::string("raft message: ") + r.why());
  return result;
}

std::string EncodeConfiguration(const Configuration& c) {
  std::string out;
  PutConfig(out, c);
  return out;
}

Result<Configuration> DecodeConfiguration(std::string_view bytes) {
  Reader r(bytes);
  Configuration c;
  GetConfig(r, c);
  if (r.ok() && r.remaining() != 0) r.Fail("trailing bytes");
  if (!r.ok()) return RaftError(Errc::kMalformed, std::string("raft configuration: ") + r.why());
  return c;
}

}  // namespace warren::raft
