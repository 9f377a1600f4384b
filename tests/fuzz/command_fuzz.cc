// libFuzzer target for the metadata command decoder (cluster/command_codec.h):
// the bytes of a Raft log entry, which come from peers and from disk.
// Properties checked (any failure aborts):
//   - no crash, leak, undefined behaviour or unbounded allocation, whatever
//     the bytes; a refusal is code 0 with one line of text;
//   - what decodes encodes, and those bytes decode again to the same command
//     (SameCommand, command_samples.h) and encode again to the same bytes.
//     The first encoding need not equal the input: protobuf reads fields in
//     any order, repeated and with longer varints than needed.
// Run with `make fuzz` (README.md).
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/cluster/command_codec.h"
#include "command_samples.h"
#include "fuzz_check.h"

using namespace warren;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Result<core::Command> c = cluster::DecodeCommand(in);
  if (!c.ok()) {
    FUZZ_CHECK(c.error().code == 0);
    FUZZ_CHECK(!c.error().text.empty() && c.error().text.find('\n') == std::string::npos);
    return 0;
  }
  std::string out = cluster::EncodeCommand(c.value());
  Result<core::Command> again = cluster::DecodeCommand(out);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(cluster::fuzz::SameCommand(again.value(), c.value()));
  FUZZ_CHECK(cluster::EncodeCommand(again.value()) == out);
  return 0;
}
