// Message properties pass through the broker untouched: the content header a
// consumer (or basic.get) receives carries, octet for octet, the property
// flags and properties the publisher sent. The property bytes here are
// written by hand (golden bytes), not by the codec under test.
#include <bit>
#include <cstdint>
#include <limits>

#include <gtest/gtest.h>

#include "frame_harness.h"

namespace warren::protocol_test {
namespace {

// Hand-rolled big-endian encodings, independent of amqp::EncodeTable.
struct Bytes {
  std::string out;
  Bytes& U8(uint8_t v) {
    out.push_back(static_cast<char>(v));
    return *this;
  }
  Bytes& U16(uint16_t v) { return U8(v >> 8).U8(v & 0xff); }
  Bytes& U32(uint32_t v) { return U16(v >> 16).U16(v & 0xffff); }
  Bytes& U64(uint64_t v) { return U32(v >> 32).U32(v & 0xffffffff); }
  Bytes& Raw(std::string_view s) {
    out.append(s);
    return *this;
  }
  Bytes& Short(std::string_view s) { return U8(static_cast<uint8_t>(s.size())).Raw(s); }
  Bytes& Long(std::string_view s) { return U32(static_cast<uint32_t>(s.size())).Raw(s); }
  Bytes& Key(std::string_view k, char type) { return Short(k).U8(static_cast<uint8_t>(type)); }
};

// One value of every field type RabbitMQ knows (spec 4.2.5.5 with RabbitMQ's
// errata), at the edges of their ranges where they have edges, nested in
// arrays and tables too.
std::string EveryFieldType() {
  Bytes inner;
  inner.Key("inner", 'S').Long("v");
  inner.Key("deeper", 'F').Long(Bytes().Key("x", 'b').U8(1).out);
  Bytes array;
  array.U8('I').U32(1);
  array.U8('S').Long("two");
  array.U8('A').U32(0);  // empty array
  array.U8('F').U32(0);  // empty table
  array.U8('V');
  array.U8('t').U8(0);
  Bytes t;
  t.Key("bool-true", 't').U8(1);
  t.Key("bool-false", 't').U8(0);
  t.Key("int8", 'b').U8(0x80);                   // -128
  t.Key("uint8", 'B').U8(0xff);                  // 255
  t.Key("int16", 's').U16(0x8000);               // -32768
  t.Key("uint16", 'u').U16(0xffff);              // 65535
  t.Key("int32", 'I').U32(0x80000000);           // INT32_MIN
  t.Key("uint32", 'i').U32(0xffffffff);          // UINT32_MAX
  t.Key("int64", 'l').U64(0x8000000000000000);   // INT64_MIN
  t.Key("float", 'f').U32(std::bit_cast<uint32_t>(1.5f));
  t.Key("float-nan", 'f').U32(0x7fc00001);       // a NaN with a payload
  t.Key("double", 'd').U64(std::bit_cast<uint64_t>(-0.0));
  t.Key("double-max", 'd').U64(std::bit_cast<uint64_t>(std::numeric_limits<double>::max()));
  t.Key("decimal", 'D').U8(2).U32(31415);
  t.Key("longstr", 'S').Long("long string \xc3\xbc with UTF-8");
  t.Key("longstr-empty", 'S').Long("");
  t.Key("bytes", 'x').Long(std::string("\0\1\2\xff", 4));
  t.Key("array", 'A').Long(array.out);
  t.Key("timestamp", 'T').U64(1700000000);
  t.Key("table", 'F').Long(inner.out);
  t.Key("void", 'V');
  // Order and duplicates as sent: no sorting, no de-duplication.
  t.Key("dup", 'S').Long("first");
  t.Key("aaa", 'S').Long("after dup");
  t.Key("dup", 'S').Long("second");
  t.Key("", 'S').Long("empty key");
  return Bytes().Long(t.out).out;
}

// Property flag bits (spec 4.2.6.1, basic class), highest bit first.
enum Flag : uint16_t {
  kContentType = 1 << 15,
  kContentEncoding = 1 << 14,
  kHeaders = 1 << 13,
  kDeliveryMode = 1 << 12,
  kPriority = 1 << 11,
  kCorrelationId = 1 << 10,
  kReplyTo = 1 << 9,
  kExpiration = 1 << 8,
  kMessageId = 1 << 7,
  kTimestamp = 1 << 6,
  kType = 1 << 5,
  kUserId = 1 << 4,
  kAppId = 1 << 3,
  kClusterId = 1 << 2,
};
constexpr uint16_t kAllFourteen = 0xfffc;

// The flags word and the properties it selects, in flag order.
std::string Properties(uint16_t flags) {
  Bytes b;
  b.U16(flags);
  if (flags & kContentType) b.Short("application/json");
  if (flags & kContentEncoding) b.Short("gzip");
  if (flags & kHeaders) b.Raw(EveryFieldType());
  if (flags & kDeliveryMode) b.U8(2);
  if (flags & kPriority) b.U8(7);
  if (flags & kCorrelationId) b.Short("corr-1");
  if (flags & kReplyTo) b.Short("replies");
  if (flags & kExpiration) b.Short("60000");
  if (flags & kMessageId) b.Short("msg-1");
  if (flags & kTimestamp) b.U64(1700000000);
  if (flags & kType) b.Short("kind");
  if (flags & kUserId) b.Short("guest");  // must be the publisher's user
  if (flags & kAppId) b.Short("app");
  if (flags & kClusterId) b.Short("cluster");
  return b.out;
}

class ContentPropertiesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(c_.Handshake());
    ASSERT_TRUE(c_.OpenChannel(1));
    ASSERT_TRUE(c_.DeclareQueue(1, "props"));
  }
  TestNode node_;
  RawClient c_{node_.port()};
};

TEST_F(ContentPropertiesTest, AllFourteenPropertiesAndEveryFieldTypeRoundTripViaGet) {
  const std::string raw = Properties(kAllFourteen);
  // The client codec agrees these are well-formed properties.
  amqp::BasicProperties decoded;
  ASSERT_TRUE(amqp::DecodeProperties(raw, decoded));
  ASSERT_TRUE(decoded.headers.has_value());
  c_.Send(PublishFrames(1, "", "props", "payload", raw));
  auto got = Get(c_, 1, "props");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->raw_properties() == raw)
      << "property bytes changed in transit (" << got->raw_properties().size() << " octets, "
      << raw.size() << " sent)";
  EXPECT_EQ(got->header_payload.substr(0, 12), HeaderPayload(7, ""));
  EXPECT_EQ(got->body(), "payload");
}

TEST_F(ContentPropertiesTest, AllFourteenPropertiesRoundTripViaConsume) {
  const std::string raw = Properties(kAllFourteen);
  amqp::BasicConsume consume;
  consume.queue = "props";
  consume.consumer_tag = "props-consumer";
  consume.no_ack = true;
  c_.SendMethod(1, consume);
  ASSERT_TRUE(c_.Expect<amqp::BasicConsumeOk>(1));
  c_.Send(PublishFrames(1, "", "props", "payload", raw));
  auto deliver = c_.Expect<amqp::BasicDeliver>(1);
  ASSERT_TRUE(deliver);
  EXPECT_EQ(deliver->routing_key, "props");
  std::string header;
  std::vector<std::string> bodies;
  ASSERT_TRUE(ReadContent(c_, 1, header, bodies));
  EXPECT_TRUE(header.substr(12) == raw) << "property bytes changed in transit";
}

// Each property alone, and none at all: flags and value land where the
// publisher put them.
TEST_F(ContentPropertiesTest, EachPropertyAloneRoundTrips) {
  std::vector<uint16_t> flags = {0};
  for (int bit = 15; bit >= 2; --bit) flags.push_back(static_cast<uint16_t>(1 << bit));
  std::string out;
  for (size_t i = 0; i < flags.size(); ++i)
    out += PublishFrames(1, "", "props", "body-" + std::to_string(i), Properties(flags[i]));
  c_.Send(out);
  for (size_t i = 0; i < flags.size(); ++i) {
    auto got = Get(c_, 1, "props");
    ASSERT_TRUE(got) << "message " << i;
    EXPECT_EQ(got->body(), "body-" + std::to_string(i));
    EXPECT_TRUE(got->raw_properties() == Properties(flags[i]))
        << "flags 0x" << std::hex << flags[i];
  }
}

}  // namespace
}  // namespace warren::protocol_test
