// The record framing: what a reader accepts, that every kind of damage is
// told apart from an intact record, that a record made with one salt is not
// a record for any other (or for the old unsalted format), and the file
// header that carries the salt.
#include <gtest/gtest.h>

#include <string>

#include "broker/store/record.h"

namespace warren::store {
namespace {

const Framing kSalted = Framing::Salted(0x0123456789abcdefull);

RecordParse Parse(std::string_view in, const Framing& f, uint8_t* type = nullptr,
                  std::string_view* payload = nullptr, size_t* used = nullptr) {
  uint8_t t;
  std::string_view p;
  size_t u;
  return ParseRecord(in, f, type ? *type : t, payload ? *payload : p, used ? *used : u);
}

TEST(RecordTest, RoundTripsTypeAndPayload) {
  for (const Framing& f : {kSalted, Framing::Legacy()}) {
    std::string r = MakeRecord(f, 7, "hello") + MakeRecord(f, 3, "");
    uint8_t type;
    std::string_view payload;
    size_t used;
    ASSERT_EQ(Parse(r, f, &type, &payload, &used), RecordParse::kOk);
    EXPECT_EQ(type, 7);
    EXPECT_EQ(payload, "hello");
    EXPECT_EQ(used, f.header() + 5);
    ASSERT_EQ(Parse(std::string_view(r).substr(used), f, &type, &payload, &used),
              RecordParse::kOk);
    EXPECT_EQ(type, 3);
    EXPECT_EQ(payload, "");
  }
}

TEST(RecordTest, EveryTruncationNeedsMore) {
  std::string r = MakeRecord(kSalted, 1, "payload bytes");
  for (size_t n = 0; n < r.size(); ++n)
    EXPECT_EQ(Parse(std::string_view(r).substr(0, n), kSalted), RecordParse::kNeedMore) << n;
}

TEST(RecordTest, EveryFlippedByteIsCaught) {
  std::string r = MakeRecord(kSalted, 2, "some payload");
  for (size_t i = 0; i < r.size(); ++i) {
    std::string bad = r;
    bad[i] ^= 0x20;
    // A damaged length may also read as "longer than what is there".
    EXPECT_NE(Parse(bad, kSalted), RecordParse::kOk) << i;
  }
}

TEST(RecordTest, ZeroFilledBytesAreNotARecord) {
  std::string zeros(64, '\0');
  EXPECT_EQ(Parse(zeros, Framing::Legacy()), RecordParse::kCorrupt);
  EXPECT_EQ(Parse(zeros, Framing::Salted(0)), RecordParse::kCorrupt);
}

TEST(RecordTest, ARecordIsOnlyARecordUnderItsOwnSalt) {
  std::string payload = "a settle record someone would like to plant";
  for (const Framing& other : {Framing::Legacy(), Framing::Salted(1), Framing::Salted(0),
                               Framing::Salted(kSalted.salt() ^ (1ull << 40))}) {
    EXPECT_NE(Parse(MakeRecord(other, 3, payload), kSalted), RecordParse::kOk);
    EXPECT_NE(Parse(MakeRecord(kSalted, 3, payload), other), RecordParse::kOk);
  }
}

TEST(RecordTest, RandomFramingsDiffer) {
  EXPECT_NE(Framing::Random().salt(), Framing::Random().salt());
  EXPECT_TRUE(Framing::Random().salted());
}

TEST(FileHeaderTest, CarriesTheSaltAndKind) {
  std::string h = FileHeader(FileKind::kSegment, kSalted);
  ASSERT_EQ(h.size(), kFileHeader);
  Framing f;
  ASSERT_EQ(ParseFileHeader(h, FileKind::kSegment, f), HeaderState::kSalted);
  EXPECT_EQ(f.salt(), kSalted.salt());
  EXPECT_EQ(ParseFileHeader(h, FileKind::kDefinitions, f), HeaderState::kDamaged);
}

TEST(FileHeaderTest, EitherCopySuffices) {
  std::string h = FileHeader(FileKind::kDefinitions, kSalted);
  for (size_t i = 0; i < h.size(); ++i) {
    std::string bad = h;
    bad[i] ^= 0x01;
    Framing f;
    ASSERT_EQ(ParseFileHeader(bad, FileKind::kDefinitions, f), HeaderState::kSalted) << i;
    EXPECT_EQ(f.salt(), kSalted.salt()) << i;
  }
  std::string both = h;
  both[3] ^= 1;
  both[32 + 20] ^= 1;
  Framing f;
  EXPECT_EQ(ParseFileHeader(both, FileKind::kDefinitions, f), HeaderState::kDamaged);
}

TEST(FileHeaderTest, FilesWithoutOneAreLegacyAndCutOnesAreDamaged) {
  Framing f;
  EXPECT_EQ(ParseFileHeader("", FileKind::kSegment, f), HeaderState::kLegacy);
  EXPECT_EQ(ParseFileHeader(MakeRecord(Framing::Legacy(), 1, "x"), FileKind::kSegment, f),
            HeaderState::kLegacy);
  EXPECT_FALSE(f.salted());
  std::string h = FileHeader(FileKind::kSegment, kSalted);
  for (size_t n : {1u, 7u, 31u, 40u, 63u})
    EXPECT_EQ(ParseFileHeader(h.substr(0, n), FileKind::kSegment, f), HeaderState::kDamaged) << n;
}

}  // namespace
}  // namespace warren::store
