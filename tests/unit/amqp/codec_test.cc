// The codec: every method and field type round-trips, golden bytes from the
// spec, byte-at-a-time framing, and one specific error per malformed input.
#include <gtest/gtest.h>

#include <string>

#include "amqp/constants.h"
#include "amqp/frame.h"
#include "amqp/methods.h"
#include "amqp/properties.h"
#include "amqp/wire.h"

namespace warren::amqp {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

// Fills every field with a value that differs from its default, derived
// from the field's position so neighbours differ too.
struct Filler {
  int n = 0;
  template <FieldKind K, class T>
  void Field(T& f) {
    ++n;
    if constexpr (K == FieldKind::kBit) f = (n % 2) == 1;
    else if constexpr (K == FieldKind::kShortStr || K == FieldKind::kLongStr)
      f = "v" + std::to_string(n) + (K == FieldKind::kLongStr ? std::string(300, 'L') : "");
    else if constexpr (K == FieldKind::kTable) f.Set("k" + std::to_string(n), FieldValue::Long(n));
    else f = static_cast<T>(1000003u * n);
  }
};

template <class M>
void RoundTrip() {
  M m;
  Filler fill;
  m.Visit(fill);
  std::string out;
  AppendMethodFrame(out, 7, m);
  FrameView frame;
  size_t used = 0;
  FrameError err;
  ASSERT_EQ(DecodeFrame(out, 0, frame, used, err), FrameDecode::kOk) << M::kName;
  EXPECT_EQ(used, out.size());
  EXPECT_EQ(frame.type, kFrameMethod);
  EXPECT_EQ(frame.channel, 7);
  Method decoded;
  ASSERT_EQ(DecodeMethod(frame.payload, decoded), MethodDecode::kOk) << M::kName;
  ASSERT_TRUE(std::holds_alternative<M>(decoded)) << M::kName;
  EXPECT_TRUE(std::get<M>(decoded) == m) << M::kName;
  EXPECT_EQ(ClassIdOf(decoded), M::kClassId);
  EXPECT_EQ(MethodIdOf(decoded), M::kMethodId);
}

TEST(MethodCodecTest, EveryMethodRoundTrips) {
#define WARREN_ROUND_TRIP(Name, ...) RoundTrip<Name>();
  WARREN_AMQP_METHODS(WARREN_ROUND_TRIP)
#undef WARREN_ROUND_TRIP
}

TEST(MethodCodecTest, ConnectionTuneGoldenBytes) {
  std::string out;
  AppendMethodFrame(out, 0, ConnectionTune{2047, 131072, 60});
  // type 1, channel 0, size 12, class 10, method 30, 2047, 131072, 60, end.
  EXPECT_EQ(out, Bytes({1, 0, 0, 0, 0, 0, 12, 0, 10, 0, 30, 0x07, 0xFF, 0, 2, 0, 0, 0, 60,
                        0xCE}));
}

TEST(MethodCodecTest, QueueDeclareBitsPackIntoOneOctet) {
  QueueDeclare q;
  q.queue = "q";
  q.durable = true;
  q.auto_delete = true;
  std::string out;
  AppendMethodFrame(out, 1, q);
  // class 50 method 10, ticket 0, "q", bits passive|durable<<1|exclusive<<2|
  // auto_delete<<3|no_wait<<4 = 0x0A, empty table.
  EXPECT_EQ(out.substr(7, out.size() - 8),
            Bytes({0, 50, 0, 10, 0, 0, 1, 'q', 0x0A, 0, 0, 0, 0}));
}

TEST(MethodCodecTest, BasicNackAndPublishGoldenBytes) {
  std::string out;
  AppendMethodFrame(out, 1, BasicNack{5, true, true});
  EXPECT_EQ(out.substr(7, out.size() - 8),
            Bytes({0, 60, 0, 120, 0, 0, 0, 0, 0, 0, 0, 5, 0x03}));
  out.clear();
  AppendMethodFrame(out, 1, BasicPublish{0, "ex", "rk", true, false});
  EXPECT_EQ(out.substr(7, out.size() - 8),
            Bytes({0, 60, 0, 40, 0, 0, 2, 'e', 'x', 2, 'r', 'k', 0x01}));
  out.clear();
  AppendMethodFrame(out, 1, BasicDeliver{"t", 9, true, "e", "r"});
  EXPECT_EQ(out.substr(7, out.size() - 8),
            Bytes({0, 60, 0, 60, 1, 't', 0, 0, 0, 0, 0, 0, 0, 9, 0x01, 1, 'e', 1, 'r'}));
}

TEST(MethodCodecTest, UnknownTruncatedAndTrailingAreRejected) {
  Method m;
  EXPECT_EQ(DecodeMethod(Bytes({0, 60, 3, 231}), m), MethodDecode::kUnknownMethod);
  EXPECT_EQ(DecodeMethod(Bytes({0, 77, 0, 10}), m), MethodDecode::kUnknownMethod);
  EXPECT_EQ(DecodeMethod(Bytes({0, 60}), m), MethodDecode::kMalformed);
  std::string out;
  AppendMethodFrame(out, 1, QueueDeclare{0, "queue", false, true, false, false, false, {}});
  std::string payload = out.substr(7, out.size() - 8);
  for (size_t cut = 4; cut < payload.size(); ++cut)
    EXPECT_EQ(DecodeMethod(payload.substr(0, cut), m), MethodDecode::kMalformed) << cut;
  EXPECT_EQ(DecodeMethod(payload + "x", m), MethodDecode::kMalformed);
  EXPECT_EQ(DecodeMethod(payload, m), MethodDecode::kOk);
}

FieldTable EveryType() {
  FieldTable inner;
  inner.Set("deep", FieldValue::Str("v"));
  FieldTable t;
  t.Set("t", FieldValue::Bool(true));
  t.Set("b", FieldValue::Int(FieldType::kInt8, -128));
  t.Set("B", FieldValue::Int(FieldType::kUInt8, 255));
  t.Set("s", FieldValue::Int(FieldType::kInt16, -32768));
  t.Set("u", FieldValue::Int(FieldType::kUInt16, 65535));
  t.Set("I", FieldValue::Int(FieldType::kInt32, -2147483648LL));
  t.Set("i", FieldValue::Int(FieldType::kUInt32, 4294967295LL));
  t.Set("l", FieldValue::Long(-9223372036854775807LL));
  t.Set("f", FieldValue{'f', -1.5f});
  t.Set("d", FieldValue{'d', 6.02e23});
  t.Set("D", FieldValue{'D', Decimal{3, 123456}});
  t.Set("S", FieldValue::Str("日本語 text"));
  t.Set("x", FieldValue{'x', std::string("\0\xff\x01", 3)});
  t.Set("A", FieldValue::Array({FieldValue::Long(1), FieldValue::Table(inner),
                                FieldValue::Array({FieldValue::Void()})}));
  t.Set("T", FieldValue::Timestamp(1700000000));
  t.Set("F", FieldValue::Table(inner));
  t.Set("V", FieldValue::Void());
  t.entries.emplace_back("t", FieldValue::Bool(false));  // duplicate key kept
  return t;
}

TEST(FieldTableTest, EveryValueTypeRoundTripsByteForByte) {
  FieldTable t = EveryType();
  std::string encoded;
  EncodeTable(t, encoded);
  Reader r(encoded);
  FieldTable back;
  ASSERT_TRUE(DecodeTable(r, back));
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(back, t);
  std::string again;
  EncodeTable(back, again);
  EXPECT_EQ(again, encoded);
  EXPECT_EQ(back.entries.size(), 18u);
  EXPECT_EQ(back.Find("t")->AsBool(), std::optional<bool>(true));  // first match wins
  EXPECT_EQ(back.Find("I")->AsInt(), std::optional<int64_t>(-2147483648LL));
}

TEST(FieldTableTest, GoldenEncodingOfSmallTable) {
  FieldTable t;
  t.Set("a", FieldValue::Int(FieldType::kInt32, 1));
  t.Set("b", FieldValue::Str("xy"));
  std::string encoded;
  EncodeTable(t, encoded);
  // Length 16 = (1+1 name, 'I', 4) + (1+1 name, 'S', 4+2).
  EXPECT_EQ(encoded, Bytes({0, 0, 0, 16, 1, 'a', 'I', 0, 0, 0, 1, 1, 'b', 'S', 0, 0, 0, 2, 'x',
                            'y'}));
}

TEST(FieldTableTest, EveryTruncationIsRejected) {
  std::string encoded;
  EncodeTable(EveryType(), encoded);
  for (size_t cut = 0; cut < encoded.size(); ++cut) {
    std::string bad = encoded.substr(0, cut);
    Reader r(bad);
    FieldTable t;
    EXPECT_FALSE(DecodeTable(r, t)) << cut;
  }
  // A length prefix that promises less than the entries need.
  std::string shrunk = encoded;
  shrunk[3] = static_cast<char>(shrunk[3] - 1);
  Reader r(shrunk);
  FieldTable t;
  EXPECT_FALSE(DecodeTable(r, t));
}

TEST(FieldTableTest, UnknownTypeAndDeepNestingAreRejected) {
  std::string bad = Bytes({0, 0, 0, 3, 1, 'k', 'Z'});
  Reader r(bad);
  FieldTable t;
  EXPECT_FALSE(DecodeTable(r, t));

  FieldValue v = FieldValue::Void();
  for (int i = 0; i < kMaxTableDepth + 2; ++i) {
    FieldTable wrap;
    wrap.Set("n", v);
    v = FieldValue::Table(wrap);
  }
  std::string deep;
  EncodeTable(*v.AsTable(), deep);
  Reader dr(deep);
  EXPECT_FALSE(DecodeTable(dr, t));
}

TEST(FieldTableTest, AmqplainEntriesWithoutLengthPrefix) {
  FieldTable t;
  ASSERT_TRUE(DecodeTableEntries(Bytes({5, 'L', 'O', 'G', 'I', 'N', 'S', 0, 0, 0, 1, 'u'}), t));
  EXPECT_EQ(*t.Find("LOGIN")->AsString(), "u");
  EXPECT_FALSE(DecodeTableEntries(Bytes({5, 'L', 'O', 'G'}), t));
}

BasicProperties AllProperties() {
  BasicProperties p;
  p.content_type = "text/plain";
  p.content_encoding = "utf-8";
  p.headers = EveryType();
  p.delivery_mode = 2;
  p.priority = 9;
  p.correlation_id = "c";
  p.reply_to = "r";
  p.expiration = "1000";
  p.message_id = "m";
  p.timestamp = 1700000000;
  p.type = "t";
  p.user_id = "u";
  p.app_id = "a";
  p.cluster_id = "cl";
  return p;
}

TEST(PropertiesTest, AllFourteenRoundTripTogetherAndAlone) {
  BasicProperties all = AllProperties();
  std::string raw;
  EncodeProperties(all, raw);
  EXPECT_EQ(static_cast<uint8_t>(raw[0]), 0xFF);  // flags 15..8
  EXPECT_EQ(static_cast<uint8_t>(raw[1]), 0xFC);  // flags 7..2, no continuation
  BasicProperties back;
  ASSERT_TRUE(DecodeProperties(raw, back));
  EXPECT_EQ(back, all);
  // Each property alone: exactly its flag bit, and it round-trips.
  auto one = [](auto member, auto value, int bit) {
    BasicProperties p;
    p.*member = value;
    std::string r;
    EncodeProperties(p, r);
    uint16_t flags = static_cast<uint16_t>((uint8_t(r[0]) << 8) | uint8_t(r[1]));
    EXPECT_EQ(flags, 1u << bit);
    BasicProperties b;
    EXPECT_TRUE(DecodeProperties(r, b));
    EXPECT_EQ(b, p);
  };
  one(&BasicProperties::content_type, std::optional<std::string>("x"), 15);
  one(&BasicProperties::content_encoding, std::optional<std::string>("x"), 14);
  one(&BasicProperties::headers, std::optional<FieldTable>(EveryType()), 13);
  one(&BasicProperties::delivery_mode, std::optional<uint8_t>(1), 12);
  one(&BasicProperties::priority, std::optional<uint8_t>(0), 11);
  one(&BasicProperties::correlation_id, std::optional<std::string>("x"), 10);
  one(&BasicProperties::reply_to, std::optional<std::string>("x"), 9);
  one(&BasicProperties::expiration, std::optional<std::string>("x"), 8);
  one(&BasicProperties::message_id, std::optional<std::string>("x"), 7);
  one(&BasicProperties::timestamp, std::optional<uint64_t>(5), 6);
  one(&BasicProperties::type, std::optional<std::string>("x"), 5);
  one(&BasicProperties::user_id, std::optional<std::string>("x"), 4);
  one(&BasicProperties::app_id, std::optional<std::string>("x"), 3);
  one(&BasicProperties::cluster_id, std::optional<std::string>("x"), 2);
}

TEST(PropertiesTest, TruncatedTrailingAndBadContinuationAreRejected) {
  std::string raw;
  EncodeProperties(AllProperties(), raw);
  BasicProperties p;
  for (size_t cut = 0; cut < raw.size(); ++cut)
    EXPECT_FALSE(DecodeProperties(raw.substr(0, cut), p)) << cut;
  EXPECT_FALSE(DecodeProperties(raw + "z", p));
  // A continuation word may follow, but basic has no properties past bit 2.
  EXPECT_TRUE(DecodeProperties(Bytes({0x00, 0x01, 0x00, 0x00}), p));
  EXPECT_FALSE(DecodeProperties(Bytes({0x00, 0x01, 0x80, 0x00}), p));
}

TEST(FrameTest, HeartbeatGoldenBytes) {
  std::string out;
  AppendHeartbeat(out);
  EXPECT_EQ(out, Bytes({8, 0, 0, 0, 0, 0, 0, 0xCE}));
}

TEST(FrameTest, ByteAtATimeNeedsMoreUntilTheLastByte) {
  std::string two;
  AppendMethodFrame(two, 3, BasicAck{42, true});
  size_t first_size = two.size();
  AppendHeartbeat(two);
  FrameView f;
  size_t used = 0;
  FrameError err;
  for (size_t n = 0; n < first_size; ++n)
    EXPECT_EQ(DecodeFrame(std::string_view(two).substr(0, n), 0, f, used, err),
              FrameDecode::kNeedMore)
        << n;
  ASSERT_EQ(DecodeFrame(two, 0, f, used, err), FrameDecode::kOk);
  EXPECT_EQ(used, first_size);
  EXPECT_EQ(f.channel, 3);
  ASSERT_EQ(DecodeFrame(std::string_view(two).substr(used), 0, f, used, err), FrameDecode::kOk);
  EXPECT_EQ(f.type, kFrameHeartbeat);
}

TEST(FrameTest, MalformedFramesGiveFrameError501) {
  FrameView f;
  size_t used = 0;
  FrameError err;
  std::string bad_end = Bytes({1, 0, 1, 0, 0, 0, 1, 'x', 0xCD});
  EXPECT_EQ(DecodeFrame(bad_end, 0, f, used, err), FrameDecode::kError);
  EXPECT_EQ(err.reply_code, 501);
  std::string bad_type = Bytes({9, 0, 1, 0, 0, 0, 0, 0xCE});
  EXPECT_EQ(DecodeFrame(bad_type, 0, f, used, err), FrameDecode::kError);
  EXPECT_EQ(err.reply_code, 501);
  // frame_max counts the whole frame: 4096 - 8 payload bytes fit, one more does not.
  std::string fits = Bytes({3, 0, 1, 0, 0, 0x0F, 0xF8}) + std::string(4088, 'b') + Bytes({0xCE});
  EXPECT_EQ(DecodeFrame(fits, 4096, f, used, err), FrameDecode::kOk);
  std::string over = Bytes({3, 0, 1, 0, 0, 0x0F, 0xF9});  // rejected from the header alone
  EXPECT_EQ(DecodeFrame(over, 4096, f, used, err), FrameDecode::kError);
  EXPECT_EQ(err.reply_code, 501);
}

TEST(FrameTest, ContentSplitsBodyAtFrameMax) {
  const uint32_t frame_max = 4096;
  const size_t chunk = frame_max - kFrameOverhead;
  for (size_t body_size : {size_t{0}, size_t{1}, chunk, chunk + 1, 3 * chunk}) {
    std::string out;
    std::string body(body_size, 'q');
    AppendContent(out, 1, 60, Bytes({0x10, 0x00, 2}), body, frame_max);
    std::string_view in(out);
    FrameView f;
    size_t used = 0;
    FrameError err;
    ASSERT_EQ(DecodeFrame(in, frame_max, f, used, err), FrameDecode::kOk);
    ASSERT_EQ(f.type, kFrameHeader);
    ContentHeader h;
    ASSERT_TRUE(DecodeContentHeader(f.payload, h));
    EXPECT_EQ(h.body_size, body_size);
    EXPECT_EQ(h.properties.delivery_mode, std::optional<uint8_t>(2));
    in.remove_prefix(used);
    size_t frames = 0, total = 0;
    while (!in.empty()) {
      ASSERT_EQ(DecodeFrame(in, frame_max, f, used, err), FrameDecode::kOk);
      EXPECT_EQ(f.type, kFrameBody);
      EXPECT_LE(f.payload.size(), chunk);
      total += f.payload.size();
      ++frames;
      in.remove_prefix(used);
    }
    EXPECT_EQ(total, body_size);
    EXPECT_EQ(frames, (body_size + chunk - 1) / chunk) << body_size;
  }
}

}  // namespace
}  // namespace warren::amqp
