// Field tables (spec 4.2.5.5 with RabbitMQ's type letters): golden bytes for
// every type letter, byte-for-byte pass-through, duplicates, nesting limits,
// and rejection of every truncation and every unknown type letter.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "amqp/field_table.h"
#include "amqp/wire.h"
#include "amqp/codec_test_util.h"

namespace warren::amqp {
namespace {

using test::Be32;
using test::Bytes;
using test::Hex;

std::string Encode(const FieldTable& t) {
  std::string out;
  EncodeTable(t, out);
  return out;
}

// Decodes a length-prefixed table that must fill `bytes` exactly.
bool Decode(std::string_view bytes, FieldTable& out) {
  Reader r(bytes);
  return DecodeTable(r, out) && r.ok() && r.empty();
}

// A table {"k": <letter> <value bytes>} spelled out by hand.
std::string OneEntry(char letter, const std::string& value_bytes) {
  return Be32(static_cast<uint32_t>(3 + value_bytes.size())) + Bytes({0x01, 'k', letter}) +
         value_bytes;
}

struct TypeCase {
  char letter;
  FieldValue value;
  std::string wire;  // value bytes after the type letter
};

// Golden encodings for each type letter, from the spec's field formats:
// big-endian two's-complement integers, IEEE 754 floats, decimal = scale
// octet + 32-bit value, long strings and arrays with a 32-bit byte length.
std::vector<TypeCase> GoldenCases() {
  FieldTable inner;
  inner.Set("n", FieldValue::Void());
  return {
      {'t', FieldValue::Bool(true), Bytes({0x01})},
      {'t', FieldValue::Bool(false), Bytes({0x00})},
      {'b', FieldValue::Int(FieldType::kInt8, -2), Bytes({0xFE})},
      {'B', FieldValue::Int(FieldType::kUInt8, 200), Bytes({0xC8})},
      {'s', FieldValue::Int(FieldType::kInt16, -2), Bytes({0xFF, 0xFE})},
      {'u', FieldValue::Int(FieldType::kUInt16, 65000), Bytes({0xFD, 0xE8})},
      {'I', FieldValue::Int(FieldType::kInt32, -2), Bytes({0xFF, 0xFF, 0xFF, 0xFE})},
      {'i', FieldValue::Int(FieldType::kUInt32, 4000000000LL), Bytes({0xEE, 0x6B, 0x28, 0x00})},
      {'l', FieldValue::Long(-2), Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE})},
      {'f', FieldValue{'f', 1.5f}, Bytes({0x3F, 0xC0, 0x00, 0x00})},
      {'d', FieldValue{'d', -2.5}, Bytes({0xC0, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00})},
      {'D', FieldValue{'D', Decimal{2, 12345}}, Bytes({0x02, 0x00, 0x00, 0x30, 0x39})},
      {'S', FieldValue::Str("hi"), Bytes({0x00, 0x00, 0x00, 0x02, 'h', 'i'})},
      {'S', FieldValue::Str(""), Bytes({0x00, 0x00, 0x00, 0x00})},
      {'x', FieldValue{'x', std::string("\0\xFF", 2)}, Bytes({0x00, 0x00, 0x00, 0x02, 0x00, 0xFF})},
      {'A', FieldValue::Array({FieldValue::Int(FieldType::kInt32, 1), FieldValue::Str("a")}),
       Bytes({0x00, 0x00, 0x00, 0x0B, 'I', 0x00, 0x00, 0x00, 0x01, 'S', 0x00, 0x00, 0x00, 0x01,
              'a'})},
      {'A', FieldValue::Array({}), Bytes({0x00, 0x00, 0x00, 0x00})},
      {'T', FieldValue::Timestamp(1700000000),
       Bytes({0x00, 0x00, 0x00, 0x00, 0x65, 0x53, 0xF1, 0x00})},
      {'F', FieldValue::Table(inner), Bytes({0x00, 0x00, 0x00, 0x03, 0x01, 'n', 'V'})},
      {'F', FieldValue::Table({}), Bytes({0x00, 0x00, 0x00, 0x00})},
      {'V', FieldValue::Void(), Bytes({})},
  };
}

TEST(FieldTableTest, EveryTypeLetterHasItsGoldenEncoding) {
  std::string letters;
  for (const TypeCase& c : GoldenCases()) {
    letters.push_back(c.letter);
    ASSERT_EQ(c.value.type, c.letter);
    FieldTable t;
    t.Set("k", c.value);
    std::string golden = OneEntry(c.letter, c.wire);
    EXPECT_EQ(Hex(Encode(t)), Hex(golden)) << c.letter;
    FieldTable back;
    ASSERT_TRUE(Decode(golden, back)) << c.letter;
    EXPECT_EQ(back, t) << c.letter;
  }
  for (char want : std::string("tbBsuIilfdDSxATFV"))
    EXPECT_NE(letters.find(want), std::string::npos) << "no golden case for " << want;
}

TEST(FieldTableTest, EmptyTable) {
  EXPECT_EQ(Hex(Encode(FieldTable{})), Hex(Bytes({0x00, 0x00, 0x00, 0x00})));
  FieldTable t;
  t.Set("stale", FieldValue::Void());
  ASSERT_TRUE(Decode(Bytes({0x00, 0x00, 0x00, 0x00}), t));
  EXPECT_TRUE(t.empty());  // decoding replaces what was there
}

// Integers are sign- or zero-extended by their letter, at the extremes.
TEST(FieldTableTest, IntegerExtremesDecodeWithTheirSignedness) {
  struct Case {
    char letter;
    std::string wire;
    int64_t value;
  };
  const Case cases[] = {
      {'b', Bytes({0x80}), -128},
      {'b', Bytes({0x7F}), 127},
      {'B', Bytes({0x80}), 128},
      {'B', Bytes({0xFF}), 255},
      {'s', Bytes({0x80, 0x00}), -32768},
      {'u', Bytes({0x80, 0x00}), 32768},
      {'u', Bytes({0xFF, 0xFF}), 65535},
      {'I', Bytes({0x80, 0x00, 0x00, 0x00}), std::numeric_limits<int32_t>::min()},
      {'I', Bytes({0xFF, 0xFF, 0xFF, 0xFF}), -1},
      {'i', Bytes({0x80, 0x00, 0x00, 0x00}), 2147483648LL},
      {'i', Bytes({0xFF, 0xFF, 0xFF, 0xFF}), 4294967295LL},
      {'l', Bytes({0x80, 0, 0, 0, 0, 0, 0, 0}), std::numeric_limits<int64_t>::min()},
      {'l', Bytes({0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}),
       std::numeric_limits<int64_t>::max()},
      {'l', Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE}), -2},
  };
  for (const Case& c : cases) {
    std::string golden = OneEntry(c.letter, c.wire);
    FieldTable t;
    ASSERT_TRUE(Decode(golden, t)) << c.letter;
    const FieldValue* v = t.Find("k");
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->type, c.letter);
    EXPECT_EQ(v->AsInt(), std::optional<int64_t>(c.value)) << c.letter << " " << Hex(c.wire);
    EXPECT_EQ(Hex(Encode(t)), Hex(golden)) << c.letter;
  }
}

// Floats keep their exact bits (no NaNs here: NaN != NaN by definition).
TEST(FieldTableTest, FloatBitsSurvive) {
  const float floats[] = {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(), -3.25f};
  const double doubles[] = {0.0, -0.0, std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::denorm_min(),
                            std::numeric_limits<double>::lowest(), 6.02214076e23};
  FieldTable t;
  for (float f : floats) t.entries.emplace_back("f", FieldValue{'f', f});
  for (double d : doubles) t.entries.emplace_back("d", FieldValue{'d', d});
  std::string wire = Encode(t);
  FieldTable back;
  ASSERT_TRUE(Decode(wire, back));
  ASSERT_EQ(back.entries.size(), t.entries.size());
  for (size_t i = 0; i < t.entries.size(); ++i) {
    const auto& want = t.entries[i].second.value;
    const auto& got = back.entries[i].second.value;
    if (auto* f = std::get_if<float>(&want)) {
      ASSERT_TRUE(std::holds_alternative<float>(got));
      EXPECT_EQ(std::signbit(*f), std::signbit(std::get<float>(got)));
      EXPECT_EQ(*f, std::get<float>(got));
    } else {
      ASSERT_TRUE(std::holds_alternative<double>(got));
      EXPECT_EQ(std::signbit(std::get<double>(want)), std::signbit(std::get<double>(got)));
      EXPECT_EQ(std::get<double>(want), std::get<double>(got));
    }
  }
  EXPECT_EQ(Encode(back), wire);
  // -0.0f is 0x80000000 on the wire.
  FieldTable neg;
  neg.Set("k", FieldValue{'f', -0.0f});
  EXPECT_EQ(Hex(Encode(neg)), Hex(OneEntry('f', Bytes({0x80, 0x00, 0x00, 0x00}))));
}

FieldTable EveryType() {
  FieldTable inner;
  inner.Set("deep", FieldValue::Str("v"));
  inner.Set("arr", FieldValue::Array({FieldValue::Array({FieldValue::Int(FieldType::kInt8, -1)}),
                                      FieldValue::Table({})}));
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
  t.Set("S", FieldValue::Str("\xE6\x97\xA5\xE6\x9C\xAC text"));
  t.Set("x", FieldValue{'x', std::string("\0\xff\x01", 3)});
  t.Set("A", FieldValue::Array({FieldValue::Long(1), FieldValue::Table(inner),
                                FieldValue::Array({FieldValue::Void()}), FieldValue::Array({})}));
  t.Set("T", FieldValue::Timestamp(1700000000));
  t.Set("F", FieldValue::Table(inner));
  t.Set("V", FieldValue::Void());
  t.Set(std::string(255, 'K'), FieldValue::Str("longest key"));
  t.Set("", FieldValue::Str("empty key"));
  return t;
}

TEST(FieldTableTest, EveryTypeNestedRoundTripsByteForByte) {
  FieldTable t = EveryType();
  std::string wire = Encode(t);
  FieldTable back;
  ASSERT_TRUE(Decode(wire, back));
  EXPECT_EQ(back, t);
  EXPECT_EQ(Hex(Encode(back)), Hex(wire));
}

// Bytes a client sent go back out unchanged: the type letter is kept even
// where values compare equal as integers.
TEST(FieldTableTest, SameNumberUnderDifferentLettersStaysDistinct) {
  std::string wire = Bytes({0x00, 0x00, 0x00, 0x18,                 // 24 bytes
                            0x01, 'a', 'b', 0x01,                    // a: int8 1
                            0x01, 'b', 'B', 0x01,                    // b: uint8 1
                            0x01, 'c', 'I', 0x00, 0x00, 0x00, 0x01,  // c: int32 1
                            0x01, 'd', 'u', 0x00, 0x01,              // d: uint16 1
                            0x01, 'e', 't', 0x01});                  // e: true
  FieldTable t;
  ASSERT_TRUE(Decode(wire, t));
  ASSERT_EQ(t.entries.size(), 5u);
  for (const char* k : {"a", "b", "c", "d"}) EXPECT_EQ(t.Find(k)->AsInt(), 1) << k;
  EXPECT_EQ(t.Find("a")->type, 'b');
  EXPECT_EQ(t.Find("b")->type, 'B');
  EXPECT_EQ(t.Find("c")->type, 'I');
  EXPECT_EQ(t.Find("d")->type, 'u');
  EXPECT_EQ(t.Find("e")->AsBool(), true);
  EXPECT_NE(*t.Find("a"), *t.Find("b"));
  EXPECT_EQ(Hex(Encode(t)), Hex(wire));
}

TEST(FieldTableTest, DuplicateKeysAreKeptInOrder) {
  std::string wire = Bytes({0x00, 0x00, 0x00, 0x0A,                 // 7 + 3 bytes
                            0x01, 'k', 'I', 0x00, 0x00, 0x00, 0x01,
                            0x01, 'k', 'V'});
  FieldTable t;
  ASSERT_TRUE(Decode(wire, t));
  ASSERT_EQ(t.entries.size(), 2u);
  EXPECT_EQ(t.entries[0].first, "k");
  EXPECT_EQ(t.entries[1].first, "k");
  EXPECT_EQ(t.Find("k")->AsInt(), 1);  // the first one wins, as in RabbitMQ
  EXPECT_EQ(t.entries[1].second.type, 'V');
  EXPECT_EQ(Hex(Encode(t)), Hex(wire));
}

TEST(FieldTableTest, SetReplacesAndEraseRemovesTheFirstMatch) {
  FieldTable t;
  t.entries.emplace_back("k", FieldValue::Long(1));
  t.entries.emplace_back("k", FieldValue::Long(2));
  t.Set("k", FieldValue::Long(3));
  ASSERT_EQ(t.entries.size(), 2u);
  EXPECT_EQ(t.entries[0].second.AsInt(), 3);
  EXPECT_EQ(t.entries[1].second.AsInt(), 2);
  t.Set("new", FieldValue::Void());
  EXPECT_EQ(t.entries.back().first, "new");
  EXPECT_TRUE(t.Erase("k"));
  EXPECT_EQ(t.Find("k")->AsInt(), 2);
  EXPECT_TRUE(t.Erase("k"));
  EXPECT_FALSE(t.Erase("k"));
  EXPECT_EQ(t.Find("k"), nullptr);
}

// `levels` tables, each inside the previous; the innermost holds `leaf`
// entries (0 or 1).
FieldTable NestedTables(int levels, bool leaf) {
  FieldTable t;
  if (leaf) t.Set("leaf", FieldValue::Int(FieldType::kInt32, 7));
  for (int i = 1; i < levels; ++i) {
    FieldTable outer;
    outer.Set("n", FieldValue::Table(std::move(t)));
    t = std::move(outer);
  }
  return t;
}

// One table holding `arrays` arrays, each inside the previous; the innermost
// holds `leaf` items (0 or 1).
FieldTable NestedArrays(int arrays, bool leaf) {
  FieldArray a;
  if (leaf) a.push_back(FieldValue::Long(7));
  for (int i = 1; i < arrays; ++i) a = FieldArray{FieldValue::Array(std::move(a))};
  FieldTable t;
  t.Set("a", FieldValue::Array(std::move(a)));
  return t;
}

// Tables and arrays both count as a level, the outermost table included:
// kMaxTableDepth levels decode, one more is refused, whatever is innermost.
TEST(FieldTableTest, NestingUpToTheLimitDecodesAndBeyondIsRefused) {
  for (bool leaf : {true, false}) {
    FieldTable t;
    EXPECT_TRUE(Decode(Encode(NestedTables(kMaxTableDepth, leaf)), t)) << "leaf=" << leaf;
    EXPECT_FALSE(Decode(Encode(NestedTables(kMaxTableDepth + 1, leaf)), t)) << "leaf=" << leaf;
    EXPECT_TRUE(Decode(Encode(NestedArrays(kMaxTableDepth - 1, leaf)), t)) << "leaf=" << leaf;
    EXPECT_FALSE(Decode(Encode(NestedArrays(kMaxTableDepth, leaf)), t)) << "leaf=" << leaf;
  }
  FieldTable t;
  ASSERT_TRUE(Decode(Encode(NestedTables(kMaxTableDepth, true)), t));
  EXPECT_EQ(t, NestedTables(kMaxTableDepth, true));
}

// Far deeper than the limit, built by hand so no encoder recursion is
// involved: refused without exhausting the stack.
TEST(FieldTableTest, HostileDepthIsRefusedQuickly) {
  // Level i is the entry {"n": F <32-bit length> <level i+1>}, 7 bytes plus
  // everything inside it; the innermost table is empty.
  const size_t levels = 100000;
  std::string wire = Be32(static_cast<uint32_t>(levels * 7));
  for (size_t i = 0; i < levels; ++i)
    wire += Bytes({0x01, 'n', 'F'}) + Be32(static_cast<uint32_t>((levels - i - 1) * 7));
  FieldTable t;
  EXPECT_FALSE(Decode(wire, t));
}

TEST(FieldTableTest, EveryTruncationIsRefused) {
  std::string wire = Encode(EveryType());
  for (size_t cut = 0; cut < wire.size(); ++cut) {
    FieldTable t;
    Reader r(std::string_view(wire).substr(0, cut));
    EXPECT_FALSE(DecodeTable(r, t)) << "cut at " << cut;
    EXPECT_FALSE(r.ok()) << "cut at " << cut;
  }
}

// The outer length prefix shortened so the last value is cut: its entry is
// truncated even though the reader has more bytes after the table.
TEST(FieldTableTest, LengthPrefixCuttingAValueIsRefused) {
  std::string wire = OneEntry('I', Bytes({0x00, 0x00, 0x00, 0x01}));
  for (int shorter = 1; shorter <= 4; ++shorter) {
    std::string bad = wire;
    bad[3] = static_cast<char>(bad[3] - shorter);
    Reader r(bad);
    FieldTable t;
    EXPECT_FALSE(DecodeTable(r, t)) << shorter;
  }
}

// A nested array whose own length is consistent with the outer table's but
// which ends inside its last value.
TEST(FieldTableTest, TruncationInsideANestedArrayIsRefused) {
  std::string wire = Bytes({0x00, 0x00, 0x00, 0x0A,                  // 10 bytes
                            0x01, 'a', 'A', 0x00, 0x00, 0x00, 0x03,  // array of 3 bytes
                            'I', 0x00, 0x00});                       // int32 with 2 bytes
  FieldTable t;
  EXPECT_FALSE(Decode(wire, t));
  // The same inside a nested table.
  wire[6] = 'F';
  EXPECT_FALSE(Decode(wire, t));
  // An inner length running past the outer one.
  std::string over = Bytes({0x00, 0x00, 0x00, 0x07, 0x01, 'a', 'S', 0x00, 0x00, 0x00, 0x01,
                            'z'});
  EXPECT_FALSE(Decode(over, t));
  over[3] = 0x08;
  EXPECT_TRUE(Decode(over, t));
}

TEST(FieldTableTest, EveryUnknownTypeLetterIsRefused) {
  const std::string known = "tbBsuIilfdDSxATFV";
  int refused = 0;
  for (int c = 0; c < 256; ++c) {
    if (known.find(static_cast<char>(c)) != std::string::npos) continue;
    // As a table value, with 8 spare bytes so only the letter can be wrong.
    std::string wire = Bytes({0x00, 0x00, 0x00, 0x0B, 0x01, 'k', c, 0, 0, 0, 0, 0, 0, 0, 0});
    FieldTable t;
    EXPECT_FALSE(Decode(wire, t)) << "letter " << c;
    // As an array item.
    std::string in_array = Bytes({0x00, 0x00, 0x00, 0x08, 0x01, 'a', 'A', 0x00, 0x00, 0x00,
                                  0x01, c});
    EXPECT_FALSE(Decode(in_array, t)) << "letter " << c;
    ++refused;
  }
  EXPECT_EQ(refused, 256 - 17);
}

TEST(FieldTableTest, AmqplainEntriesWithoutLengthPrefix) {
  std::string entries = Bytes({0x05, 'L', 'O', 'G', 'I', 'N', 'S', 0x00, 0x00, 0x00, 0x01, 'u',
                               0x08, 'P', 'A', 'S', 'S', 'W', 'O', 'R', 'D', 'S', 0x00, 0x00,
                               0x00, 0x02, 'p', 'w'});
  FieldTable t;
  ASSERT_TRUE(DecodeTableEntries(entries, t));
  ASSERT_EQ(t.entries.size(), 2u);
  EXPECT_EQ(*t.Find("LOGIN")->AsString(), "u");
  EXPECT_EQ(*t.Find("PASSWORD")->AsString(), "pw");
  EXPECT_TRUE(DecodeTableEntries("", t));
  EXPECT_TRUE(t.empty());
  for (size_t cut = 1; cut < entries.size(); ++cut) {
    if (cut == 12) continue;  // the boundary between the two entries
    EXPECT_FALSE(DecodeTableEntries(entries.substr(0, cut), t)) << cut;
  }
}

}  // namespace
}  // namespace warren::amqp
