// libFuzzer target for definitions.log recovery: the input becomes the file
// (store_fuzz_input.h: raw bytes, or records framed so that they pass their
// CRC) and DefinitionsLog::Open reads it in a temporary directory exactly as
// a node's start does (scan, resynchronise, decode, keep copies of damage,
// compact). Properties checked (any failure aborts):
//   - no crash, leak or undefined behaviour, whatever the bytes;
//   - when Open accepts the file, the file it rewrote opens again, to the
//     same records: compaction loses nothing that was read;
//   - the definitions read satisfy store::Encodable, since they were written
//     by the same encoder the store refuses to feed anything else.
// Run with `make fuzz` (README.md).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "broker/store/definitions.h"
#include "broker/store/limits.h"
#include "broker/store/scanner.h"
#include "common/log.h"
#include "fuzz_check.h"
#include "store_fuzz_input.h"

namespace {

using namespace warren::store;
namespace fs = std::filesystem;

const fs::path& Dir() { return warren::fuzzing::ScratchDir("definitions"); }

using Records = std::vector<std::pair<uint8_t, std::string>>;

Records ReadRecords(const fs::path& file) {
  Records out;
  auto scan = ScanFile(FileSystem::Default(), file.string(), FileKind::kDefinitions, true,
                       [&](uint8_t type, std::string_view payload, uint64_t) {
                         out.emplace_back(type, std::string(payload));
                       });
  FUZZ_CHECK(scan.ok());
  FUZZ_CHECK(scan.value().damage.empty());
  return out;
}

bool Open(DefinitionsLog& log) {
  bool fresh = false;
  return log.Open(Dir().string(), (Dir() / "damaged").string(), fresh).ok();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::PlaceFile(Dir(), Dir() / "definitions.log", data, size, FileKind::kDefinitions);
  Records first;
  {
    DefinitionsLog log;
    if (!Open(log)) return 0;  // refused with a reason: fine
    const Definitions& m = log.model();
    for (const auto& [k, q] : m.queues) FUZZ_CHECK(Encodable(q).ok());
    for (const auto& [k, e] : m.exchanges) FUZZ_CHECK(Encodable(e).ok());
    for (const auto& [k, b] : m.bindings) FUZZ_CHECK(Encodable(b).ok());
    for (const auto& [k, p] : m.policies) FUZZ_CHECK(Encodable(p).ok());
    first = ReadRecords(Dir() / "definitions.log");
  }
  DefinitionsLog again;
  FUZZ_CHECK(Open(again));
  FUZZ_CHECK(ReadRecords(Dir() / "definitions.log") == first);
  return 0;
}
