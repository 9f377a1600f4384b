// Method frames: the generated table against the spec's ids and field lists,
// every method round-tripping with every field set, bit packing and golden
// frames written out from the spec (4.2.3 framing, 4.2.5 field formats, the
// class/method definitions), and DecodeMethod's error kinds.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "amqp/frame.h"
#include "amqp/methods.h"
#include "amqp/codec_test_util.h"

namespace warren::amqp {
namespace {

using test::Be16;
using test::Be32;
using test::Bytes;
using test::Hex;

// ---------------------------------------------------------------------------
// The table against the spec.

// Field kinds as one letter each: o octet, s short, l long, L longlong,
// S shortstr, X longstr, b bit, F table, T timestamp.
struct Signature {
  std::string sig;
  template <FieldKind K, class T>
  void Field(const T&) {
    static constexpr char kLetter[] = {'o', 's', 'l', 'L', 'S', 'X', 'b', 'F', 'T'};
    sig.push_back(kLetter[static_cast<int>(K)]);
  }
};

struct SpecMethod {
  std::string_view name;
  uint16_t class_id;
  uint16_t method_id;
  bool content;
  std::string_view fields;
};

// Written from the AMQP 0-9-1 specification (class and method ids, argument
// lists including reserved ones) and RabbitMQ's documented extensions.
const std::vector<SpecMethod>& Spec() {
  static const std::vector<SpecMethod> kSpec = {
      {"ConnectionStart", 10, 10, false, "ooFXX"},
      {"ConnectionStartOk", 10, 11, false, "FSXS"},
      {"ConnectionSecure", 10, 20, false, "X"},
      {"ConnectionSecureOk", 10, 21, false, "X"},
      {"ConnectionTune", 10, 30, false, "sls"},
      {"ConnectionTuneOk", 10, 31, false, "sls"},
      {"ConnectionOpen", 10, 40, false, "SSb"},
      {"ConnectionOpenOk", 10, 41, false, "S"},
      {"ConnectionClose", 10, 50, false, "sSss"},
      {"ConnectionCloseOk", 10, 51, false, ""},
      {"ConnectionBlocked", 10, 60, false, "S"},
      {"ConnectionUnblocked", 10, 61, false, ""},
      {"ConnectionUpdateSecret", 10, 70, false, "XS"},
      {"ConnectionUpdateSecretOk", 10, 71, false, ""},
      {"ChannelOpen", 20, 10, false, "S"},
      {"ChannelOpenOk", 20, 11, false, "X"},
      {"ChannelFlow", 20, 20, false, "b"},
      {"ChannelFlowOk", 20, 21, false, "b"},
      {"ChannelClose", 20, 40, false, "sSss"},
      {"ChannelCloseOk", 20, 41, false, ""},
      {"ExchangeDeclare", 40, 10, false, "sSSbbbbbF"},
      {"ExchangeDeclareOk", 40, 11, false, ""},
      {"ExchangeDelete", 40, 20, false, "sSbb"},
      {"ExchangeDeleteOk", 40, 21, false, ""},
      {"ExchangeBind", 40, 30, false, "sSSSbF"},
      {"ExchangeBindOk", 40, 31, false, ""},
      {"ExchangeUnbind", 40, 40, false, "sSSSbF"},
      {"ExchangeUnbindOk", 40, 51, false, ""},
      {"QueueDeclare", 50, 10, false, "sSbbbbbF"},
      {"QueueDeclareOk", 50, 11, false, "Sll"},
      {"QueueBind", 50, 20, false, "sSSSbF"},
      {"QueueBindOk", 50, 21, false, ""},
      {"QueuePurge", 50, 30, false, "sSb"},
      {"QueuePurgeOk", 50, 31, false, "l"},
      {"QueueDelete", 50, 40, false, "sSbbb"},
      {"QueueDeleteOk", 50, 41, false, "l"},
      {"QueueUnbind", 50, 50, false, "sSSSF"},
      {"QueueUnbindOk", 50, 51, false, ""},
      {"BasicQos", 60, 10, false, "lsb"},
      {"BasicQosOk", 60, 11, false, ""},
      {"BasicConsume", 60, 20, false, "sSSbbbbF"},
      {"BasicConsumeOk", 60, 21, false, "S"},
      {"BasicCancel", 60, 30, false, "Sb"},
      {"BasicCancelOk", 60, 31, false, "S"},
      {"BasicPublish", 60, 40, true, "sSSbb"},
      {"BasicReturn", 60, 50, true, "sSSS"},
      {"BasicDeliver", 60, 60, true, "SLbSS"},
      {"BasicGet", 60, 70, false, "sSb"},
      {"BasicGetOk", 60, 71, true, "LbSSl"},
      {"BasicGetEmpty", 60, 72, false, "S"},
      {"BasicAck", 60, 80, false, "Lb"},
      {"BasicReject", 60, 90, false, "Lb"},
      {"BasicRecoverAsync", 60, 100, false, "b"},
      {"BasicRecover", 60, 110, false, "b"},
      {"BasicRecoverOk", 60, 111, false, ""},
      {"BasicNack", 60, 120, false, "Lbb"},
      {"ConfirmSelect", 85, 10, false, "b"},
      {"ConfirmSelectOk", 85, 11, false, ""},
      {"TxSelect", 90, 10, false, ""},
      {"TxSelectOk", 90, 11, false, ""},
      {"TxCommit", 90, 20, false, ""},
      {"TxCommitOk", 90, 21, false, ""},
      {"TxRollback", 90, 30, false, ""},
      {"TxRollbackOk", 90, 31, false, ""},
  };
  return kSpec;
}

TEST(MethodTableTest, MatchesTheSpecIdsAndFieldLists) {
  size_t generated = 0;
  auto check = [&](auto m) {
    using M = decltype(m);
    ++generated;
    const SpecMethod* row = nullptr;
    for (const auto& s : Spec())
      if (s.name == M::kName) row = &s;
    ASSERT_NE(row, nullptr) << M::kName << " is not in the spec";
    EXPECT_EQ(M::kClassId, row->class_id) << M::kName;
    EXPECT_EQ(M::kMethodId, row->method_id) << M::kName;
    EXPECT_EQ(M::kHasContent, row->content) << M::kName;
    Signature sig;
    m.Visit(sig);
    EXPECT_EQ(sig.sig, row->fields) << M::kName;
  };
#define WARREN_CHECK_ROW(Name, ...) check(Name{});
  WARREN_AMQP_METHODS(WARREN_CHECK_ROW)
#undef WARREN_CHECK_ROW
  EXPECT_EQ(generated, Spec().size());
}

TEST(MethodTableTest, NamesAndContentFlagsByIds) {
  for (const auto& s : Spec()) {
    EXPECT_EQ(MethodName(s.class_id, s.method_id), s.name);
    EXPECT_EQ(MethodHasContent(s.class_id, s.method_id), s.content) << s.name;
  }
  EXPECT_EQ(MethodName(40, 41), "unknown");  // exchange.unbind-ok is 40/51
  EXPECT_EQ(MethodName(60, 999), "unknown");
  EXPECT_EQ(MethodName(0, 0), "unknown");
  EXPECT_FALSE(MethodHasContent(77, 10));
  EXPECT_EQ(ClassIdOf(Method{}), 0);
  EXPECT_EQ(MethodIdOf(Method{}), 0);
}

// ---------------------------------------------------------------------------
// Every method round-trips.

FieldTable SampleTable(uint32_t n) {
  FieldTable inner;
  inner.Set("a", FieldValue::Array({FieldValue::Bool(true), FieldValue::Void()}));
  FieldTable t;
  t.Set("n", FieldValue::Int(FieldType::kInt32, -static_cast<int64_t>(n)));
  t.Set("s", FieldValue::Str("v" + std::to_string(n)));
  t.Set("nested", FieldValue::Table(inner));
  return t;
}

// Fills every field with a value that differs from its default and from its
// neighbours; the top bit of each integer is set so sign mistakes show.
// Strings are binary (NUL, 0xFF) and, with `long_strings`, at their limits:
// 255 bytes for a shortstr, more than 65535 for a longstr.
struct Filler {
  uint32_t n = 0;
  bool bits = true;
  bool long_strings = false;

  std::string Text(size_t size) {
    std::string s = std::string("\0\xFF", 2) + "f" + std::to_string(n);
    while (s.size() < size) s.push_back(static_cast<char>('a' + s.size() % 26));
    return s;
  }

  template <FieldKind K, class T>
  void Field(T& f) {
    ++n;
    if constexpr (K == FieldKind::kBit) f = bits;
    else if constexpr (K == FieldKind::kOctet) f = static_cast<uint8_t>(0x80 + n);
    else if constexpr (K == FieldKind::kShort) f = static_cast<uint16_t>(0x8000 + n);
    else if constexpr (K == FieldKind::kLong) f = 0x80000000u + n;
    else if constexpr (K == FieldKind::kLongLong || K == FieldKind::kTimestamp)
      f = 0x8000000000000000ull + n;
    else if constexpr (K == FieldKind::kShortStr) f = Text(long_strings ? 255 : 0);
    else if constexpr (K == FieldKind::kLongStr) f = Text(long_strings ? 70000 : 20);
    else if constexpr (K == FieldKind::kTable) f = SampleTable(n);
  }
};

struct BitCounter {
  int bits = 0;
  template <FieldKind K, class T>
  void Field(const T&) {
    if constexpr (K == FieldKind::kBit) ++bits;
  }
};

// Sets bit field number `which` (in declaration order) and clears the others.
struct OneBit {
  int which;
  int seen = 0;
  template <FieldKind K, class T>
  void Field(T& f) {
    if constexpr (K == FieldKind::kBit) f = (seen++ == which);
  }
};

template <class M>
::testing::AssertionResult RoundTrips(const M& m, uint16_t channel) {
  std::string out;
  AppendMethodFrame(out, channel, m);
  if (out.size() < 12) return ::testing::AssertionFailure() << "short frame " << Hex(out);
  // Frame header by hand: type 1, channel, payload size, class and method id.
  std::string expected_head = Bytes({1}) + Be16(channel) +
                              Be32(static_cast<uint32_t>(out.size() - 8)) + Be16(M::kClassId) +
                              Be16(M::kMethodId);
  if (out.substr(0, 11) != expected_head || static_cast<uint8_t>(out.back()) != 0xCE)
    return ::testing::AssertionFailure() << "bad framing " << Hex(out.substr(0, 11));

  FrameView frame;
  size_t used = 0;
  FrameError err;
  if (DecodeFrame(out, 0, frame, used, err) != FrameDecode::kOk)
    return ::testing::AssertionFailure() << "frame: " << err.text;
  if (used != out.size() || frame.type != kFrameMethod || frame.channel != channel)
    return ::testing::AssertionFailure() << "frame fields";
  Method decoded;
  if (DecodeMethod(frame.payload, decoded) != MethodDecode::kOk)
    return ::testing::AssertionFailure() << "DecodeMethod failed";
  if (!std::holds_alternative<M>(decoded)) return ::testing::AssertionFailure() << "wrong type";
  if (!(std::get<M>(decoded) == m)) return ::testing::AssertionFailure() << "value differs";
  if (ClassIdOf(decoded) != M::kClassId || MethodIdOf(decoded) != M::kMethodId)
    return ::testing::AssertionFailure() << "ids of decoded";
  std::string again;
  AppendMethodFrame(again, channel, decoded);  // the variant overload
  if (again != out) return ::testing::AssertionFailure() << "re-encoding differs";
  return ::testing::AssertionSuccess();
}

TEST(MethodCodecTest, EveryMethodRoundTripsWithEveryFieldSet) {
  auto check = [](auto m) {
    using M = decltype(m);
    for (bool long_strings : {false, true}) {
      Filler fill{.long_strings = long_strings};
      m.Visit(fill);
      EXPECT_TRUE(RoundTrips(m, 0x8001)) << M::kName << " long_strings=" << long_strings;
    }
  };
#define WARREN_CHECK_METHOD(Name, ...) check(Name{});
  WARREN_AMQP_METHODS(WARREN_CHECK_METHOD)
#undef WARREN_CHECK_METHOD
}

TEST(MethodCodecTest, EveryMethodRoundTripsWithDefaults) {
#define WARREN_CHECK_METHOD(Name, ...) EXPECT_TRUE(RoundTrips(Name{}, 0)) << #Name;
  WARREN_AMQP_METHODS(WARREN_CHECK_METHOD)
#undef WARREN_CHECK_METHOD
}

// Each bit alone, the others clear: a bit written to the wrong position or
// two bits sharing one would decode differently.
TEST(MethodCodecTest, EveryBitFieldRoundTripsAlone) {
  int methods_with_bits = 0;
  auto check = [&](auto m) {
    using M = decltype(m);
    Filler fill{.bits = false};
    m.Visit(fill);
    BitCounter count;
    m.Visit(count);
    if (count.bits > 0) ++methods_with_bits;
    for (int i = 0; i < count.bits; ++i) {
      OneBit one{i};
      m.Visit(one);
      EXPECT_TRUE(RoundTrips(m, 1)) << M::kName << " bit " << i;
    }
  };
#define WARREN_CHECK_METHOD(Name, ...) check(Name{});
  WARREN_AMQP_METHODS(WARREN_CHECK_METHOD)
#undef WARREN_CHECK_METHOD
  EXPECT_EQ(methods_with_bits, 24);
}

// ---------------------------------------------------------------------------
// Golden bytes, worked out from the spec: frame = type(1) channel(2) size(4)
// payload frame-end(0xCE); payload = class-id(2) method-id(2) arguments;
// integers big-endian; shortstr = length octet + bytes; longstr and table =
// 32-bit length + bytes; adjacent bits share an octet, first bit lowest.

std::string PayloadOf(const std::string& frame) { return frame.substr(7, frame.size() - 8); }

template <class M>
void ExpectDecodesTo(const std::string& payload, const M& expected) {
  Method m;
  ASSERT_EQ(DecodeMethod(payload, m), MethodDecode::kOk) << Hex(payload);
  ASSERT_TRUE(std::holds_alternative<M>(m)) << M::kName;
  EXPECT_TRUE(std::get<M>(m) == expected) << M::kName;
}

TEST(MethodGoldenTest, ConnectionTune) {
  ConnectionTune tune{.channel_max = 2047, .frame_max = 131072, .heartbeat = 60};
  std::string out;
  AppendMethodFrame(out, 0, tune);
  std::string golden = Bytes({0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C,  // method, ch 0, 12
                              0x00, 0x0A, 0x00, 0x1E,                    // 10 / 30
                              0x07, 0xFF,                                // channel-max 2047
                              0x00, 0x02, 0x00, 0x00,                    // frame-max 131072
                              0x00, 0x3C,                                // heartbeat 60
                              0xCE});
  EXPECT_EQ(Hex(out), Hex(golden));
  ExpectDecodesTo(PayloadOf(golden), tune);
}

TEST(MethodGoldenTest, ConnectionStartWithServerProperties) {
  ConnectionStart start;
  start.version_major = 0;
  start.version_minor = 9;
  start.server_properties.Set("product", FieldValue::Str("Warren"));
  start.mechanisms = "PLAIN";
  start.locales = "en_US";
  std::string out;
  AppendMethodFrame(out, 0, start);
  std::string payload =
      Bytes({0x00, 0x0A, 0x00, 0x0A, 0x00, 0x09,            // 10 / 10, version 0-9
             0x00, 0x00, 0x00, 0x13,                        // table, 19 bytes:
             0x07, 'p', 'r', 'o', 'd', 'u', 'c', 't', 'S',  //   "product" S
             0x00, 0x00, 0x00, 0x06, 'W', 'a', 'r', 'r', 'e', 'n',
             0x00, 0x00, 0x00, 0x05, 'P', 'L', 'A', 'I', 'N',  // mechanisms
             0x00, 0x00, 0x00, 0x05, 'e', 'n', '_', 'U', 'S'});
  // 6 + 4 + 19 + 9 + 9 = 47 payload bytes.
  EXPECT_EQ(Hex(out), Hex(Bytes({0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2F}) + payload +
                          Bytes({0xCE})));
  ExpectDecodesTo(payload, start);
}

TEST(MethodGoldenTest, QueueDeclarePacksFiveBitsIntoOneOctet) {
  QueueDeclare q;
  q.queue = "q";
  q.passive = false;
  q.durable = true;
  q.exclusive = false;
  q.auto_delete = true;
  q.no_wait = false;
  std::string out;
  AppendMethodFrame(out, 1, q);
  // passive bit0, durable bit1, exclusive bit2, auto-delete bit3, no-wait bit4.
  std::string payload = Bytes({0x00, 0x32, 0x00, 0x0A,    // 50 / 10
                               0x00, 0x00,                // reserved-1 (ticket)
                               0x01, 'q',                 // queue
                               0x0A,                      // 0b01010
                               0x00, 0x00, 0x00, 0x00});  // arguments {}
  EXPECT_EQ(Hex(out), Hex(Bytes({0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0D}) + payload +
                          Bytes({0xCE})));
  ExpectDecodesTo(payload, q);
}

TEST(MethodGoldenTest, ExchangeDeclareBitsInSpecOrder) {
  // passive, durable, auto-delete (reserved-2), internal (reserved-3), no-wait.
  bool ExchangeDeclare::*const kBits[] = {&ExchangeDeclare::passive, &ExchangeDeclare::durable,
                                          &ExchangeDeclare::auto_delete,
                                          &ExchangeDeclare::internal, &ExchangeDeclare::no_wait};
  auto payload_with = [](int octet) {
    return Bytes({0x00, 0x28, 0x00, 0x0A, 0x00, 0x00,          // 40 / 10, ticket
                  0x04, 'l', 'o', 'g', 's',                    // exchange
                  0x06, 'f', 'a', 'n', 'o', 'u', 't', octet,  // type, bits
                  0x00, 0x00, 0x00, 0x00});                    // arguments {}
  };
  for (int i = 0; i < 5; ++i) {
    ExchangeDeclare x;
    x.exchange = "logs";
    x.type = "fanout";
    x.*kBits[i] = true;
    std::string out;
    AppendMethodFrame(out, 1, x);
    EXPECT_EQ(Hex(PayloadOf(out)), Hex(payload_with(1 << i))) << "bit " << i;
    ExpectDecodesTo(payload_with(1 << i), x);
  }
  ExchangeDeclare x{.exchange = "logs", .type = "fanout", .passive = true, .durable = false,
                    .auto_delete = true, .internal = false, .no_wait = true};
  std::string out;
  AppendMethodFrame(out, 1, x);
  // 4 + 2 + 5 + 7 + 1 + 4 = 23 payload bytes.
  EXPECT_EQ(Hex(out), Hex(Bytes({0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x17}) +
                          payload_with(0x15) + Bytes({0xCE})));
  ExpectDecodesTo(payload_with(0x15), x);
  x = {.exchange = "logs", .type = "fanout", .passive = true, .durable = true,
       .auto_delete = true, .internal = true, .no_wait = true};
  out.clear();
  AppendMethodFrame(out, 1, x);
  EXPECT_EQ(Hex(PayloadOf(out)), Hex(payload_with(0x1F)));
}

TEST(MethodGoldenTest, BasicNackMultipleAndRequeue) {
  auto payload_with = [](int bits) {
    return Bytes({0x00, 0x3C, 0x00, 0x78,                          // 60 / 120
                  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // delivery-tag 5
                  bits});
  };
  struct Case {
    bool multiple, requeue;
    int octet;
  };
  for (Case c : {Case{true, true, 0x03}, Case{true, false, 0x01}, Case{false, true, 0x02},
                 Case{false, false, 0x00}}) {
    BasicNack nack{.delivery_tag = 5, .multiple = c.multiple, .requeue = c.requeue};
    std::string out;
    AppendMethodFrame(out, 1, nack);
    EXPECT_EQ(Hex(out), Hex(Bytes({0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0D}) +
                            payload_with(c.octet) + Bytes({0xCE})));
    ExpectDecodesTo(payload_with(c.octet), nack);
  }
}

TEST(MethodGoldenTest, BasicPublish) {
  BasicPublish pub{.exchange = "ex", .routing_key = "rk", .mandatory = true, .immediate = false};
  std::string out;
  AppendMethodFrame(out, 1, pub);
  std::string payload = Bytes({0x00, 0x3C, 0x00, 0x28,  // 60 / 40
                               0x00, 0x00,              // reserved-1 (ticket)
                               0x02, 'e', 'x',          // exchange
                               0x02, 'r', 'k',          // routing-key
                               0x01});                  // mandatory bit0, immediate bit1
  EXPECT_EQ(Hex(out), Hex(Bytes({0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0D}) + payload +
                          Bytes({0xCE})));
  ExpectDecodesTo(payload, pub);
  pub.mandatory = false;
  pub.immediate = true;
  out.clear();
  AppendMethodFrame(out, 1, pub);
  EXPECT_EQ(static_cast<uint8_t>(out[out.size() - 2]), 0x02);
}

TEST(MethodGoldenTest, BasicDeliver) {
  BasicDeliver d{.consumer_tag = "ctag", .delivery_tag = 0x0102030405060708ull,
                 .redelivered = true, .exchange = "ex", .routing_key = "rk"};
  std::string out;
  AppendMethodFrame(out, 2, d);
  std::string payload = Bytes({0x00, 0x3C, 0x00, 0x3C,                          // 60 / 60
                               0x04, 'c', 't', 'a', 'g',                        // consumer-tag
                               0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // delivery-tag
                               0x01,                                            // redelivered
                               0x02, 'e', 'x',                                  // exchange
                               0x02, 'r', 'k'});                                // routing-key
  // 4 + 5 + 8 + 1 + 3 + 3 = 24 payload bytes.
  EXPECT_EQ(Hex(out), Hex(Bytes({0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x18}) + payload +
                          Bytes({0xCE})));
  ExpectDecodesTo(payload, d);
}

TEST(MethodGoldenTest, ChannelClose) {
  ChannelClose c{.reply_code = 406, .reply_text = "PRECONDITION_FAILED", .class_id = 50,
                 .method_id = 10};
  std::string out;
  AppendMethodFrame(out, 3, c);
  std::string payload = Bytes({0x00, 0x14, 0x00, 0x28, 0x01, 0x96, 0x13}) +
                        "PRECONDITION_FAILED" + Bytes({0x00, 0x32, 0x00, 0x0A});
  EXPECT_EQ(Hex(PayloadOf(out)), Hex(payload));
  ExpectDecodesTo(payload, c);
}

// ---------------------------------------------------------------------------
// DecodeMethod errors.

TEST(DecodeMethodTest, UnknownClassOrMethod) {
  Method m;
  EXPECT_EQ(DecodeMethod(Bytes({0x00, 0x3C, 0x03, 0xE7}), m), MethodDecode::kUnknownMethod);
  EXPECT_EQ(DecodeMethod(Bytes({0x00, 0x4D, 0x00, 0x0A}), m), MethodDecode::kUnknownMethod);
  EXPECT_EQ(DecodeMethod(Bytes({0x00, 0x00, 0x00, 0x00}), m), MethodDecode::kUnknownMethod);
  EXPECT_EQ(DecodeMethod(Bytes({0x00, 0x28, 0x00, 0x29}), m), MethodDecode::kUnknownMethod);
  EXPECT_EQ(DecodeMethod(Bytes({0x00, 0x0A, 0x00, 0x0C, 0x01}), m), MethodDecode::kUnknownMethod);
  // Swapped class and method ids of basic.publish (60/40).
  EXPECT_EQ(DecodeMethod(Bytes({0x00, 0x28, 0x00, 0x3C}), m), MethodDecode::kUnknownMethod);
}

TEST(DecodeMethodTest, MissingIdsAreMalformed) {
  Method m;
  for (const std::string& p : {Bytes({}), Bytes({0x00}), Bytes({0x00, 0x3C}),
                               Bytes({0x00, 0x3C, 0x00})})
    EXPECT_EQ(DecodeMethod(p, m), MethodDecode::kMalformed) << Hex(p);
}

// Every prefix of every method's payload that keeps the ids but drops some
// argument bytes is malformed, as is any trailing byte.
TEST(DecodeMethodTest, EveryTruncationAndTrailingByteIsMalformed) {
  auto check = [](auto m) {
    using M = decltype(m);
    Filler fill;
    m.Visit(fill);
    std::string out;
    AppendMethodFrame(out, 1, m);
    std::string payload = PayloadOf(out);
    Method d;
    ASSERT_EQ(DecodeMethod(payload, d), MethodDecode::kOk) << M::kName;
    for (size_t cut = 4; cut < payload.size(); ++cut)
      EXPECT_EQ(DecodeMethod(payload.substr(0, cut), d), MethodDecode::kMalformed)
          << M::kName << " cut at " << cut;
    EXPECT_EQ(DecodeMethod(payload + std::string(1, '\0'), d), MethodDecode::kMalformed)
        << M::kName;
    EXPECT_EQ(DecodeMethod(payload + "xyz", d), MethodDecode::kMalformed) << M::kName;
  };
#define WARREN_CHECK_METHOD(Name, ...) check(Name{});
  WARREN_AMQP_METHODS(WARREN_CHECK_METHOD)
#undef WARREN_CHECK_METHOD
}

TEST(DecodeMethodTest, BadArgumentTableIsMalformed) {
  // queue.declare whose arguments table holds an unknown type letter 'Z'.
  std::string payload = Bytes({0x00, 0x32, 0x00, 0x0A, 0x00, 0x00, 0x01, 'q', 0x00,
                               0x00, 0x00, 0x00, 0x03, 0x01, 'k', 'Z'});
  Method m;
  EXPECT_EQ(DecodeMethod(payload, m), MethodDecode::kMalformed);
  // The same with a well-formed void value decodes.
  payload.back() = 'V';
  EXPECT_EQ(DecodeMethod(payload, m), MethodDecode::kOk);
}

TEST(DecodeMethodTest, MonostateEncodesNothing) {
  std::string out;
  AppendMethodFrame(out, 1, Method{});
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace warren::amqp
