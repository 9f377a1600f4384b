// Direct and fanout routing tables, and MakeRouter.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "broker/core/exchange/router.h"

namespace warren::core {
namespace {

using Kind = Destination::Kind;

BindingSpec Bind(std::string queue, std::string key, amqp::FieldTable args = {}) {
  return {{Kind::kQueue, std::move(queue)}, std::move(key), std::move(args)};
}

// Names of the routed destinations, sorted, duplicates kept.
std::vector<std::string> Routed(const Router& r, std::string_view key) {
  std::vector<const Destination*> out;
  r.Route(key, nullptr, out);
  std::vector<std::string> names;
  for (const Destination* d : out) names.push_back(d->name);
  std::sort(names.begin(), names.end());
  return names;
}

using Names = std::vector<std::string>;

TEST(MakeRouterTest, KnowsTheFourTypesOnly) {
  for (const char* type : {"direct", "fanout", "topic", "headers"})
    EXPECT_NE(MakeRouter(type), nullptr) << type;
  for (const char* type : {"", "Direct", "x-consistent-hash", "match"})
    EXPECT_EQ(MakeRouter(type), nullptr) << type;
}

TEST(DirectRoutingTest, RoutesOnExactKeyOnly) {
  auto r = MakeRouter("direct");
  ASSERT_TRUE(r->Add(Bind("q1", "info")));
  ASSERT_TRUE(r->Add(Bind("q2", "info")));
  ASSERT_TRUE(r->Add(Bind("q3", "error")));
  ASSERT_TRUE(r->Add(Bind("q4", "")));
  ASSERT_TRUE(r->Add(Bind("q5", "*")));
  EXPECT_EQ(Routed(*r, "info"), (Names{"q1", "q2"}));
  EXPECT_EQ(Routed(*r, "error"), (Names{"q3"}));
  EXPECT_EQ(Routed(*r, ""), (Names{"q4"}));
  EXPECT_EQ(Routed(*r, "*"), (Names{"q5"}));  // no wildcards in direct
  EXPECT_EQ(Routed(*r, "Info"), Names{});
  EXPECT_EQ(Routed(*r, "info.x"), Names{});
  EXPECT_EQ(Routed(*r, "warning"), Names{});
  EXPECT_EQ(r->size(), 5u);
}

TEST(DirectRoutingTest, SameDestinationUnderSeveralKeys) {
  auto r = MakeRouter("direct");
  ASSERT_TRUE(r->Add(Bind("q", "a")));
  ASSERT_TRUE(r->Add(Bind("q", "b")));
  EXPECT_EQ(Routed(*r, "a"), (Names{"q"}));
  EXPECT_EQ(Routed(*r, "b"), (Names{"q"}));
  EXPECT_TRUE(r->Remove(Bind("q", "a")));
  EXPECT_EQ(Routed(*r, "a"), Names{});
  EXPECT_EQ(Routed(*r, "b"), (Names{"q"}));
}

TEST(DirectRoutingTest, BindingIdentityIsDestinationKeyAndArguments) {
  auto r = MakeRouter("direct");
  amqp::FieldTable args;
  args.Set("k", amqp::FieldValue::Long(1));
  EXPECT_TRUE(r->Add(Bind("q", "a")));
  EXPECT_FALSE(r->Add(Bind("q", "a")));
  EXPECT_TRUE(r->Add(Bind("q", "a", args)));               // other arguments: another binding
  EXPECT_TRUE(r->Add({{Kind::kExchange, "q"}, "a", {}}));  // an exchange named q
  EXPECT_EQ(r->size(), 3u);
  EXPECT_EQ(Routed(*r, "a"), (Names{"q", "q", "q"}));

  EXPECT_FALSE(r->Remove(Bind("q", "b")));
  EXPECT_FALSE(r->Remove(Bind("other", "a")));
  amqp::FieldTable other_args;
  other_args.Set("k", amqp::FieldValue::Long(2));
  EXPECT_FALSE(r->Remove(Bind("q", "a", other_args)));
  EXPECT_EQ(r->size(), 3u);

  EXPECT_TRUE(r->Remove(Bind("q", "a", args)));
  EXPECT_FALSE(r->Remove(Bind("q", "a", args)));
  EXPECT_EQ(r->size(), 2u);
}

TEST(DirectRoutingTest, RouteReportsTheDestinationKind) {
  auto r = MakeRouter("direct");
  ASSERT_TRUE(r->Add({{Kind::kExchange, "x2"}, "k", {}}));
  std::vector<const Destination*> out;
  r->Route("k", nullptr, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->kind, Kind::kExchange);
  EXPECT_EQ(out[0]->name, "x2");
}

TEST(DirectRoutingTest, RemoveDestinationRemovesEveryKeyOfThatDestination) {
  auto r = MakeRouter("direct");
  for (const char* key : {"a", "b", "c"}) ASSERT_TRUE(r->Add(Bind("gone", key)));
  ASSERT_TRUE(r->Add(Bind("stays", "a")));
  ASSERT_TRUE(r->Add({{Kind::kExchange, "gone"}, "a", {}}));
  EXPECT_EQ(r->RemoveDestination({Kind::kQueue, "gone"}), 3u);
  EXPECT_EQ(r->RemoveDestination({Kind::kQueue, "gone"}), 0u);
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ(Routed(*r, "a"), (Names{"gone", "stays"}));  // the exchange named "gone"
  EXPECT_EQ(Routed(*r, "b"), Names{});
}

TEST(DirectRoutingTest, ForEachVisitsEveryBinding) {
  auto r = MakeRouter("direct");
  ASSERT_TRUE(r->Add(Bind("q1", "a")));
  ASSERT_TRUE(r->Add(Bind("q2", "b")));
  ASSERT_TRUE(r->Add(Bind("q1", "b")));
  std::vector<std::string> seen;
  r->ForEach(
      [&](const BindingSpec& b) { seen.push_back(b.destination.name + "/" + b.routing_key); });
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (Names{"q1/a", "q1/b", "q2/b"}));
}

TEST(FanoutRoutingTest, RoutesToEveryBindingWhateverTheKey) {
  auto r = MakeRouter("fanout");
  ASSERT_TRUE(r->Add(Bind("q1", "")));
  ASSERT_TRUE(r->Add(Bind("q2", "ignored")));
  ASSERT_TRUE(r->Add({{Kind::kExchange, "x"}, "", {}}));
  for (const char* key : {"", "ignored", "anything.else", "#"})
    EXPECT_EQ(Routed(*r, key), (Names{"q1", "q2", "x"})) << key;
  amqp::FieldTable headers;
  headers.Set("a", amqp::FieldValue::Long(1));
  std::vector<const Destination*> out;
  r->Route("k", &headers, out);
  EXPECT_EQ(out.size(), 3u);
}

TEST(FanoutRoutingTest, AddRemoveAndRemoveDestination) {
  auto r = MakeRouter("fanout");
  EXPECT_EQ(Routed(*r, "k"), Names{});
  EXPECT_TRUE(r->Add(Bind("q1", "")));
  EXPECT_FALSE(r->Add(Bind("q1", "")));
  EXPECT_TRUE(r->Add(Bind("q1", "other")));  // same queue, another key: two bindings
  EXPECT_TRUE(r->Add(Bind("q2", "")));
  EXPECT_EQ(r->size(), 3u);
  EXPECT_EQ(Routed(*r, "k"), (Names{"q1", "q1", "q2"}));
  EXPECT_FALSE(r->Remove(Bind("q3", "")));
  EXPECT_TRUE(r->Remove(Bind("q1", "other")));
  EXPECT_EQ(Routed(*r, "k"), (Names{"q1", "q2"}));
  EXPECT_EQ(r->RemoveDestination({Kind::kQueue, "q1"}), 1u);
  EXPECT_EQ(r->size(), 1u);
  EXPECT_EQ(Routed(*r, "k"), (Names{"q2"}));
  int visited = 0;
  r->ForEach([&](const BindingSpec& b) {
    ++visited;
    EXPECT_EQ(b, Bind("q2", ""));
  });
  EXPECT_EQ(visited, 1);
}

}  // namespace
}  // namespace warren::core
