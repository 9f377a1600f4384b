// Hostile and out-of-order frames on an open connection. Each case must close
// the connection with the right hard-error code (spec 1.8.2 reply codes, as
// RabbitMQ picks them), close the socket, and leave the node serving new
// connections: every case runs against the same node, one after another.
#include <gtest/gtest.h>

#include "frame_harness.h"

namespace warren::protocol_test {
namespace {

using amqp::ReplyCode;
using Ids = std::pair<uint16_t, uint16_t>;

struct Hostile {
  const char* name;
  std::string bytes;
  ReplyCode code;
  // Class and method ids the close must name; unset where any will do.
  std::optional<Ids> ids;
  uint16_t negotiated_channel_max = 0;  // 0: accept the server's
  uint32_t negotiated_frame_max = 0;
};

void PrintTo(const Hostile& h, std::ostream* os) { *os << h.name; }

class HostileFrameTest : public ::testing::TestWithParam<Hostile> {
 protected:
  static void SetUpTestSuite() { node_ = new TestNode(); }
  static void TearDownTestSuite() {
    delete node_;
    node_ = nullptr;
  }
  static TestNode* node_;
};

TestNode* HostileFrameTest::node_ = nullptr;

TEST_P(HostileFrameTest, ClosesConnectionWithTheRightCodeAndNodeSurvives) {
  const Hostile& h = GetParam();
  {
    RawClient c(node_->port());
    Login login;
    if (h.negotiated_channel_max) login.channel_max = h.negotiated_channel_max;
    if (h.negotiated_frame_max) login.frame_max = h.negotiated_frame_max;
    ASSERT_TRUE(c.Handshake(login));
    ASSERT_TRUE(c.OpenChannel(1));
    ASSERT_TRUE(c.DeclareQueue(1, "q"));
    c.Send(h.bytes);
    std::optional<uint16_t> class_id, method_id;
    if (h.ids) {
      class_id = h.ids->first;
      method_id = h.ids->second;
    }
    EXPECT_TRUE(c.ExpectConnectionClose(static_cast<uint16_t>(h.code), class_id, method_id));
    c.SendMethod(0, amqp::ConnectionCloseOk{});
    EXPECT_TRUE(c.WaitEof()) << "socket still open after connection.close";
  }
  EXPECT_TRUE(NodeServes(node_->port())) << "after " << h.name;
}

std::string QueueDeclareWithTable(uint16_t channel, std::string_view table) {
  return RawFrame(amqp::kFrameMethod, channel,
                  MethodPayload(50, 10, QueueDeclareArgs("q", table)));
}

std::string QueueDeclareFrame(uint16_t channel) {
  return QueueDeclareWithTable(channel, std::string(4, '\0'));
}

std::string PublishMethod(uint16_t channel, bool immediate = false) {
  amqp::BasicPublish p;
  p.routing_key = "q";
  p.immediate = immediate;
  return MethodFrame(channel, p);
}

std::string Header(uint16_t channel, uint64_t body_size, uint16_t class_id = 60,
                   uint16_t weight = 0) {
  std::string payload;
  amqp::Writer w(payload);
  w.U16(class_id);
  w.U16(weight);
  w.U64(body_size);
  w.U16(0);
  return RawFrame(amqp::kFrameHeader, channel, payload);
}

std::string Body(uint16_t channel, std::string_view bytes) {
  return RawFrame(amqp::kFrameBody, channel, bytes);
}

std::string BasicQos(uint32_t prefetch_size) {
  std::string args;
  amqp::Writer w(args);
  w.U32(prefetch_size);
  w.U16(10);
  w.U8(0);
  return RawFrame(amqp::kFrameMethod, 1, MethodPayload(60, 10, args));
}

// A field table of `levels` tables, each the only value ("n") of the one
// outside it (the outermost is level 1, the innermost is empty), written
// outside in: level k's length field counts the 7 octets of each entry
// inside it.
std::string NestedTable(int levels) {
  std::string out;
  amqp::Writer w(out);
  for (int k = levels; k > 1; --k) {
    w.U32(static_cast<uint32_t>(7 * (k - 1)));
    w.Bytes(std::string_view("\x01nF", 3));
  }
  w.U32(0);
  return out;
}

// A content header whose headers property is `table`.
std::string HeaderWithHeadersTable(uint16_t channel, uint64_t body_size, std::string_view table) {
  std::string payload;
  amqp::Writer w(payload);
  w.U16(60);
  w.U16(0);
  w.U64(body_size);
  w.U16(1 << 13);  // headers only
  w.Bytes(table);
  return RawFrame(amqp::kFrameHeader, channel, payload);
}

// A content header with property flag words chained past the first
// (continuation bit) whose later word sets a property basic does not have.
std::string HeaderWithBogusFlagWord(uint16_t channel) {
  std::string payload;
  amqp::Writer w(payload);
  w.U16(60);
  w.U16(0);
  w.U64(0);
  w.U16(1);       // no property, continued
  w.U16(1 << 8);  // a 15th+ property
  return RawFrame(amqp::kFrameHeader, channel, payload);
}

constexpr Ids kNoMethod{0, 0};
constexpr Ids kQueueDeclare{50, 10};
constexpr Ids kBasicPublish{60, 40};

// The deepest table the decoder takes passes (and shows NestedTable builds
// well-formed tables, so the cases below fail for their depth alone).
TEST_F(HostileFrameTest, TableAtTheDepthLimitIsAccepted) {
  RawClient c(node_->port());
  ASSERT_TRUE(c.Handshake());
  ASSERT_TRUE(c.OpenChannel(1));
  c.Send(RawFrame(amqp::kFrameMethod, 1,
                  MethodPayload(50, 10, QueueDeclareArgs("deep", NestedTable(amqp::kMaxTableDepth)))));
  EXPECT_TRUE(c.Expect<amqp::QueueDeclareOk>(1));
  c.Send(PublishMethod(1) + HeaderWithHeadersTable(1, 0, NestedTable(amqp::kMaxTableDepth)));
  EXPECT_TRUE(c.DeclareQueue(1, "still-open"));
}

INSTANTIATE_TEST_SUITE_P(
    Frames, HostileFrameTest,
    ::testing::Values(
        // Framing (spec 4.2.3): the stream has lost its frame boundaries.
        Hostile{"bad_frame_end", RawFrame(1, 1, MethodPayload(60, 10, std::string(7, '\0')), 'X'),
                ReplyCode::kFrameError, kNoMethod},
        Hostile{"frame_larger_than_frame_max", Body(1, std::string(131073, 'x')),
                ReplyCode::kFrameError, kNoMethod},
        Hostile{"frame_larger_than_negotiated_frame_max", Body(1, std::string(4097, 'x')),
                ReplyCode::kFrameError, kNoMethod, 0, 4096},
        Hostile{"frame_size_4_gib", FrameHeaderOnly(3, 1, 0xFFFFFFFF), ReplyCode::kFrameError,
                kNoMethod},
        Hostile{"unknown_frame_type_7", RawFrame(7, 1, "abcd"), ReplyCode::kFrameError,
                kNoMethod},
        Hostile{"oob_method_frame_type_4", RawFrame(4, 1, "abcd"), ReplyCode::kFrameError,
                kNoMethod},
        Hostile{"frame_type_0", RawFrame(0, 1, "abcd"), ReplyCode::kFrameError, kNoMethod},
        // RabbitMQ: a heartbeat frame must be empty, or it is an unknown frame.
        Hostile{"heartbeat_with_payload", RawFrame(8, 0, "xx"), ReplyCode::kFrameError,
                kNoMethod},

        // Methods that cannot be decoded.
        Hostile{"unknown_method", RawFrame(1, 1, MethodPayload(60, 999, "")),
                ReplyCode::kNotImplemented, std::nullopt},
        Hostile{"unknown_class", RawFrame(1, 1, MethodPayload(77, 10, "")),
                ReplyCode::kNotImplemented, std::nullopt},
        Hostile{"method_payload_shorter_than_ids", RawFrame(1, 1, std::string("\0\x3c", 2)),
                ReplyCode::kFrameError, kNoMethod},
        Hostile{"truncated_arguments",
                RawFrame(1, 1, MethodPayload(50, 10, std::string("\0\0\5ab", 5))),
                ReplyCode::kFrameError, kQueueDeclare},
        Hostile{"truncated_field_table",
                QueueDeclareWithTable(1, std::string("\0\0\0\x10" "abc", 7)),
                ReplyCode::kFrameError, kQueueDeclare},
        Hostile{"field_table_entry_overruns_table",
                QueueDeclareWithTable(1, std::string("\0\0\0\x05\x01kS\0\0\0\x09xy", 14)),
                ReplyCode::kFrameError, kQueueDeclare},
        Hostile{"unknown_field_type",
                QueueDeclareWithTable(1, std::string("\0\0\0\x03\x01kZ", 7)),
                ReplyCode::kFrameError, kQueueDeclare},
        // Nesting past amqp::kMaxTableDepth, in method arguments and in
        // message properties: refused while decoding, before anything walks it.
        Hostile{"field_table_nested_too_deep",
                QueueDeclareWithTable(1, NestedTable(amqp::kMaxTableDepth + 1)),
                ReplyCode::kFrameError, kQueueDeclare},
        Hostile{"field_table_nested_far_too_deep",
                QueueDeclareWithTable(1, NestedTable(10000)), ReplyCode::kFrameError,
                kQueueDeclare},
        Hostile{"headers_property_nested_too_deep",
                PublishMethod(1) +
                    HeaderWithHeadersTable(1, 0, NestedTable(amqp::kMaxTableDepth + 1)),
                ReplyCode::kFrameError, kBasicPublish},
        Hostile{"property_flags_beyond_basic", PublishMethod(1) + HeaderWithBogusFlagWord(1),
                ReplyCode::kFrameError, kBasicPublish},
        Hostile{"trailing_bytes_after_arguments",
                RawFrame(1, 1, MethodPayload(60, 10, std::string("\0\0\0\0\0\x0a\0\xff", 8))),
                ReplyCode::kFrameError, Ids{60, 10}},

        // Channel state (spec 4.2.2 channel.open; RabbitMQ's CHANNEL_ERROR).
        Hostile{"method_on_unopened_channel", QueueDeclareFrame(5), ReplyCode::kChannelError,
                kQueueDeclare},
        Hostile{"second_channel_open", MethodFrame(1, amqp::ChannelOpen{}),
                ReplyCode::kChannelError, Ids{20, 10}},
        Hostile{"channel_open_on_channel_zero", MethodFrame(0, amqp::ChannelOpen{}),
                ReplyCode::kChannelError, Ids{20, 10}},
        Hostile{"connection_method_on_a_channel",
                MethodFrame(1, amqp::ConnectionTuneOk{2047, 131072, 0}),
                ReplyCode::kCommandInvalid, Ids{10, 31}},
        Hostile{"channel_above_channel_max", MethodFrame(2048, amqp::ChannelOpen{}),
                ReplyCode::kNotAllowed, std::nullopt},
        Hostile{"channel_above_negotiated_channel_max", MethodFrame(11, amqp::ChannelOpen{}),
                ReplyCode::kNotAllowed, std::nullopt, 10},

        // Content sequencing (spec 4.2.6).
        Hostile{"header_without_publish", Header(1, 0), ReplyCode::kUnexpectedFrame, kNoMethod},
        Hostile{"body_without_publish", Body(1, "abc"), ReplyCode::kUnexpectedFrame, kNoMethod},
        Hostile{"header_on_unopened_channel", Header(7, 0), ReplyCode::kUnexpectedFrame,
                kNoMethod},
        Hostile{"header_on_channel_zero", Header(0, 0), ReplyCode::kUnexpectedFrame, kNoMethod},
        Hostile{"body_on_channel_zero", Body(0, "abc"), ReplyCode::kUnexpectedFrame, kNoMethod},
        Hostile{"heartbeat_on_a_channel", RawFrame(8, 1, ""), ReplyCode::kUnexpectedFrame,
                kNoMethod},
        Hostile{"method_where_header_expected", PublishMethod(1) + QueueDeclareFrame(1),
                ReplyCode::kUnexpectedFrame, kBasicPublish},
        Hostile{"body_where_header_expected", PublishMethod(1) + Body(1, "abc"),
                ReplyCode::kUnexpectedFrame, kBasicPublish},
        Hostile{"method_where_body_expected",
                PublishMethod(1) + Header(1, 5) + QueueDeclareFrame(1),
                ReplyCode::kUnexpectedFrame, kBasicPublish},
        Hostile{"second_header", PublishMethod(1) + Header(1, 5) + Header(1, 5),
                ReplyCode::kUnexpectedFrame, kBasicPublish},
        Hostile{"header_for_another_class", PublishMethod(1) + Header(1, 0, 50),
                ReplyCode::kUnexpectedFrame, kBasicPublish},
        // Spec 4.2.6.1: "The weight field is unused and must be zero."
        Hostile{"header_weight_not_zero", PublishMethod(1) + Header(1, 0, 60, 1),
                ReplyCode::kUnexpectedFrame, kBasicPublish},
        Hostile{"body_longer_than_header", PublishMethod(1) + Header(1, 2) + Body(1, "abcd"),
                ReplyCode::kFrameError, kBasicPublish},
        Hostile{"bodies_add_up_past_header",
                PublishMethod(1) + Header(1, 5) + Body(1, "abc") + Body(1, "def"),
                ReplyCode::kFrameError, kBasicPublish},

        // What RabbitMQ does not implement.
        Hostile{"publish_immediate", PublishMethod(1, true) + Header(1, 3) + Body(1, "abc"),
                ReplyCode::kNotImplemented, kBasicPublish},
        Hostile{"qos_prefetch_size", BasicQos(10), ReplyCode::kNotImplemented, Ids{60, 10}}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace warren::protocol_test
