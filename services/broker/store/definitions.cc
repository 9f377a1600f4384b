#include "broker/store/definitions.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "broker/store/definitions_records.h"
#include "broker/store/file_io.h"
#include "broker/store/limits.h"
#include "broker/store/scanner.h"
#include "common/log.h"
#include "common/text.h"

namespace warren::store {

namespace {

// Nesting the store reads no matter what, to tell "too deep" from "broken"
// in an error message.
constexpr int kDiagnosisDepth = 1024;

constexpr const char* kRemedy =
    "restore definitions.log from a backup, or start the Warren version that wrote it and "
    "delete or redeclare that definition";

// The first record that did not decode.
struct Undecodable {
  uint64_t offset;
  uint8_t type;
  std::string about, why;
};

}  // namespace

DefinitionsLog::~DefinitionsLog() {
  if (fd_ >= 0) fs_.Close(fd_);
}

Status DefinitionsLog::Open(const std::string& dir, const std::string& damaged_dir, bool& fresh) {
  dir_ = dir;
  if (Status s = Replay(damaged_dir, fresh); !s.ok()) return s;
  return Compact();
}

// Reads every record. Refuses (with one line) a record that does not
// decode and damage that intact records follow; keeps a copy of a damaged
// tail, which compaction then leaves out.
Status DefinitionsLog::Replay(const std::string& damaged_dir, bool& fresh) {
  std::string file = path();
  std::optional<Undecodable> bad;
  auto apply = [&](uint8_t type, std::string_view payload, uint64_t offset) {
    if (bad) return;
    std::string why = defs::Apply(model_, type, payload, kMaxStoredTableDepth);
    if (why.empty()) return;
    Definitions scratch;
    if (defs::Apply(scratch, type, payload, kDiagnosisDepth).empty())
      why = "a field table in it is nested deeper than the " +
            std::to_string(kMaxStoredTableDepth) + " levels the store reads";
    bad = Undecodable{offset, type, defs::Describe(type, payload), why};
  };
  auto scan = ScanFile(fs_, file, FileKind::kDefinitions, /*legacy_resync=*/true, apply);
  if (!scan.ok()) return scan.error();
  const ScanResult& r = scan.value();
  fresh = !r.exists;
  for (const Damage& d : r.damage) {
    if (d.end == Damage::kEndOfFile) continue;
    return IoError(file + ": " + std::to_string(d.length) + " damaged bytes at offset " +
                   std::to_string(d.offset) + " (" + d.why + ")" +
                   (d.end == Damage::kResynced ? " with intact records after them"
                                               : " and what follows could not be checked") +
                   "; not starting, since leaving out a definitions record could lose a "
                   "definition or bring back a deleted user, permission or queue: restore "
                   "definitions.log from a backup (the file is left as it is)");
  }
  if (bad)
    return IoError(file + ": the " + bad->about + " at offset " + std::to_string(bad->offset) +
                   " does not decode: " + bad->why +
                   "; not starting without it, so that it is not lost silently: " + kRemedy);
  for (const Damage& d : r.damage) {
    if (AllZero(fs_, file, d.offset, d.length)) {
      spdlog::warn(
          "store: {}: {} zero bytes at its end (offset {}), left by a crash before data "
          "reached the disk; left out",
          file, d.length, d.offset);
      continue;
    }
    auto copy = KeepCopy(fs_, file, d.offset, d.length, damaged_dir, "definitions.log");
    if (!copy.ok())
      return IoError(file + ": its last write was cut short (" + std::to_string(d.length) +
                     " bytes at offset " + std::to_string(d.offset) +
                     ") and no copy of it could be kept: " + copy.error().text);
    spdlog::warn(
        "store: {}: its last write was cut short ({}, {} bytes at offset {}); left "
        "out, a copy is at {}",
        file, d.why, d.length, d.offset, copy.value());
  }
  return Status::Ok();
}

Status DefinitionsLog::Compact() {
  framing_ = Framing::Random();
  std::string out = FileHeader(FileKind::kDefinitions, framing_);
  auto put = [&](uint8_t type, const std::string& payload) {
    size_t at = BeginRecord(out, framing_, type);
    out += payload;
    FinishRecord(out, framing_, at);
  };
  put(defs::kNextQueueId, defs::EncodeNumber(model_.next_queue_id));
  if (model_.metadata_applied != 0)
    put(defs::kMetadataApplied, defs::EncodeNumber(model_.metadata_applied));
  for (const auto& [v, meta] : model_.vhosts) put(defs::kVHostPut, defs::EncodeVHost(v, meta));
  for (const auto& [n, u] : model_.users) put(defs::kUserPut, defs::EncodeUser(u));
  for (const auto& [k, p] : model_.permissions)
    put(defs::kPermissionsPut, defs::EncodePermissions(p));
  for (const auto& [k, p] : model_.topic_permissions)
    put(defs::kTopicPermissionPut, defs::EncodeTopicPermission(p));
  for (const auto& [k, e] : model_.exchanges) put(defs::kExchangePut, defs::EncodeExchange(e));
  for (const auto& [k, q] : model_.queues) put(defs::kQueuePut, defs::EncodeQueue(q));
  for (const auto& [k, b] : model_.bindings) put(defs::kBindingPut, k);
  for (const auto& [k, p] : model_.policies) put(defs::kPolicyPut, defs::EncodePolicy(p));
  for (const auto& [k, p] : model_.operator_policies)
    put(defs::kPolicyPut, defs::EncodePolicy(p));
  for (const auto& [k, p] : model_.parameters)
    put(defs::kParameterPut, defs::Strings({p.component, p.vhost, p.name, p.value}));
  std::string file = path();
  if (Status s = ReplaceFile(fs_, file, out); !s.ok()) return s;
  fd_ = fs_.Open(file, O_WRONLY | O_APPEND);
  if (fd_ < 0) return IoError(file + ": " + std::strerror(errno));
  return Status::Ok();
}

void DefinitionsLog::Record(uint8_t type, const std::string& payload) {
  if (std::string why = defs::Apply(model_, type, payload, kMaxStoredTableDepth); !why.empty()) {
    spdlog::error("store: the {} is not written: it would not decode ({})",
                  defs::Describe(type, payload), why);
    return;
  }
  if (fd_ < 0 || failed_) return;
  size_t at = BeginRecord(pending_, framing_, type);
  pending_ += payload;
  FinishRecord(pending_, framing_, at);
  Flush();
}

bool DefinitionsLog::Flush() {
  if (pending_.empty() || failed_) return pending_.empty();
  size_t done = 0;
  int error = 0;
  Status s = WriteAll(fs_, fd_, pending_, &done, &error);
  pending_.erase(0, done);
  if (done > 0) writes_.fetch_add(1, std::memory_order_release);
  if (s.ok()) {
    if (!blocked_reason_.empty()) spdlog::info("store: {} is written again", path());
    blocked_reason_.clear();
    return true;
  }
  std::string why = "cannot write " + path() + ": " + std::strerror(error);
  if (!Retryable(error)) {
    failed_ = true;
    if (on_fatal_) on_fatal_("store: " + why);
    return false;
  }
  if (blocked_reason_.empty())
    spdlog::error(
        "store: {}; publishers are blocked and nothing more is confirmed until it "
        "succeeds",
        why);
  blocked_reason_ = why;
  return false;
}

bool DefinitionsLog::Writable(const Status& s, const std::string& what) {
  if (s.ok()) return true;
  spdlog::error("store: {} is not written to disk and will not survive a restart: {}",
                what, LogSafe(s.error().text, 1024));
  return false;
}

void DefinitionsLog::PutVHost(const std::string& name, const core::VHostMetadata& metadata) {
  Record(defs::kVHostPut, defs::EncodeVHost(name, metadata));
}
void DefinitionsLog::DeleteVHost(const std::string& name) {
  Record(defs::kVHostDelete, defs::Strings({name}));
}
void DefinitionsLog::PutUser(const core::UserDef& user) {
  Record(defs::kUserPut, defs::EncodeUser(user));
}
void DefinitionsLog::DeleteUser(const std::string& name) {
  Record(defs::kUserDelete, defs::Strings({name}));
}
void DefinitionsLog::PutPermissions(const core::PermissionDef& p) {
  Record(defs::kPermissionsPut, defs::EncodePermissions(p));
}
void DefinitionsLog::DeletePermissions(const std::string& user, const std::string& vhost) {
  Record(defs::kPermissionsDelete, defs::Strings({user, vhost}));
}
void DefinitionsLog::PutTopicPermission(const core::TopicPermissionDef& p) {
  Record(defs::kTopicPermissionPut, defs::EncodeTopicPermission(p));
}
void DefinitionsLog::DeleteTopicPermission(const std::string& user, const std::string& vhost,
                                           const std::string& exchange) {
  Record(defs::kTopicPermissionDelete, defs::Strings({user, vhost, exchange}));
}
void DefinitionsLog::PutExchange(const core::ExchangeDef& e) {
  if (Writable(Encodable(e),
               "exchange '" + LogSafe(e.name) + "' in vhost '" + LogSafe(e.vhost) + "'"))
    Record(defs::kExchangePut, defs::EncodeExchange(e));
}
void DefinitionsLog::DeleteExchange(const std::string& vhost, const std::string& name) {
  Record(defs::kExchangeDelete, defs::Strings({vhost, name}));
}
uint64_t DefinitionsLog::NewQueueId() { return model_.next_queue_id++; }
void DefinitionsLog::PutMetadataApplied(uint64_t index) {
  Record(defs::kMetadataApplied, defs::EncodeNumber(index));
}
void DefinitionsLog::PutQueue(const core::QueueDef& q) {
  if (Writable(Encodable(q), "queue '" + LogSafe(q.name) + "' in vhost '" + LogSafe(q.vhost) + "'"))
    Record(defs::kQueuePut, defs::EncodeQueue(q));
}
void DefinitionsLog::DeleteQueue(const std::string& vhost, const std::string& name) {
  Record(defs::kQueueDelete, defs::Strings({vhost, name}));
}
void DefinitionsLog::PutBinding(const core::BindingDef& b) {
  if (Writable(Encodable(b),
               "a binding from '" + LogSafe(b.source) + "' in vhost '" + LogSafe(b.vhost) + "'"))
    Record(defs::kBindingPut, defs::EncodeBinding(b));
}
void DefinitionsLog::DeleteBinding(const core::BindingDef& b) {
  // A binding that could not be written has nothing to delete on disk.
  if (Encodable(b).ok()) Record(defs::kBindingDelete, defs::EncodeBinding(b));
}
void DefinitionsLog::PutPolicy(const core::PolicyDef& p) {
  if (Writable(Encodable(p),
               "policy '" + LogSafe(p.name) + "' in vhost '" + LogSafe(p.vhost) + "'"))
    Record(defs::kPolicyPut, defs::EncodePolicy(p));
}
void DefinitionsLog::DeletePolicy(const std::string& vhost, const std::string& name,
                                  bool operator_policy) {
  std::string payload = defs::Strings({vhost, name});
  if (operator_policy) payload += defs::kOperatorPolicyFlag;
  Record(defs::kPolicyDelete, payload);
}
void DefinitionsLog::PutParameter(const core::ParameterDef& p) {
  if (Writable(Encodable(p), "parameter '" + LogSafe(p.name) + "'"))
    Record(defs::kParameterPut, defs::Strings({p.component, p.vhost, p.name, p.value}));
}
void DefinitionsLog::DeleteParameter(const core::ParameterKey& key) {
  const auto& [component, vhost, name] = key;
  Record(defs::kParameterDelete, defs::Strings({component, vhost, name}));
}

}  // namespace warren::store
