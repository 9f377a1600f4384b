// Bytes off the network: random input and mutations of valid messages never
// crash the decoder (these run under ASan+UBSan too, label "hardening"), and
// whatever it accepts is canonical: it encodes back to the same bytes.
#include <gtest/gtest.h>

#include <string>

#include "../../fuzz/raft_samples.h"
#include "raft/codec.h"
#include "sim_rng.h"

namespace warren::raft {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int kRounds = 20000;
#else
constexpr int kRounds = 200000;
#endif

// Decodes `bytes`; if accepted, they must be exactly what the message
// encodes to. Returns whether they were accepted.
bool DecodeCanonical(const std::string& bytes) {
  Result<Message> m = DecodeMessage(bytes);
  if (!m.ok()) return false;
  EXPECT_EQ(EncodeMessage(m.value()), bytes);
  return true;
}

TEST(RaftCodecRandom, RandomBytesNeverCrashTheDecoder) {
  sim::Rng rng(1);
  int accepted = 0;
  for (int i = 0; i < kRounds; ++i) {
    std::string bytes(rng.Below(40), '\0');
    for (char& c : bytes) c = static_cast<char>(rng.Next());
    // Most inputs start like a message, to get past the first checks.
    if (!bytes.empty() && rng.Chance(0.9)) bytes[0] = static_cast<char>(1 + rng.Below(7));
    accepted += DecodeCanonical(bytes) ? 1 : 0;
  }
  EXPECT_GT(accepted, 0) << "some random inputs are messages";
}

std::string Mutate(std::string bytes, sim::Rng& rng) {
  for (uint64_t n = 1 + rng.Below(3); n > 0 && !bytes.empty(); --n) {
    size_t at = rng.Below(bytes.size());
    switch (rng.Below(5)) {
      case 0: bytes[at] = static_cast<char>(rng.Next()); break;
      case 1: bytes[at] = static_cast<char>(bytes[at] ^ (1 << rng.Below(8))); break;
      case 2: bytes.insert(at, 1, static_cast<char>(rng.Next())); break;
      case 3: bytes.erase(at, 1 + rng.Below(4)); break;
      default: bytes.insert(at, std::string(1 + rng.Below(9), static_cast<char>(0xff))); break;
    }
  }
  return bytes;
}

TEST(RaftCodecRandom, MutatedMessagesNeverCrashTheDecoder) {
  sim::Rng rng(2);
  auto samples = fuzz::SampleMessages();
  for (int i = 0; i < kRounds; ++i) {
    const Message& m = samples[rng.Below(samples.size())].second;
    DecodeCanonical(Mutate(EncodeMessage(m), rng));
  }
}

}  // namespace
}  // namespace warren::raft
