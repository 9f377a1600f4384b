// What the Admin service does with text it must parse (JSON in arguments,
// policy definitions, message properties, definitions files) when the
// caller is a stranger, and when the text is hostile: nothing is parsed
// before the caller is authenticated, nesting is bounded, and whatever is
// accepted is recovered after a restart.
#include <string>

#include "admin/admin_fixture.h"
#include "amqp/field_table.h"

namespace warren::admin_test {
namespace {

class UntrustedInputTest : public ::testing::Test {
 protected:
  AdminNode node_;
};

// One call of each kind that carries JSON, with `json` in that field.
struct JsonCall {
  const char* name;
  grpc::Status (*call)(v1::Admin::Stub&, grpc::ClientContext*, const std::string& json);
};

const JsonCall kJsonCalls[] = {
    {"DeclareQueue",
     [](v1::Admin::Stub& s, grpc::ClientContext* c, const std::string& j) {
       v1::DeclareQueueRequest r;
       r.set_name("q");
       r.set_arguments(j);
       v1::DeclareResponse out;
       return s.DeclareQueue(c, r, &out);
     }},
    {"DeclareExchange",
     [](v1::Admin::Stub& s, grpc::ClientContext* c, const std::string& j) {
       v1::DeclareExchangeRequest r;
       r.set_name("x");
       r.set_type("direct");
       r.set_arguments(j);
       v1::DeclareResponse out;
       return s.DeclareExchange(c, r, &out);
     }},
    {"Bind",
     [](v1::Admin::Stub& s, grpc::ClientContext* c, const std::string& j) {
       v1::Binding r;
       r.set_source("amq.direct");
       r.set_destination("q");
       r.set_destination_kind("queue");
       r.set_arguments(j);
       v1::Empty out;
       return s.Bind(c, r, &out);
     }},
    {"SetPolicy",
     [](v1::Admin::Stub& s, grpc::ClientContext* c, const std::string& j) {
       v1::Policy r;
       r.set_name("p");
       r.set_pattern("^p");
       r.set_definition(j);
       v1::Empty out;
       return s.SetPolicy(c, r, &out);
     }},
    {"Publish",
     [](v1::Admin::Stub& s, grpc::ClientContext* c, const std::string& j) {
       v1::PublishRequest r;
       r.set_routing_key("q");
       r.set_payload("m");
       r.set_properties(j);
       v1::PublishResponse out;
       return s.Publish(c, r, &out);
     }},
    {"ImportDefinitions",
     [](v1::Admin::Stub& s, grpc::ClientContext* c, const std::string& j) {
       v1::Definitions r;
       r.set_json(j);
       v1::Empty out;
       return s.ImportDefinitions(c, r, &out);
     }},
};

TEST_F(UntrustedInputTest, StrangersAreRefusedBeforeTheirJsonIsRead) {
  // Text that is not JSON: answering "not valid JSON" would show it was
  // parsed for a caller who never proved who they are.
  const std::string hostile[] = {"{not json", std::string(30000, '[')};
  for (const JsonCall& k : kJsonCalls)
    for (const std::string& text : hostile) {
      for (const char* password : {"", "wrong"}) {
        auto ctx = AdminNode::As(*password ? "guest" : "", password);
        grpc::Status s = k.call(node_.stub(), ctx.get(), text);
        EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
            << k.name << ": " << s.error_message();
      }
    }
  // Still serving.
  v1::ListQueuesResponse queues;
  v1::ListRequest all;
  all.set_all_vhosts(true);
  EXPECT_TRUE(node_.stub().ListQueues(AdminNode::Guest().get(), all, &queues).ok());
}

TEST_F(UntrustedInputTest, DeepJsonIsAClearErrorForEveryCall) {
  for (const JsonCall& k : kJsonCalls) {
    for (const std::string& text : {std::string(30000, '['), NestedObjects(30000)}) {
      grpc::Status s = k.call(node_.stub(), AdminNode::Guest().get(), text);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << k.name;
      EXPECT_NE(s.error_message().find("nested deeper than"), std::string::npos)
          << k.name << ": " << s.error_message();
    }
  }
}

// A table of `depth` levels as the arguments of a durable queue: 64 is what
// the AMQP codec and the store's recovery read, so it is accepted and comes
// back after a restart; 65 is refused when declared, not lost later.
TEST_F(UntrustedInputTest, ArgumentsAcceptedAreArgumentsRecovered) {
  auto declare = [&](const std::string& name, int depth) {
    v1::DeclareQueueRequest r;
    r.set_name(name);
    r.set_durable(true);
    r.set_arguments(NestedObjects(depth));
    v1::DeclareResponse out;
    return node_.stub().DeclareQueue(AdminNode::Guest().get(), r, &out);
  };
  grpc::Status deep = declare("too-deep", amqp::kMaxTableDepth + 1);
  EXPECT_EQ(deep.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(deep.error_message().find("nested deeper than 64"), std::string::npos)
      << deep.error_message();
  ASSERT_TRUE(declare("deepest", amqp::kMaxTableDepth).ok());

  v1::PublishRequest p;
  p.set_routing_key("deepest");
  p.set_payload("kept");
  p.set_properties(R"({"delivery_mode":2,"headers":)" + NestedObjects(amqp::kMaxTableDepth) +
                   "}");
  v1::PublishResponse routed;
  ASSERT_TRUE(node_.stub().Publish(AdminNode::Guest().get(), p, &routed).ok());
  ASSERT_TRUE(routed.routed());
  p.set_properties(R"({"headers":)" + NestedObjects(amqp::kMaxTableDepth + 1) + "}");
  EXPECT_EQ(node_.stub().Publish(AdminNode::Guest().get(), p, &routed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  node_.Restart();
  v1::ListRequest all;
  all.set_all_vhosts(true);
  v1::ListQueuesResponse queues;
  ASSERT_TRUE(node_.stub().ListQueues(AdminNode::Guest().get(), all, &queues).ok());
  ASSERT_EQ(queues.queues_size(), 1);
  EXPECT_EQ(queues.queues(0).name(), "deepest");
  EXPECT_EQ(queues.queues(0).arguments(), NestedObjects(amqp::kMaxTableDepth));
  EXPECT_EQ(queues.queues(0).messages(), 1u);
}

TEST_F(UntrustedInputTest, WhatCannotBeStoredIsRefusedWhenDeclared) {
  const std::string long_name(256, 'n');
  v1::DeclareQueueRequest q;
  q.set_name(long_name);
  q.set_durable(true);
  v1::DeclareResponse out;
  grpc::Status s = node_.stub().DeclareQueue(AdminNode::Guest().get(), q, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();

  v1::DeclareExchangeRequest x;
  x.set_name(long_name);
  x.set_type("fanout");
  EXPECT_EQ(node_.stub().DeclareExchange(AdminNode::Guest().get(), x, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // A table key is a short string on the wire and on disk.
  q.set_name("long-key");
  q.set_arguments("{\"" + long_name + "\":1}");
  s = node_.stub().DeclareQueue(AdminNode::Guest().get(), q, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();

  q.set_name("bound");
  q.clear_arguments();
  ASSERT_TRUE(node_.stub().DeclareQueue(AdminNode::Guest().get(), q, &out).ok());
  v1::Binding b;
  b.set_source("amq.direct");
  b.set_destination("bound");
  b.set_destination_kind("queue");
  b.set_routing_key(long_name);
  v1::Empty empty;
  EXPECT_EQ(node_.stub().Bind(AdminNode::Guest().get(), b, &empty).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::PublishRequest p;
  p.set_routing_key(long_name);
  p.set_payload("m");
  v1::PublishResponse routed;
  EXPECT_EQ(node_.stub().Publish(AdminNode::Guest().get(), p, &routed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace warren::admin_test
