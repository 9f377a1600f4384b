// Topic routing: RabbitMQ's word rules, the trie's bookkeeping, its cache,
// and thousands of random bindings checked against a plain matcher.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "broker/core/exchange/router.h"
#include "broker/core/exchange/topic.h"

namespace warren::core {
namespace {

using Kind = Destination::Kind;
using Names = std::vector<std::string>;

BindingSpec Bind(std::string queue, std::string key) {
  return {{Kind::kQueue, std::move(queue)}, std::move(key), {}};
}

Names Routed(const Router& r, std::string_view key) {
  std::vector<const Destination*> out;
  r.Route(key, nullptr, out);
  Names names;
  for (const Destination* d : out) names.push_back(d->name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Split(std::string_view key) {
  std::vector<std::string_view> views;
  TopicRouter::SplitWords(key, views);
  return {views.begin(), views.end()};
}

// The reference: a direct transcription of the rules, backtracking freely.
bool ReferenceMatch(const std::vector<std::string>& p, size_t i, const std::vector<std::string>& k,
                    size_t j) {
  if (i == p.size()) return j == k.size();
  if (p[i] == "#")
    return ReferenceMatch(p, i + 1, k, j) || (j < k.size() && ReferenceMatch(p, i, k, j + 1));
  if (j == k.size()) return false;
  return (p[i] == "*" || p[i] == k[j]) && ReferenceMatch(p, i + 1, k, j + 1);
}

bool ReferenceMatch(std::string_view pattern, std::string_view key) {
  return ReferenceMatch(Split(pattern), 0, Split(key), 0);
}

TEST(TopicSplitTest, EmptyKeyIsZeroWordsEmptyWordsElsewhereCount) {
  EXPECT_EQ(Split(""), std::vector<std::string>{});
  EXPECT_EQ(Split("a"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Split("a.b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Split("a..b"), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Split("."), (std::vector<std::string>{"", ""}));
  EXPECT_EQ(Split("a."), (std::vector<std::string>{"a", ""}));
  EXPECT_EQ(Split(".a"), (std::vector<std::string>{"", "a"}));
}

TEST(TopicRoutingTest, TutorialExample) {
  auto r = MakeRouter("topic");
  ASSERT_TRUE(r->Add(Bind("q1", "key1.key2.key3.*")));
  ASSERT_TRUE(r->Add(Bind("q2", "key1.#")));
  ASSERT_TRUE(r->Add(Bind("q3", "*.key2.*.key4")));
  ASSERT_TRUE(r->Add(Bind("q4", "#.key3.key4")));
  EXPECT_EQ(Routed(*r, "key1.key2.key3.key4"), (Names{"q1", "q2", "q3", "q4"}));
  EXPECT_EQ(Routed(*r, "key1"), (Names{"q2"}));
  EXPECT_EQ(Routed(*r, "key1.key2.key3"), (Names{"q2"}));
  EXPECT_EQ(Routed(*r, "key0.key2.key3.key4"), (Names{"q3", "q4"}));
  EXPECT_EQ(Routed(*r, "key3.key4"), (Names{"q4"}));
  EXPECT_EQ(Routed(*r, "key2"), Names{});
}

struct Case {
  const char* pattern;
  const char* key;
  bool match;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "binding '" << c.pattern << "' key '" << c.key << "' "
      << (c.match ? "matches" : "does not");
}

class TopicEdgeCaseTest : public testing::TestWithParam<Case> {};

TEST_P(TopicEdgeCaseTest, MatchesAsRabbitMQ) {
  const Case& c = GetParam();
  auto r = MakeRouter("topic");
  ASSERT_TRUE(r->Add(Bind("q", c.pattern)));
  EXPECT_EQ(Routed(*r, c.key), c.match ? Names{"q"} : Names{})
      << "binding '" << c.pattern << "' key '" << c.key << "'";
  // The table itself is checked against the reference, so the two agree.
  EXPECT_EQ(ReferenceMatch(c.pattern, c.key), c.match);
}

INSTANTIATE_TEST_SUITE_P(
    Words, TopicEdgeCaseTest,
    testing::Values(
        // The empty key is zero words: only "" and "#"-only bindings take it.
        Case{"", "", true}, Case{"", "a", false}, Case{"", ".", false}, Case{"#", "", true},
        Case{"#.#", "", true}, Case{"*", "", false}, Case{"*.#", "", false}, Case{"#.*", "", false},
        Case{"a", "", false},
        // "#" alone takes everything.
        Case{"#", "a", true}, Case{"#", "a.b.c", true}, Case{"#", ".", true},
        Case{"#.#", "a", true}, Case{"#.#", "a.b.c", true},
        // "#" between words takes zero or more.
        Case{"a.#.b", "a.b", true}, Case{"a.#.b", "a.x.b", true}, Case{"a.#.b", "a.x.y.b", true},
        Case{"a.#.b", "a.x.y", false}, Case{"a.#.b", "b", false}, Case{"a.#.b", "a.b.b", true},
        Case{"a.#.b", "a..b", true}, Case{"#.b.#", "b", true}, Case{"#.b.#", "a.b.c", true},
        Case{"#.b.#", "a.c", false},
        // A trailing or leading "#" may take zero words.
        Case{"key1.#", "key1", true}, Case{"key1.#", "key1.a.b", true},
        Case{"key1.#", "key10", false}, Case{"#.key1", "key1", true},
        Case{"lazy.#", "lazier.orange", false},
        // "*" is exactly one word, possibly empty, never zero.
        Case{"*", "a", true}, Case{"*", "a.b", false}, Case{"*", ".", false},
        Case{"*.*", ".", true}, Case{"a.*", "a", false}, Case{"a.*", "a.", true},
        Case{"a.*.b", "a..b", true}, Case{"a.*.b", "a.b", false}, Case{"a.*.#", "a", false},
        Case{"a.*.#", "a.b", true}, Case{"a.*.#", "a.b.c.d", true}, Case{"#.*", "a", true},
        // Empty words are words.
        Case{"a..b", "a..b", true}, Case{"a.b", "a..b", false}, Case{"a..b", "a.b", false},
        Case{".", ".", true}, Case{"a.", "a", false}, Case{"a.", "a.", true},
        // Wildcards only as whole words; matching is case-sensitive.
        Case{"a*", "ab", false}, Case{"a*", "a*", true}, Case{"a#", "a.b", false},
        Case{"a#", "a#", true}, Case{"A", "a", false}));

TEST(TopicRoutingTest, SameKeyToDifferentDestinations) {
  auto r = MakeRouter("topic");
  ASSERT_TRUE(r->Add(Bind("q1", "a.*")));
  ASSERT_TRUE(r->Add(Bind("q2", "a.*")));
  ASSERT_TRUE(r->Add({{Kind::kExchange, "x"}, "a.*", {}}));
  EXPECT_EQ(Routed(*r, "a.b"), (Names{"q1", "q2", "x"}));
  EXPECT_TRUE(r->Remove(Bind("q1", "a.*")));
  EXPECT_EQ(Routed(*r, "a.b"), (Names{"q2", "x"}));
}

TEST(TopicRoutingTest, EachBindingIsReachedOncePerMessage) {
  auto r = MakeRouter("topic");
  // "#.#" and "a.#.#.b" can match "a.b.b.b" in several ways; once each.
  ASSERT_TRUE(r->Add(Bind("q1", "#.#")));
  ASSERT_TRUE(r->Add(Bind("q2", "a.#.#.b")));
  ASSERT_TRUE(r->Add(Bind("q2", "#.b")));  // another binding of q2: appended again
  EXPECT_EQ(Routed(*r, "a.b.b.b"), (Names{"q1", "q2", "q2"}));
}

TEST(TopicRoutingTest, ManyHashesDoNotBacktrack) {
  // A backtracking matcher takes ~C(210, 10) steps for this; the NFA ~2,000.
  auto r = MakeRouter("topic");
  ASSERT_TRUE(r->Add(Bind("q", "#.#.#.#.#.#.#.#.#.#.x")));
  std::string key = "a";
  for (int i = 0; i < 120; ++i) key += ".a";
  EXPECT_EQ(Routed(*r, key), Names{});
  EXPECT_EQ(Routed(*r, key + ".x"), (Names{"q"}));
}

TEST(TopicRoutingTest, DuplicateAddAndMissingRemove) {
  auto r = MakeRouter("topic");
  EXPECT_TRUE(r->Add(Bind("q", "a.#")));
  EXPECT_FALSE(r->Add(Bind("q", "a.#")));
  EXPECT_TRUE(r->Add(Bind("q", "a.*")));
  amqp::FieldTable args;
  args.Set("x-k", amqp::FieldValue::Str("v"));
  EXPECT_TRUE(r->Add({{Kind::kQueue, "q"}, "a.#", args}));
  EXPECT_EQ(r->size(), 3u);

  EXPECT_FALSE(r->Remove(Bind("q", "a")));
  EXPECT_FALSE(r->Remove(Bind("q", "a.#.b")));
  EXPECT_FALSE(r->Remove(Bind("q", "b.#")));
  EXPECT_FALSE(r->Remove(Bind("other", "a.#")));
  EXPECT_FALSE(r->Remove({{Kind::kExchange, "q"}, "a.#", {}}));
  EXPECT_EQ(r->size(), 3u);

  EXPECT_TRUE(r->Remove({{Kind::kQueue, "q"}, "a.#", args}));
  EXPECT_TRUE(r->Remove(Bind("q", "a.#")));
  EXPECT_FALSE(r->Remove(Bind("q", "a.#")));
  EXPECT_EQ(r->size(), 1u);
  EXPECT_EQ(Routed(*r, "a"), Names{});
  EXPECT_EQ(Routed(*r, "a.b"), (Names{"q"}));
}

TEST(TopicRoutingTest, RemovingAPrefixKeepsLongerBindings) {
  auto r = MakeRouter("topic");
  ASSERT_TRUE(r->Add(Bind("short", "a.b")));
  ASSERT_TRUE(r->Add(Bind("long", "a.b.c")));
  ASSERT_TRUE(r->Add(Bind("hash", "a.#")));
  ASSERT_TRUE(r->Remove(Bind("short", "a.b")));
  EXPECT_EQ(Routed(*r, "a.b.c"), (Names{"hash", "long"}));
  ASSERT_TRUE(r->Remove(Bind("long", "a.b.c")));
  ASSERT_TRUE(r->Remove(Bind("hash", "a.#")));
  EXPECT_EQ(r->size(), 0u);
  EXPECT_EQ(Routed(*r, "a.b.c"), Names{});
  ASSERT_TRUE(r->Add(Bind("again", "a.b.c")));  // the pruned path grows back
  EXPECT_EQ(Routed(*r, "a.b.c"), (Names{"again"}));
}

TEST(TopicRoutingTest, RemoveDestination) {
  auto r = MakeRouter("topic");
  for (const char* key : {"", "#", "a.*", "a.#.b", "x.y.z"}) ASSERT_TRUE(r->Add(Bind("gone", key)));
  ASSERT_TRUE(r->Add(Bind("stays", "a.*")));
  ASSERT_TRUE(r->Add({{Kind::kExchange, "gone"}, "#", {}}));
  EXPECT_EQ(r->RemoveDestination({Kind::kQueue, "gone"}), 5u);
  EXPECT_EQ(r->RemoveDestination({Kind::kQueue, "gone"}), 0u);
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ(Routed(*r, "a.b"), (Names{"gone", "stays"}));  // the exchange "gone" via "#"
  EXPECT_EQ(Routed(*r, "x.y.z"), (Names{"gone"}));
  EXPECT_EQ(r->RemoveDestination({Kind::kExchange, "gone"}), 1u);
  EXPECT_EQ(Routed(*r, "x.y.z"), Names{});
  EXPECT_EQ(Routed(*r, ""), Names{});
}

TEST(TopicRoutingTest, ForEachGivesBackTheOriginalSpecs) {
  auto r = MakeRouter("topic");
  std::vector<std::string> keys = {"", "#", "#.#", "a..b", "*.x", "a.b.c"};
  for (const std::string& k : keys) ASSERT_TRUE(r->Add(Bind("q", k)));
  std::vector<std::string> seen;
  r->ForEach([&](const BindingSpec& b) { seen.push_back(b.routing_key); });
  std::sort(seen.begin(), seen.end());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(seen, keys);
}

TEST(TopicRoutingTest, CacheIsInvalidatedByEveryChange) {
  auto r = MakeRouter("topic");
  ASSERT_TRUE(r->Add(Bind("q1", "a.b")));
  EXPECT_EQ(Routed(*r, "a.b"), (Names{"q1"}));
  EXPECT_EQ(Routed(*r, "c"), Names{});  // a cached miss
  ASSERT_TRUE(r->Add(Bind("q2", "a.*")));
  ASSERT_TRUE(r->Add(Bind("q3", "#")));
  EXPECT_EQ(Routed(*r, "a.b"), (Names{"q1", "q2", "q3"}));
  EXPECT_EQ(Routed(*r, "c"), (Names{"q3"}));
  ASSERT_TRUE(r->Remove(Bind("q1", "a.b")));
  EXPECT_EQ(Routed(*r, "a.b"), (Names{"q2", "q3"}));
  ASSERT_EQ(r->RemoveDestination({Kind::kQueue, "q3"}), 1u);
  EXPECT_EQ(Routed(*r, "a.b"), (Names{"q2"}));
  EXPECT_EQ(Routed(*r, "c"), Names{});
}

TEST(TopicRoutingTest, CacheOverflowAndLargeResultsStayCorrect) {
  auto r = MakeRouter("topic");
  ASSERT_TRUE(r->Add(Bind("even", "*.0")));
  ASSERT_TRUE(r->Add(Bind("odd", "*.1")));
  for (size_t i = 0; i < TopicRouter::kCacheMaxResult + 10; ++i)
    ASSERT_TRUE(r->Add(Bind("wide" + std::to_string(i), "w.#")));
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < 3 * TopicRouter::kCacheKeys; ++i) {
      std::string key = std::to_string(i) + "." + std::to_string(i % 2);
      ASSERT_EQ(Routed(*r, key), (Names{i % 2 ? "odd" : "even"})) << key;
    }
    EXPECT_EQ(Routed(*r, "w.x").size(), TopicRouter::kCacheMaxResult + 10);
  }
}

// Random bindings over a small vocabulary (so they overlap a lot), checked
// against ReferenceMatch for random keys, before and after removals.
TEST(TopicRoutingTest, ThousandsOfRandomBindingsMatchTheReference) {
  std::mt19937 rng(20240613);
  auto pick = [&](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
  };
  auto make_key = [&](const std::vector<std::string>& vocab, int max_words) {
    int n = std::uniform_int_distribution<int>(0, max_words)(rng);
    std::string key;
    for (int i = 0; i < n; ++i) key += (i ? "." : "") + pick(vocab);
    return key;
  };
  const std::vector<std::string> pattern_words = {"a", "b", "c", "", "*", "#", "#", "*"};
  const std::vector<std::string> key_words = {"a", "b", "c", "", "d"};

  auto r = MakeRouter("topic");
  std::vector<BindingSpec> bound;
  for (int i = 0; i < 5000; ++i) {
    BindingSpec b = Bind("q" + std::to_string(i), make_key(pattern_words, 6));
    ASSERT_TRUE(r->Add(b));
    bound.push_back(b);
  }
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) keys.push_back(make_key(key_words, 7));

  auto check = [&](const char* phase) {
    ASSERT_EQ(r->size(), bound.size()) << phase;
    std::vector<std::vector<std::string>> patterns;
    for (const BindingSpec& b : bound) patterns.push_back(Split(b.routing_key));
    size_t routed = 0;
    for (const std::string& key : keys) {
      const std::vector<std::string> words = Split(key);
      Names expected;
      for (size_t i = 0; i < bound.size(); ++i)
        if (ReferenceMatch(patterns[i], 0, words, 0)) expected.push_back(bound[i].destination.name);
      std::sort(expected.begin(), expected.end());
      ASSERT_EQ(Routed(*r, key), expected) << phase << ": key '" << key << "'";
      ASSERT_EQ(Routed(*r, key), expected) << phase << " (cached): key '" << key << "'";
      routed += expected.size();
    }
    EXPECT_GT(routed, keys.size()) << phase;  // the sample does exercise matching
  };
  check("all bound");

  std::shuffle(bound.begin(), bound.end(), rng);
  for (size_t i = 0; i < 2500; ++i) {
    ASSERT_TRUE(r->Remove(bound.back()));
    bound.pop_back();
  }
  check("half removed");

  for (int i = 0; i < 50; ++i) {
    Destination d = bound.back().destination;
    ASSERT_EQ(r->RemoveDestination(d), 1u);
    bound.pop_back();
  }
  check("destinations removed");
}

}  // namespace
}  // namespace warren::core
