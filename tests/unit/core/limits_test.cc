// The bounds every declared name and table is held to (core/limits.h), and
// the bounded patterns of permissions and policies (core/regex.h).
#include <string>

#include <gtest/gtest.h>

#include "amqp/wire.h"
#include "broker/core/limits.h"
#include "broker/core/regex.h"

namespace warren::core {
namespace {

// A table nesting `depth` levels (the outermost is 1), alternating tables
// and arrays so both are counted.
amqp::FieldTable Nested(int depth) {
  amqp::FieldValue inner = amqp::FieldValue::Table({});
  for (int level = depth - 1; level > 1; --level) {
    if (level % 2 == 0) inner = amqp::FieldValue::Array({inner});
    else {
      amqp::FieldTable t;
      t.Set("k", inner);
      inner = amqp::FieldValue::Table(std::move(t));
    }
  }
  amqp::FieldTable top;
  if (depth > 1) top.Set("k", inner);
  return top;
}

TEST(LimitsTest, TablesUpToTheCodecsDepthPass) {
  EXPECT_TRUE(CheckTable("arguments", {}).ok());
  EXPECT_TRUE(CheckTable("arguments", Nested(amqp::kMaxTableDepth)).ok());
  Status s = CheckTable("arguments", Nested(amqp::kMaxTableDepth + 1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, 406);
  EXPECT_EQ(s.error().text,
            "PRECONDITION_FAILED - arguments: tables and arrays nested deeper than 64 levels");
}

TEST(LimitsTest, WhatTheCodecAcceptsTheCheckAccepts) {
  // The codec's own bound, read back from bytes: the two agree exactly.
  for (int depth : {amqp::kMaxTableDepth, amqp::kMaxTableDepth + 1}) {
    std::string bytes;
    amqp::EncodeTable(Nested(depth), bytes);
    amqp::Reader r(bytes);
    amqp::FieldTable decoded;
    EXPECT_EQ(amqp::DecodeTable(r, decoded), CheckTable("t", Nested(depth)).ok()) << depth;
  }
}

TEST(LimitsTest, KeysAndNamesAreShortStrings) {
  amqp::FieldTable t;
  t.Set(std::string(255, 'k'), amqp::FieldValue::Long(1));
  EXPECT_TRUE(CheckTable("arguments", t).ok());
  amqp::FieldTable nested;
  nested.Set("ok", amqp::FieldValue::Table([] {
               amqp::FieldTable inner;
               inner.Set(std::string(256, 'k'), amqp::FieldValue::Long(1));
               return inner;
             }()));
  EXPECT_FALSE(CheckTable("arguments", nested).ok());
  EXPECT_TRUE(CheckShortString("queue name", std::string(255, 'q')).ok());
  Status s = CheckShortString("queue name", std::string(256, 'q'));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().text,
            "PRECONDITION_FAILED - queue name is 256 bytes long; at most 255 are allowed");
}

TEST(PatternTest, SearchesUnanchoredAsRabbitMqDoes) {
  Pattern p;
  ASSERT_TRUE(Pattern::Compile("^amq\\.", p));
  EXPECT_TRUE(p.Search("amq.direct"));
  EXPECT_FALSE(p.Search("xamq.direct"));
  ASSERT_TRUE(Pattern::Compile("orders", p));
  EXPECT_TRUE(p.Search("eu.orders.new"));
  ASSERT_TRUE(Pattern::Compile(".*", p));
  EXPECT_TRUE(p.Search(""));
  EXPECT_FALSE(Pattern().Search("anything"));  // not compiled: matches nothing
}

TEST(PatternTest, TakesWhatRabbitMqsPoliciesUse) {
  // "Every queue but the amq.* ones", common in RabbitMQ's documentation.
  Pattern p;
  ASSERT_TRUE(Pattern::Compile("^(?!amq\\.).*", p));
  EXPECT_TRUE(p.Search("orders"));
  EXPECT_FALSE(p.Search("amq.gen-1"));
  ASSERT_TRUE(Pattern::Compile("^(ab)\\1$", p));  // a backreference
  EXPECT_TRUE(p.Search("abab"));
}

TEST(PatternTest, NamesAreBytes) {
  Pattern p;
  ASSERT_TRUE(Pattern::Compile("^q.$", p));
  EXPECT_TRUE(p.Search("q\xff"));          // one byte, not UTF-8
  EXPECT_FALSE(p.Search("q\xC3\xA9"));     // two bytes
  ASSERT_TRUE(Pattern::Compile("\xC3\xA9", p));
  EXPECT_TRUE(p.Search("caf\xC3\xA9"));    // UTF-8 literals still match
}

TEST(PatternTest, HostilePatternsStopAtTheBound) {
  // Exponential backtracking: without a bound this search would not end.
  Pattern p;
  ASSERT_TRUE(Pattern::Compile("(a*)*b", p));
  EXPECT_FALSE(p.Search(std::string(255, 'a')));
  ASSERT_TRUE(Pattern::Compile("^(a|a)*$", p));
  EXPECT_TRUE(p.Search(std::string(255, 'a')));
  ASSERT_TRUE(Pattern::Compile("^(\\w+\\s?)*$", p));
  EXPECT_FALSE(p.Search(std::string(254, 'x') + "!"));
}

TEST(PatternTest, InvalidPatternsAreRefused) {
  Pattern p;
  EXPECT_FALSE(Pattern::Compile("(unclosed", p));
  EXPECT_FALSE(Pattern::Compile("a{2,1}", p));
  EXPECT_FALSE(Pattern::Compile("[z-a]", p));
}

}  // namespace
}  // namespace warren::core
