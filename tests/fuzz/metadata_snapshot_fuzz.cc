// libFuzzer target for the metadata snapshot (cluster/metadata_snapshot.h):
// the bytes a leader sends in InstallSnapshot and a node reads back from its
// Raft log, restored into a broker as a member restores one.
// Properties checked (any failure aborts):
//   - no crash, leak, undefined behaviour or unbounded allocation, whatever
//     the bytes; a refusal is code 0 with one line of text;
//   - what decodes encodes to bytes that decode again and encode the same;
//   - restoring it (ReconcileMetadata) into a broker leaves metadata that
//     describes itself as a snapshot that decodes, whatever the model
//     refused on the way.
// Run with `make fuzz` (README.md).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "broker/cluster/metadata_snapshot.h"
#include "broker/core/broker.h"
#include "common/config.h"
#include "fuzz_check.h"
#include "manual_runtime.h"

using namespace warren;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);  // the model's refusals, logged
    return true;
  }();
  (void)quiet;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Result<std::vector<core::Command>> commands = cluster::DecodeSnapshot(in);
  if (!commands.ok()) {
    FUZZ_CHECK(commands.error().code == 0);
    const std::string& text = commands.error().text;
    FUZZ_CHECK(!text.empty() && text.find('\n') == std::string::npos);
    return 0;
  }
  std::string out = cluster::EncodeSnapshot(commands.value());
  Result<std::vector<core::Command>> again = cluster::DecodeSnapshot(out);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(cluster::EncodeSnapshot(again.value()) == out);

  NodeConfig config;
  testkit::ManualRuntime runtime;
  core::Broker broker(runtime, config);
  broker.set_self_member(1);
  cluster::ReconcileMetadata(broker, commands.value());
  FUZZ_CHECK(cluster::DecodeSnapshot(cluster::EncodeSnapshot(cluster::DescribeMetadata(broker))).ok());
  return 0;
}
