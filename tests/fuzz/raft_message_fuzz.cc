// libFuzzer target for the Raft message decoder: the bytes a peer (or
// anyone who reaches the cluster port) can send. Properties checked (any
// failure aborts):
//   - no crash, leak, undefined behaviour or unbounded allocation, whatever
//     the bytes; a refusal is Errc::kMalformed;
//   - the encoding is canonical: what decodes encodes back to the very same
//     bytes, and decodes again to an equal message;
//   - every membership entry accepted carries a configuration that decodes.
// Run with `make fuzz` (README.md).
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.h"
#include "raft/codec.h"
#include "raft/errors.h"

using namespace warren;
using namespace warren::raft;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Result<Message> m = DecodeMessage(in);
  if (!m.ok()) {
    FUZZ_CHECK(ErrcOf(m.error()) == Errc::kMalformed);
    return 0;
  }
  std::string out = EncodeMessage(m.value());
  FUZZ_CHECK(out == in);
  Result<Message> again = DecodeMessage(out);
  FUZZ_CHECK(again.ok() && again.value() == m.value());
  if (const auto* ae = std::get_if<AppendEntries>(&m.value().body)) {
    for (const Entry& e : ae->entries) {
      if (e.type == EntryType::kMembership) FUZZ_CHECK(DecodeConfiguration(e.payload).ok());
    }
  }
  return 0;
}
