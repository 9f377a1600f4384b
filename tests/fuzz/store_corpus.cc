// Writes the store fuzzers' seed corpora: files the store itself wrote (two
// definitions.logs with a record of every kind, a segment with publishes,
// deliveries and settles), each as a raw-file seed and as a framed-records
// seed (store_fuzz_input.h). Usage: warren_store_fuzz_corpus <dir>, which
// fills <dir>/corpus-definitions and <dir>/corpus-segment (tests/fuzz/ in
// the source tree).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "amqp/properties.h"
#include "broker/store/definitions.h"
#include "broker/store/message_log.h"
#include "broker/store/scanner.h"
#include "store_fuzz_input.h"

namespace {

using namespace warren;
using namespace warren::store;
namespace fs = std::filesystem;

using Records = std::vector<std::pair<uint8_t, std::string>>;

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void Write(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Records ReadRecords(const fs::path& file, FileKind kind) {
  Records out;
  auto scan = ScanFile(FileSystem::Default(), file.string(), kind, false,
                       [&](uint8_t type, std::string_view payload, uint64_t) {
                         out.emplace_back(type, std::string(payload));
                       });
  if (!scan.ok()) std::fprintf(stderr, "%s\n", scan.error().text.c_str());
  return out;
}

void Seeds(const fs::path& out, const std::string& name, const fs::path& file, FileKind kind) {
  fs::create_directories(out);
  Write(out / (name + "-raw"), std::string(1, '\0') + Slurp(file));
  Records records = ReadRecords(file, kind);
  Write(out / (name + "-framed"), fuzz::FramedInput(records));
  for (size_t i = 0; i < records.size(); ++i)
    Write(out / (name + "-record-" + std::to_string(i)), fuzz::FramedInput({records[i]}));
}

void DefinitionsSeeds(const fs::path& tmp, const fs::path& out) {
  DefinitionsLog log;
  bool fresh;
  if (!log.Open(tmp.string(), (tmp / "damaged").string(), fresh).ok()) return;
  amqp::FieldTable args;
  args.Set("x-message-ttl", amqp::FieldValue::Long(60000));
  amqp::FieldTable inner;
  inner.Set("list",
            amqp::FieldValue::Array({amqp::FieldValue::Str("a"), amqp::FieldValue::Bool(true)}));
  args.Set("nested", amqp::FieldValue::Table(inner));
  log.PutVHost("/");
  log.PutVHost("gone");
  log.PutUser({"admin", "hash", {"administrator"}});
  log.PutPermissions({"admin", "/", ".*", ".*", ".*"});
  log.PutExchange({"/", "x", "topic", false, false, args});
  log.PutQueue({"/", "q", log.NewQueueId(), false, args});
  log.PutBinding({"/", "x", true, "q", "a.#", {}});
  log.PutPolicy({"/", "p", "^q$", core::ApplyTo::kQueues, 1, args});
  log.DeleteBinding({"/", "x", true, "q", "a.#", {}});
  log.DeletePolicy("/", "p");
  log.DeletePermissions("admin", "/");
  log.DeleteExchange("/", "x");
  log.DeleteQueue("/", "q");
  log.DeleteUser("admin");
  log.DeleteVHost("gone");
  Seeds(out, "definitions", tmp / "definitions.log", FileKind::kDefinitions);
}

// The records added after the first seeds: vhost metadata, a user with
// limits, topic permissions, runtime parameters and an operator policy.
void LaterDefinitionsSeeds(const fs::path& tmp, const fs::path& out) {
  DefinitionsLog log;
  bool fresh;
  if (!log.Open(tmp.string(), (tmp / "damaged").string(), fresh).ok()) return;
  amqp::FieldTable cap;
  cap.Set("max-length", amqp::FieldValue::Long(100));
  log.PutVHost("/", core::VHostMetadata{"orders", {"prod"}, "quorum", true});
  log.PutUser({"app", "hash", {"management"}, {{"max-connections", 10}, {"max-channels", -1}}});
  log.PutTopicPermission({"app", "/", "amq.topic", "^{username}\\.", ""});
  log.PutTopicPermission({"app", "/", "logs", ".*", ".*"});
  log.DeleteTopicPermission("app", "/", "logs");
  log.PutParameter({"vhost-limits", "/", "limits", R"({"max-queues":10})"});
  log.PutParameter({"", "", "cluster_name", R"("c1")"});
  log.DeleteParameter({"", "", "cluster_name"});
  log.PutPolicy({"/", "cap", ".*", core::ApplyTo::kQueues, 0, cap, true});
  log.DeletePolicy("/", "cap", true);
  Seeds(out, "later-definitions", tmp / "definitions.log", FileKind::kDefinitions);
}

void SegmentSeeds(const fs::path& tmp, const fs::path& out) {
  MessageLogOptions o;
  o.dir = (tmp / "messages").string();
  o.damaged_dir = (tmp / "damaged").string();
  o.fsync = false;
  o.post = [](std::function<void()>) {};
  fs::create_directories(o.dir);
  MessageLog log(std::move(o));
  if (!log.Recover({}).ok() || !log.Start({}).ok()) return;
  amqp::BasicProperties p;
  p.delivery_mode = 2;
  p.content_type = "text/plain";
  core::MessagePtr m = core::MakeMessage("ex", "key", p, "body of a message");
  core::DiskRef a = log.AppendPublish(*m, {1, 2}, 1700000000000);
  core::DiskRef b = log.AppendPublish(*m, {1}, 1700000000001);
  log.AppendMark(LogRecord::kDeliver, 1, a);
  log.AppendMark(LogRecord::kSettle, 1, a);
  log.AppendMark(LogRecord::kSettle, 2, b);
  log.Close();
  Seeds(out, "segment", tmp / "messages" / "00000000000000000001.seg", FileKind::kSegment);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <tests/fuzz dir>\n", argv[0]);
    return 2;
  }
  fs::path tmp = fs::temp_directory_path() / ("warren-store-corpus-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp / "defs");
  fs::create_directories(tmp / "later");
  fs::create_directories(tmp / "log");
  DefinitionsSeeds(tmp / "defs", fs::path(argv[1]) / "corpus-definitions");
  LaterDefinitionsSeeds(tmp / "later", fs::path(argv[1]) / "corpus-definitions");
  SegmentSeeds(tmp / "log", fs::path(argv[1]) / "corpus-segment");
  fs::remove_all(tmp);
  return 0;
}
