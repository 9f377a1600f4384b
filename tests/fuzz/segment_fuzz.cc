// libFuzzer target for message log recovery: the input becomes segment 1
// (store_fuzz_input.h: raw bytes, or records framed so that they pass their
// CRC) and MessageLog recovers it in a temporary directory as a node's start
// does: scan, resynchronise past damage, decode publish/deliver/settle
// records, keep copies of damage, cut a torn tail; then start (a new
// segment, reclaiming dead ones, carrying acks forward), read back every
// recovered message, append, and recover the directory a second time.
// Properties checked (any failure aborts):
//   - no crash, leak or undefined behaviour, whatever the bytes;
//   - a recovered message reads back with the size recovery reported (or
//     not at all, if its properties do not decode);
//   - recovering again finds the same messages in segment 1: what the first
//     recovery cut off or copied aside changed nothing it had read.
// Run with `make fuzz` (README.md).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "broker/store/message_log.h"
#include "common/log.h"
#include "fuzz_check.h"
#include "store_fuzz_input.h"

namespace {

using namespace warren;
using namespace warren::store;
namespace fs = std::filesystem;

const fs::path& Dir() { return warren::fuzzing::ScratchDir("segment"); }

// A message log on Dir() whose loop is a queue run by RunPosted().
struct Log {
  std::vector<std::function<void()>> posted;
  std::unique_ptr<MessageLog> log;

  Log() {
    MessageLogOptions o;
    o.dir = (Dir() / "messages").string();
    o.damaged_dir = (Dir() / "damaged").string();
    o.fsync = false;
    o.segment_size = 4096;
    o.post = [this](std::function<void()> fn) { posted.push_back(std::move(fn)); };
    o.on_fatal = [](const std::string& why) {
      std::fprintf(stderr, "unexpected fatal error: %s\n", why.c_str());
      std::abort();
    };
    log = std::make_unique<MessageLog>(std::move(o));
  }
  void RunPosted() {
    for (int rounds = 0; !posted.empty() && rounds < 100; ++rounds) {
      auto batch = std::move(posted);
      posted.clear();
      for (auto& fn : batch) fn();
    }
  }
};

struct Recovered {
  std::map<uint64_t, PublishInfo> publishes;  // by message id
  size_t marks = 0;
};

Recovered Recover(MessageLog& log) {
  Recovered out;
  MessageLog::Replay replay;
  replay.publish = [&](const PublishInfo& info) { out.publishes[info.ref.id] = info; };
  replay.mark = [&](LogRecord, uint64_t, uint64_t, uint32_t) { ++out.marks; };
  FUZZ_CHECK(log.Recover(replay).ok());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::PlaceFile(Dir(), Dir() / "messages" / "00000000000000000001.seg", data, size,
                  FileKind::kSegment);
  Recovered first;
  {
    Log l;
    first = Recover(*l.log);
    std::map<uint32_t, uint64_t> live;
    for (const auto& [id, info] : first.publishes) ++live[info.ref.segment];
    FUZZ_CHECK(l.log->Start({live.begin(), live.end()}).ok());
    for (const auto& [id, info] : first.publishes) {
      core::MessagePtr m = l.log->Read(info.ref);
      if (m) FUZZ_CHECK(m->body.size() == info.size);
    }
    core::Message m;
    m.body = "appended after recovery";
    core::DiskRef ref = l.log->AppendPublish(m, {1}, 0);
    l.log->AppendMark(LogRecord::kSettle, 1, ref);
    l.RunPosted();
    l.log->Close();
  }
  Log l;
  Recovered second = Recover(*l.log);
  for (const auto& [id, info] : first.publishes) {
    auto it = second.publishes.find(id);
    FUZZ_CHECK(it != second.publishes.end());
    FUZZ_CHECK(it->second.ref.offset == info.ref.offset);
    FUZZ_CHECK(it->second.ref.length == info.ref.length);
  }
  return 0;
}
