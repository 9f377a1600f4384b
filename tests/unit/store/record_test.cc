// The record framing: what a reader accepts, and that every kind of damage
// is told apart from an intact record.
#include <gtest/gtest.h>

#include <string>

#include "broker/store/record.h"

namespace warren::store {
namespace {

std::string Make(uint8_t type, const std::string& payload) {
  std::string out;
  size_t at = BeginRecord(out, type);
  out += payload;
  FinishRecord(out, at);
  return out;
}

TEST(RecordTest, RoundTripsTypeAndPayload) {
  std::string r = Make(7, "hello") + Make(3, "");
  uint8_t type;
  std::string_view payload;
  size_t used;
  ASSERT_EQ(ParseRecord(r, type, payload, used), RecordParse::kOk);
  EXPECT_EQ(type, 7);
  EXPECT_EQ(payload, "hello");
  ASSERT_EQ(ParseRecord(std::string_view(r).substr(used), type, payload, used), RecordParse::kOk);
  EXPECT_EQ(type, 3);
  EXPECT_EQ(payload, "");
}

TEST(RecordTest, EveryTruncationNeedsMore) {
  std::string r = Make(1, "payload bytes");
  for (size_t n = 0; n < r.size(); ++n) {
    uint8_t type;
    std::string_view payload;
    size_t used;
    EXPECT_EQ(ParseRecord(std::string_view(r).substr(0, n), type, payload, used),
              RecordParse::kNeedMore)
        << n;
  }
}

TEST(RecordTest, EveryFlippedByteIsCaught) {
  std::string r = Make(2, "some payload");
  for (size_t i = 0; i < r.size(); ++i) {
    std::string bad = r;
    bad[i] ^= 0x20;
    uint8_t type;
    std::string_view payload;
    size_t used;
    // A damaged length may also read as "longer than what is there".
    EXPECT_NE(ParseRecord(bad, type, payload, used), RecordParse::kOk) << i;
  }
}

TEST(RecordTest, ZeroFilledBytesAreNotARecord) {
  std::string zeros(64, '\0');
  uint8_t type;
  std::string_view payload;
  size_t used;
  EXPECT_EQ(ParseRecord(zeros, type, payload, used), RecordParse::kCorrupt);
}

}  // namespace
}  // namespace warren::store
