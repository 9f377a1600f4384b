// Headers routing: x-match modes, RabbitMQ's value equality, void values,
// binding bookkeeping and the bind-time x-match check.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "broker/core/exchange/headers.h"
#include "broker/core/exchange/router.h"

namespace warren::core {
namespace {

using amqp::FieldArray;
using amqp::FieldTable;
using amqp::FieldType;
using amqp::FieldValue;
using Kind = Destination::Kind;
using Names = std::vector<std::string>;

FieldTable Table(std::vector<std::pair<std::string, FieldValue>> entries) {
  FieldTable t;
  t.entries = std::move(entries);
  return t;
}

FieldValue Bytes(std::string s) { return {'x', std::move(s)}; }
FieldValue Float(float f) { return {'f', f}; }
FieldValue Double(double d) { return {'d', d}; }

BindingSpec HeadersBind(std::string queue, FieldTable args, std::string key = "") {
  return {{Kind::kQueue, std::move(queue)}, std::move(key), std::move(args)};
}

Names Routed(const Router& r, const FieldTable* headers, std::string_view key = "") {
  std::vector<const Destination*> out;
  r.Route(key, headers, out);
  Names names;
  for (const Destination* d : out) names.push_back(d->name);
  std::sort(names.begin(), names.end());
  return names;
}

Names Routed(const Router& r, const FieldTable& headers) { return Routed(r, &headers); }

// One binding `args`; does a message with `headers` match it?
bool Matches(const FieldTable& args, const FieldTable& headers) {
  auto r = MakeRouter("headers");
  EXPECT_TRUE(r->Add(HeadersBind("q", args)));
  return Routed(*r, headers) == Names{"q"};
}

const std::string kName = "xiaochuanXX";
const std::string kMale = "\xe7\x94\xb7";    // 男
const std::string kFemale = "\xe5\xa5\xb3";  // 女

TEST(HeadersRoutingTest, TutorialAllAndAny) {
  auto r = MakeRouter("headers");
  ASSERT_TRUE(r->Add(HeadersBind("all", Table({{"x-match", FieldValue::Str("all")},
                                        {"name", FieldValue::Str(kName)},
                                        {"sex", FieldValue::Str(kMale)}}))));
  ASSERT_TRUE(r->Add(HeadersBind("any", Table({{"x-match", FieldValue::Str("any")},
                                        {"name", FieldValue::Str(kName)},
                                        {"sex", FieldValue::Str(kMale)}}))));
  EXPECT_EQ(Routed(*r, Table({{"name", FieldValue::Str(kName)}, {"sex", FieldValue::Str(kMale)}})),
            (Names{"all", "any"}));
  // Header order and extra headers do not matter.
  EXPECT_EQ(Routed(*r, Table({{"age", FieldValue::Long(9)},
                              {"sex", FieldValue::Str(kMale)},
                              {"name", FieldValue::Str(kName)}})),
            (Names{"all", "any"}));
  EXPECT_EQ(Routed(*r, Table({{"name", FieldValue::Str(kName)}})), (Names{"any"}));
  EXPECT_EQ(
      Routed(*r, Table({{"name", FieldValue::Str(kName)}, {"sex", FieldValue::Str(kFemale)}})),
      (Names{"any"}));
  EXPECT_EQ(Routed(*r, Table({{"name", FieldValue::Str("xiaochuanYY")},
                              {"sex", FieldValue::Str(kFemale)}})),
            Names{});
  EXPECT_EQ(Routed(*r, Table({{"Name", FieldValue::Str(kName)}})), Names{});  // keys are exact
  EXPECT_EQ(Routed(*r, FieldTable{}), Names{});
  EXPECT_EQ(Routed(*r, nullptr), Names{});
}

TEST(HeadersRoutingTest, XMatchDefaultsToAll) {
  const FieldTable args = Table({{"a", FieldValue::Long(1)}, {"b", FieldValue::Long(2)}});
  EXPECT_TRUE(Matches(args, Table({{"a", FieldValue::Long(1)}, {"b", FieldValue::Long(2)}})));
  EXPECT_FALSE(Matches(args, Table({{"a", FieldValue::Long(1)}})));
  // Anything but the four modes (even a non-string) is RabbitMQ's legacy "all".
  for (FieldValue mode : {FieldValue::Str("ANY"), Bytes("any"), FieldValue::Long(1)}) {
    FieldTable with_mode = args;
    with_mode.entries.insert(with_mode.entries.begin(), {"x-match", mode});
    EXPECT_FALSE(Matches(with_mode, Table({{"a", FieldValue::Long(1)}})));
    EXPECT_TRUE(
        Matches(with_mode, Table({{"a", FieldValue::Long(1)}, {"b", FieldValue::Long(2)}})));
  }
}

TEST(HeadersRoutingTest, NoArgumentsAllMatchesEverythingAnyNothing) {
  auto r = MakeRouter("headers");
  ASSERT_TRUE(r->Add(HeadersBind("empty", {})));
  ASSERT_TRUE(r->Add(
      HeadersBind("all", Table({{"x-match", FieldValue::Str("all")}, {"x-other", FieldValue::Long(1)}}))));
  ASSERT_TRUE(r->Add(
      HeadersBind("any", Table({{"x-match", FieldValue::Str("any")}, {"x-other", FieldValue::Long(1)}}))));
  EXPECT_EQ(Routed(*r, nullptr), (Names{"all", "empty"}));
  EXPECT_EQ(Routed(*r, Table({{"x-other", FieldValue::Long(1)}, {"k", FieldValue::Long(1)}})),
            (Names{"all", "empty"}));
}

TEST(HeadersRoutingTest, XArgumentsTakePartOnlyWithX) {
  const auto args = [](const char* mode) {
    return Table({{"x-match", FieldValue::Str(mode)},
                  {"x-tenant", FieldValue::Str("t1")},
                  {"kind", FieldValue::Str("order")}});
  };
  const FieldTable plain = Table({{"kind", FieldValue::Str("order")}});
  const FieldTable with_x =
      Table({{"kind", FieldValue::Str("order")}, {"x-tenant", FieldValue::Str("t1")}});
  const FieldTable only_x = Table({{"x-tenant", FieldValue::Str("t1")}});
  const FieldTable wrong_x =
      Table({{"kind", FieldValue::Str("order")}, {"x-tenant", FieldValue::Str("t2")}});

  EXPECT_TRUE(Matches(args("all"), plain));
  EXPECT_TRUE(Matches(args("all"), wrong_x));
  EXPECT_FALSE(Matches(args("any"), only_x));
  EXPECT_TRUE(Matches(args("any"), plain));

  EXPECT_FALSE(Matches(args("all-with-x"), plain));
  EXPECT_TRUE(Matches(args("all-with-x"), with_x));
  EXPECT_FALSE(Matches(args("all-with-x"), wrong_x));
  EXPECT_TRUE(Matches(args("any-with-x"), only_x));
  EXPECT_TRUE(Matches(args("any-with-x"), plain));
  EXPECT_FALSE(Matches(args("any-with-x"), Table({{"x-tenant", FieldValue::Str("t2")}})));
}

TEST(HeadersRoutingTest, XMatchItselfNeverTakesPart) {
  // The message's own "x-match" header is not compared, even with -with-x.
  FieldTable args = Table({{"x-match", FieldValue::Str("all-with-x")}, {"k", FieldValue::Long(1)}});
  EXPECT_TRUE(Matches(args, Table({{"k", FieldValue::Long(1)}})));
  EXPECT_TRUE(
      Matches(args, Table({{"k", FieldValue::Long(1)}, {"x-match", FieldValue::Str("any")}})));
  // "any-with-x" with only x-match: nothing to match.
  EXPECT_FALSE(Matches(Table({{"x-match", FieldValue::Str("any-with-x")}}),
                       Table({{"x-match", FieldValue::Str("any-with-x")}})));
}

TEST(HeadersRoutingTest, IntegersCompareByValueAcrossWidths) {
  const FieldTable args = Table({{"n", FieldValue::Int(FieldType::kInt32, 42)}});
  for (FieldType t :
       {FieldType::kInt8, FieldType::kUInt8, FieldType::kInt16, FieldType::kUInt16,
        FieldType::kInt32, FieldType::kUInt32, FieldType::kInt64, FieldType::kTimestamp})
    EXPECT_TRUE(Matches(args, Table({{"n", FieldValue::Int(t, 42)}}))) << static_cast<char>(t);
  EXPECT_FALSE(Matches(args, Table({{"n", FieldValue::Long(43)}})));
  EXPECT_TRUE(Matches(Table({{"n", FieldValue::Int(FieldType::kInt8, -1)}}),
                      Table({{"n", FieldValue::Long(-1)}})));
  // 4294967295 as an unsigned int is not -1.
  EXPECT_FALSE(Matches(Table({{"n", FieldValue::Int(FieldType::kUInt32, 4294967295)}}),
                       Table({{"n", FieldValue::Int(FieldType::kInt32, -1)}})));
  // A timestamp of 2^64-1 is not the long -1 that has the same bits.
  EXPECT_FALSE(Matches(Table({{"n", FieldValue::Timestamp(UINT64_MAX)}}),
                       Table({{"n", FieldValue::Long(-1)}})));
  EXPECT_TRUE(Matches(Table({{"n", FieldValue::Timestamp(UINT64_MAX)}}),
                      Table({{"n", FieldValue::Timestamp(UINT64_MAX)}})));
}

TEST(HeadersRoutingTest, FloatsCompareByValueButNeverEqualIntegers) {
  EXPECT_TRUE(Matches(Table({{"f", Float(1.5f)}}), Table({{"f", Double(1.5)}})));
  EXPECT_TRUE(Matches(Table({{"f", Double(2.0)}}), Table({{"f", Double(2.0)}})));
  EXPECT_FALSE(Matches(Table({{"f", Double(2.0)}}), Table({{"f", Double(2.5)}})));
  EXPECT_FALSE(Matches(Table({{"f", Float(0.1f)}}), Table({{"f", Double(0.1)}})));
  // RabbitMQ 3.13+ compares with =:=, so 1 and 1.0 differ.
  EXPECT_FALSE(Matches(Table({{"f", Double(1.0)}}), Table({{"f", FieldValue::Long(1)}})));
  EXPECT_FALSE(Matches(Table({{"f", FieldValue::Long(1)}}), Table({{"f", Float(1.0f)}})));
}

TEST(HeadersRoutingTest, StringsAndByteArraysCompareByBytes) {
  EXPECT_TRUE(Matches(Table({{"s", FieldValue::Str(kMale)}}), Table({{"s", Bytes(kMale)}})));
  EXPECT_TRUE(Matches(Table({{"s", Bytes("abc")}}), Table({{"s", FieldValue::Str("abc")}})));
  EXPECT_FALSE(Matches(Table({{"s", FieldValue::Str("abc")}}), Table({{"s", Bytes("abd")}})));
  EXPECT_FALSE(Matches(Table({{"s", FieldValue::Str("1")}}), Table({{"s", FieldValue::Long(1)}})));
  EXPECT_FALSE(Matches(Table({{"s", FieldValue::Str("")}}), Table({{"s", FieldValue::Void()}})));
}

TEST(HeadersRoutingTest, BoolsAndDecimalsCompareByValue) {
  EXPECT_TRUE(
      Matches(Table({{"b", FieldValue::Bool(true)}}), Table({{"b", FieldValue::Bool(true)}})));
  EXPECT_FALSE(
      Matches(Table({{"b", FieldValue::Bool(true)}}), Table({{"b", FieldValue::Bool(false)}})));
  EXPECT_FALSE(Matches(Table({{"b", FieldValue::Bool(true)}}),
                       Table({{"b", FieldValue::Int(FieldType::kInt8, 1)}})));
  const FieldValue d1{'D', amqp::Decimal{2, 150}};
  const FieldValue d2{'D', amqp::Decimal{1, 15}};
  EXPECT_TRUE(Matches(Table({{"d", d1}}), Table({{"d", d1}})));
  EXPECT_FALSE(Matches(Table({{"d", d1}}), Table({{"d", d2}})));  // equal numbers, other terms
}

TEST(HeadersRoutingTest, TablesAndArraysCompareDeeplyWithTheirTypes) {
  const FieldValue inner =
      FieldValue::Table(Table({{"a", FieldValue::Long(1)}, {"b", FieldValue::Str("x")}}));
  EXPECT_TRUE(Matches(Table({{"t", inner}}), Table({{"t", inner}})));
  EXPECT_FALSE(Matches(Table({{"t", inner}}),
                       Table({{"t", FieldValue::Table(Table({{"a", FieldValue::Long(2)},
                                                             {"b", FieldValue::Str("x")}}))}})));
  // Nested values are tagged terms in RabbitMQ: the type letter counts there.
  EXPECT_FALSE(
      Matches(Table({{"t", inner}}),
              Table({{"t", FieldValue::Table(Table({{"a", FieldValue::Int(FieldType::kInt32, 1)},
                                                    {"b", FieldValue::Str("x")}}))}})));
  const FieldValue array = FieldValue::Array({FieldValue::Long(1), FieldValue::Str("two")});
  EXPECT_TRUE(Matches(Table({{"a", array}}), Table({{"a", array}})));
  EXPECT_FALSE(
      Matches(Table({{"a", array}}), Table({{"a", FieldValue::Array({FieldValue::Long(1)})}})));
  EXPECT_FALSE(Matches(Table({{"a", array}}), Table({{"a", inner}})));
}

TEST(HeadersRoutingTest, VoidMatchesOnPresenceAlone) {
  const FieldTable all = Table({{"flag", FieldValue::Void()}, {"k", FieldValue::Long(1)}});
  EXPECT_TRUE(
      Matches(all, Table({{"flag", FieldValue::Str("anything")}, {"k", FieldValue::Long(1)}})));
  EXPECT_TRUE(Matches(all, Table({{"flag", FieldValue::Void()}, {"k", FieldValue::Long(1)}})));
  EXPECT_TRUE(Matches(all, Table({{"flag", FieldValue::Table(Table({{"a", FieldValue::Long(1)}}))},
                                  {"k", FieldValue::Long(1)}})));
  EXPECT_FALSE(Matches(all, Table({{"k", FieldValue::Long(1)}})));
  const FieldTable any = Table({{"x-match", FieldValue::Str("any")}, {"flag", FieldValue::Void()}});
  EXPECT_TRUE(Matches(any, Table({{"flag", FieldValue::Bool(false)}})));
  EXPECT_FALSE(Matches(any, Table({{"other", FieldValue::Bool(false)}})));
  // A void header only equals a void binding value.
  EXPECT_FALSE(Matches(Table({{"k", FieldValue::Long(0)}}), Table({{"k", FieldValue::Void()}})));
}

TEST(HeadersRoutingTest, RepeatedHeaderKeyLastOneCounts) {
  const FieldTable args = Table({{"k", FieldValue::Long(2)}});
  EXPECT_TRUE(Matches(args, Table({{"k", FieldValue::Long(1)}, {"k", FieldValue::Long(2)}})));
  EXPECT_FALSE(Matches(args, Table({{"k", FieldValue::Long(2)}, {"k", FieldValue::Long(1)}})));
}

TEST(HeadersRoutingTest, RoutingKeyIsIgnored) {
  auto r = MakeRouter("headers");
  ASSERT_TRUE(r->Add(HeadersBind("q", Table({{"k", FieldValue::Long(1)}}), "bound.key")));
  const FieldTable h = Table({{"k", FieldValue::Long(1)}});
  EXPECT_EQ(Routed(*r, &h, "other"), (Names{"q"}));
  EXPECT_EQ(Routed(*r, &h, ""), (Names{"q"}));
}

TEST(HeadersRoutingTest, BindingBookkeeping) {
  auto r = MakeRouter("headers");
  const FieldTable a1 = Table({{"k", FieldValue::Long(1)}});
  const FieldTable a2 = Table({{"k", FieldValue::Long(2)}});
  EXPECT_TRUE(r->Add(HeadersBind("q", a1)));
  EXPECT_FALSE(r->Add(HeadersBind("q", a1)));
  EXPECT_TRUE(r->Add(HeadersBind("q", a2)));
  EXPECT_TRUE(r->Add(HeadersBind("q", a1, "another key")));
  EXPECT_TRUE(r->Add({{Kind::kExchange, "q"}, "", a1}));
  EXPECT_TRUE(r->Add(HeadersBind("other", a1)));
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ(Routed(*r, a1), (Names{"other", "q", "q", "q"}));

  EXPECT_FALSE(r->Remove(HeadersBind("q", Table({{"k", FieldValue::Long(3)}}))));
  EXPECT_FALSE(r->Remove(HeadersBind("q", Table({{"k", FieldValue::Int(FieldType::kInt32, 1)}}))));
  EXPECT_FALSE(r->Remove(HeadersBind("nobody", a1)));
  EXPECT_TRUE(r->Remove(HeadersBind("q", a1, "another key")));
  EXPECT_FALSE(r->Remove(HeadersBind("q", a1, "another key")));
  EXPECT_EQ(r->size(), 4u);

  EXPECT_EQ(r->RemoveDestination({Kind::kQueue, "q"}), 2u);
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ(Routed(*r, a1), (Names{"other", "q"}));  // the exchange named q remains
  std::vector<BindingSpec> seen;
  r->ForEach([&](const BindingSpec& b) { seen.push_back(b); });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (BindingSpec{{Kind::kExchange, "q"}, "", a1}));
  EXPECT_EQ(seen[1], HeadersBind("other", a1));
}

TEST(HeadersRoutingTest, ValidateXMatch) {
  EXPECT_EQ(ValidateHeadersBinding({}), std::nullopt);
  EXPECT_EQ(ValidateHeadersBinding(Table({{"k", FieldValue::Long(1)}})), std::nullopt);
  for (const char* mode : {"all", "any", "all-with-x", "any-with-x"})
    EXPECT_EQ(ValidateHeadersBinding(Table({{"x-match", FieldValue::Str(mode)}})), std::nullopt)
        << mode;
  EXPECT_EQ(
      ValidateHeadersBinding(Table({{"x-match", FieldValue::Str("some")}})),
      "Invalid x-match field value <<\"some\">>; expected all, any, all-with-x, or any-with-x");
  EXPECT_EQ(ValidateHeadersBinding(Table({{"x-match", FieldValue::Int(FieldType::kInt32, 1)}})),
            "Invalid x-match field type signedint (value 1); expected longstr");
  EXPECT_EQ(ValidateHeadersBinding(Table({{"x-match", FieldValue::Int(FieldType::kInt8, -1)}})),
            "Invalid x-match field type byte (value -1); expected longstr");
  EXPECT_EQ(ValidateHeadersBinding(Table({{"x-match", Bytes("all")}})),
            "Invalid x-match field type binary (value <<\"all\">>); expected longstr");
}

TEST(HeaderValueEqualsTest, IsSymmetric) {
  const std::vector<FieldValue> values = {FieldValue::Long(1),
                                          FieldValue::Int(FieldType::kUInt8, 1),
                                          FieldValue::Timestamp(1),
                                          Double(1.0),
                                          Float(1.0f),
                                          FieldValue::Str("1"),
                                          Bytes("1"),
                                          FieldValue::Bool(true),
                                          FieldValue::Void(),
                                          FieldValue::Table({}),
                                          FieldValue::Array({}),
                                          FieldValue{'D', amqp::Decimal{0, 1}}};
  int equal_pairs = 0;
  for (const FieldValue& a : values) {
    for (const FieldValue& b : values) {
      EXPECT_EQ(HeaderValueEquals(a, b), HeaderValueEquals(b, a)) << a.type << " " << b.type;
      equal_pairs += HeaderValueEquals(a, b);
    }
  }
  // Classes {l,B,T}, {d,f}, {S,x}, and t, V, F, A, D each alone: 9+4+4+5.
  EXPECT_EQ(equal_pairs, 22);
}

}  // namespace
}  // namespace warren::core
