// Basic content properties (spec 4.2.6.1 and the basic class's property
// list): flag bits from 15 down, properties in flag order, continuation
// words, and the content header payload around them.
#include <gtest/gtest.h>

#include <string>

#include "amqp/properties.h"
#include "amqp/codec_test_util.h"

namespace warren::amqp {
namespace {

using test::Be64;
using test::Bytes;
using test::Hex;

std::string Encode(const BasicProperties& p) {
  std::string out;
  EncodeProperties(p, out);
  return out;
}

TEST(PropertiesGoldenTest, NoProperties) {
  EXPECT_EQ(Hex(Encode(BasicProperties{})), Hex(Bytes({0x00, 0x00})));
  BasicProperties p;
  p.app_id = "stale";
  ASSERT_TRUE(DecodeProperties(Bytes({0x00, 0x00}), p));
  EXPECT_EQ(p, BasicProperties{});  // decoding starts from scratch
}

TEST(PropertiesGoldenTest, ContentTypeAndDeliveryMode) {
  BasicProperties p;
  p.content_type = "text/plain";
  p.delivery_mode = 2;
  // content-type bit 15, delivery-mode bit 12: 0x9000.
  std::string golden = Bytes({0x90, 0x00, 0x0A}) + "text/plain" + Bytes({0x02});
  EXPECT_EQ(Hex(Encode(p)), Hex(golden));
  BasicProperties back;
  ASSERT_TRUE(DecodeProperties(golden, back));
  EXPECT_EQ(back, p);
  EXPECT_TRUE(back.persistent());
}

TEST(PropertiesGoldenTest, AllFourteenInFlagOrder) {
  BasicProperties p;
  p.content_type = "a";
  p.content_encoding = "b";
  p.headers = FieldTable{};
  p.delivery_mode = 2;
  p.priority = 5;
  p.correlation_id = "c";
  p.reply_to = "d";
  p.expiration = "e";
  p.message_id = "f";
  p.timestamp = 7;
  p.type = "g";
  p.user_id = "h";
  p.app_id = "i";
  p.cluster_id = "j";
  std::string golden = Bytes({0xFF, 0xFC,               // bits 15..2
                              0x01, 'a', 0x01, 'b',     // content-type, -encoding
                              0x00, 0x00, 0x00, 0x00,   // headers {}
                              0x02, 0x05,               // delivery-mode, priority
                              0x01, 'c', 0x01, 'd', 0x01, 'e', 0x01, 'f',
                              0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // timestamp
                              0x01, 'g', 0x01, 'h', 0x01, 'i', 0x01, 'j'});
  EXPECT_EQ(Hex(Encode(p)), Hex(golden));
  BasicProperties back;
  ASSERT_TRUE(DecodeProperties(golden, back));
  EXPECT_EQ(back, p);
}

TEST(PropertiesGoldenTest, EmptyHeadersArePresentNotAbsent) {
  BasicProperties p;
  p.headers = FieldTable{};
  std::string golden = Bytes({0x20, 0x00, 0x00, 0x00, 0x00, 0x00});
  EXPECT_EQ(Hex(Encode(p)), Hex(golden));
  BasicProperties back;
  ASSERT_TRUE(DecodeProperties(golden, back));
  ASSERT_TRUE(back.headers.has_value());
  EXPECT_TRUE(back.headers->empty());
}

FieldTable SampleHeaders() {
  FieldTable nested;
  nested.Set("count", FieldValue::Long(-3));
  FieldTable h;
  h.Set("x-match", FieldValue::Str("any"));
  h.Set("n", FieldValue::Int(FieldType::kInt8, -1));
  h.Set("f", FieldValue{'f', 2.5f});
  h.Set("x-death", FieldValue::Array({FieldValue::Table(nested)}));
  h.Set("when", FieldValue::Timestamp(1700000000));
  return h;
}

// Property i of 14, in flag order, set to a value unlike the others.
void SetProperty(BasicProperties& p, int i) {
  const std::string s = "p" + std::to_string(i);
  switch (i) {
    case 0: p.content_type = s; break;
    case 1: p.content_encoding = s; break;
    case 2: p.headers = SampleHeaders(); break;
    case 3: p.delivery_mode = 2; break;
    case 4: p.priority = 9; break;
    case 5: p.correlation_id = s; break;
    case 6: p.reply_to = s; break;
    case 7: p.expiration = "60000"; break;
    case 8: p.message_id = s; break;
    case 9: p.timestamp = 0x8000000000000001ull; break;
    case 10: p.type = s; break;
    case 11: p.user_id = s; break;
    case 12: p.app_id = s; break;
    case 13: p.cluster_id = std::string(255, 'c'); break;
  }
}

// Every one of the 2^14 combinations: exactly the flags of the present
// properties, and decode(encode(p)) == p byte-for-byte.
TEST(PropertiesTest, EveryCombinationRoundTrips) {
  for (uint32_t mask = 0; mask < (1u << 14); ++mask) {
    BasicProperties p;
    uint16_t want_flags = 0;
    for (int i = 0; i < 14; ++i) {
      if (mask & (1u << i)) {
        SetProperty(p, i);
        want_flags |= static_cast<uint16_t>(1u << (15 - i));
      }
    }
    std::string raw = Encode(p);
    ASSERT_GE(raw.size(), 2u);
    uint16_t flags = static_cast<uint16_t>((uint8_t(raw[0]) << 8) | uint8_t(raw[1]));
    ASSERT_EQ(flags, want_flags) << "mask " << mask;
    BasicProperties back;
    ASSERT_TRUE(DecodeProperties(raw, back)) << "mask " << mask;
    ASSERT_EQ(back, p) << "mask " << mask;
    ASSERT_EQ(Encode(back), raw) << "mask " << mask;
  }
}

TEST(PropertiesTest, EachPropertyAloneHasItsGoldenBytes) {
  // (property index, bytes after the flags)
  struct Case {
    int i;
    std::string body;
  };
  const Case cases[] = {
      {0, Bytes({0x02, 'p', '0'})},
      {3, Bytes({0x02})},
      {4, Bytes({0x09})},
      {7, Bytes({0x05}) + "60000"},
      {9, Bytes({0x80, 0, 0, 0, 0, 0, 0, 0x01})},
      {12, Bytes({0x03, 'p', '1', '2'})},
  };
  for (const Case& c : cases) {
    BasicProperties p;
    SetProperty(p, c.i);
    uint16_t flag = static_cast<uint16_t>(1u << (15 - c.i));
    std::string golden = Bytes({flag >> 8, flag & 0xFF}) + c.body;
    EXPECT_EQ(Hex(Encode(p)), Hex(golden)) << c.i;
  }
}

// A set bit 0 means another flag word follows (spec 4.2.6.1). Basic has no
// properties past the first word, so later words must carry no property
// bits; the properties follow the last word.
TEST(PropertiesTest, ContinuationWords) {
  BasicProperties p;
  ASSERT_TRUE(DecodeProperties(Bytes({0x80, 0x01, 0x00, 0x00, 0x01, 'a'}), p));
  EXPECT_EQ(p.content_type, "a");
  ASSERT_TRUE(DecodeProperties(Bytes({0x00, 0x01, 0x00, 0x01, 0x00, 0x00}), p));
  EXPECT_EQ(p, BasicProperties{});
  EXPECT_FALSE(DecodeProperties(Bytes({0x00, 0x01}), p));              // word missing
  EXPECT_FALSE(DecodeProperties(Bytes({0x00, 0x01, 0x00}), p));        // half a word
  EXPECT_FALSE(DecodeProperties(Bytes({0x00, 0x01, 0x00, 0x01}), p));  // chain unfinished
  EXPECT_FALSE(DecodeProperties(Bytes({0x00, 0x01, 0x80, 0x00}), p));
  EXPECT_FALSE(DecodeProperties(Bytes({0x00, 0x01, 0x00, 0x04}), p));
  // Re-encoding drops the empty continuation word but keeps the value.
  ASSERT_TRUE(DecodeProperties(Bytes({0x80, 0x01, 0x00, 0x00, 0x01, 'a'}), p));
  EXPECT_EQ(Hex(Encode(p)), Hex(Bytes({0x80, 0x00, 0x01, 'a'})));
}

BasicProperties AllProperties() {
  BasicProperties p;
  for (int i = 0; i < 14; ++i) SetProperty(p, i);
  return p;
}

TEST(PropertiesTest, EveryTruncationIsRefused) {
  std::string raw = Encode(AllProperties());
  BasicProperties p;
  for (size_t cut = 0; cut < raw.size(); ++cut)
    EXPECT_FALSE(DecodeProperties(raw.substr(0, cut), p)) << "cut at " << cut;
  EXPECT_TRUE(DecodeProperties(raw, p));
}

TEST(PropertiesTest, TrailingBytesAreRefused) {
  BasicProperties p;
  std::string raw = Encode(AllProperties());
  EXPECT_FALSE(DecodeProperties(raw + std::string(1, '\0'), p));
  EXPECT_FALSE(DecodeProperties(raw + "garbage", p));
  // A property whose flag is not set is trailing garbage too.
  EXPECT_FALSE(DecodeProperties(Bytes({0x00, 0x00, 0x01, 'a'}), p));
  EXPECT_FALSE(DecodeProperties(Bytes({0x10, 0x00, 0x02, 0x02}), p));
}

TEST(PropertiesTest, BadHeadersTableIsRefused) {
  // headers = {"k": 'Z'}: an unknown type letter.
  BasicProperties p;
  EXPECT_FALSE(DecodeProperties(Bytes({0x20, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 'k', 'Z'}), p));
  EXPECT_TRUE(DecodeProperties(Bytes({0x20, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 'k', 'V'}), p));
  EXPECT_EQ(p.headers->Find("k")->type, 'V');
}

// ---------------------------------------------------------------------------
// The content header payload: class-id, weight, body-size, then properties.

TEST(ContentHeaderTest, GoldenPayload) {
  std::string raw = Bytes({0x90, 0x00, 0x0A}) + "text/plain" + Bytes({0x02});
  std::string payload = Bytes({0x00, 0x3C, 0x00, 0x00}) + Be64(0x0000000100000005ull) + raw;
  uint16_t class_id = 0;
  uint64_t body_size = 0;
  std::string_view split;
  ASSERT_TRUE(SplitContentHeader(payload, class_id, body_size, split));
  EXPECT_EQ(class_id, 60);
  EXPECT_EQ(body_size, 0x0000000100000005ull);
  EXPECT_EQ(split, raw);
  EXPECT_EQ(split.data(), payload.data() + 12);  // a view, not a copy
  ContentHeader h;
  ASSERT_TRUE(DecodeContentHeader(payload, h));
  EXPECT_EQ(h.class_id, 60);
  EXPECT_EQ(h.body_size, 0x0000000100000005ull);
  EXPECT_EQ(h.properties.content_type, "text/plain");
  EXPECT_EQ(h.properties.delivery_mode, 2);
}

TEST(ContentHeaderTest, ShortOrBadPayloadsAreRefused) {
  std::string payload = Bytes({0x00, 0x3C, 0x00, 0x00}) + Be64(5) + Bytes({0x00, 0x00});
  uint16_t class_id;
  uint64_t body_size;
  std::string_view raw;
  ContentHeader h;
  for (size_t cut = 0; cut < payload.size(); ++cut) {
    EXPECT_FALSE(SplitContentHeader(payload.substr(0, cut), class_id, body_size, raw)) << cut;
    EXPECT_FALSE(DecodeContentHeader(payload.substr(0, cut), h)) << cut;
  }
  EXPECT_TRUE(DecodeContentHeader(payload, h));
  EXPECT_FALSE(DecodeContentHeader(payload + "x", h));
}

}  // namespace
}  // namespace warren::amqp
