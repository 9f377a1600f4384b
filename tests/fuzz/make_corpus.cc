// Writes the fuzzer's seed corpus: a few short, valid client byte streams
// made with the codec's own encoders. Usage: warren_fuzz_corpus <dir>
// (tests/fuzz/corpus/ in the source tree; tests/unit/amqp/fuzz_corpus_test.cc
// checks that every seed still decodes).
#include <cstdio>
#include <fstream>
#include <string>

#include "amqp/frame.h"
#include "amqp/methods.h"
#include "amqp/properties.h"

namespace {

using namespace warren::amqp;

FieldTable EveryType() {
  FieldTable inner;
  inner.Set("k", FieldValue::Void());
  FieldTable t;
  t.Set("t", FieldValue::Bool(true));
  t.Set("b", FieldValue::Int(FieldType::kInt8, -1));
  t.Set("B", FieldValue::Int(FieldType::kUInt8, 200));
  t.Set("s", FieldValue::Int(FieldType::kInt16, -2));
  t.Set("u", FieldValue::Int(FieldType::kUInt16, 65000));
  t.Set("I", FieldValue::Int(FieldType::kInt32, -7));
  t.Set("i", FieldValue::Int(FieldType::kUInt32, 7));
  t.Set("l", FieldValue::Long(-9));
  t.Set("f", FieldValue{'f', 1.5f});
  t.Set("d", FieldValue{'d', 2.5});
  t.Set("D", FieldValue{'D', Decimal{2, 314}});
  t.Set("S", FieldValue::Str("str"));
  t.Set("x", FieldValue{'x', std::string("\0\x01", 2)});
  t.Set("A", FieldValue::Array({FieldValue::Str("a"), FieldValue::Int(FieldType::kInt32, 1)}));
  t.Set("T", FieldValue::Timestamp(1700000000));
  t.Set("F", FieldValue::Table(inner));
  t.Set("V", FieldValue::Void());
  return t;
}

std::string Handshake(std::string_view mechanism, std::string_view response) {
  std::string s(kProtocolHeader);
  ConnectionStartOk ok;
  FieldTable caps;
  caps.Set("publisher_confirms", FieldValue::Bool(true));
  ok.client_properties.Set("product", FieldValue::Str("seed"));
  ok.client_properties.Set("capabilities", FieldValue::Table(caps));
  ok.mechanism = mechanism;
  ok.response = response;
  ok.locale = "en_US";
  AppendMethodFrame(s, 0, ok);
  AppendMethodFrame(s, 0, ConnectionTuneOk{.channel_max = 2047, .frame_max = 131072,
                                           .heartbeat = 60});
  AppendMethodFrame(s, 0, ConnectionOpen{.virtual_host = "/"});
  AppendMethodFrame(s, 1, ChannelOpen{});
  return s;
}

std::string Amqplain() {
  FieldTable login;
  login.Set("LOGIN", FieldValue::Str("guest"));
  login.Set("PASSWORD", FieldValue::Str("guest"));
  std::string table;
  EncodeTable(login, table);
  return Handshake("AMQPLAIN", std::string_view(table).substr(4));  // no length prefix
}

std::string Declare() {
  std::string s;
  ExchangeDeclare x{.exchange = "logs", .type = "headers", .durable = true};
  x.arguments.Set("alternate-exchange", FieldValue::Str("ae"));
  AppendMethodFrame(s, 1, x);
  QueueDeclare q{.queue = "q", .durable = true, .auto_delete = true};
  q.arguments.Set("x-message-ttl", FieldValue::Int(FieldType::kInt32, 60000));
  q.arguments.Set("x-dead-letter-exchange", FieldValue::Str("dlx"));
  q.arguments.Set("x-max-priority", FieldValue::Int(FieldType::kUInt8, 10));
  AppendMethodFrame(s, 1, q);
  QueueBind b{.queue = "q", .exchange = "logs"};
  b.arguments.Set("x-match", FieldValue::Str("any"));
  b.arguments.Set("ids", FieldValue::Array({FieldValue::Long(1), FieldValue::Long(2)}));
  AppendMethodFrame(s, 1, b);
  AppendMethodFrame(s, 1, ExchangeBind{.destination = "d", .source = "logs", .routing_key = "#"});
  return s;
}

std::string Publish() {
  std::string s;
  AppendMethodFrame(s, 1, ConfirmSelect{});
  AppendMethodFrame(s, 1, BasicPublish{.exchange = "amq.direct", .routing_key = "rk",
                                       .mandatory = true});
  BasicProperties p;
  p.content_type = "text/plain";
  p.headers = EveryType();
  p.delivery_mode = 2;
  p.priority = 3;
  p.correlation_id = "c";
  p.reply_to = "amq.rabbitmq.reply-to";
  p.expiration = "60000";
  p.message_id = "m";
  p.timestamp = 1700000000;
  p.type = "t";
  p.user_id = "guest";
  p.app_id = "a";
  std::string raw;
  EncodeProperties(p, raw);
  // A tiny frame_max so the body spans three frames.
  AppendContent(s, 1, 60, raw, "hello world", kFrameOverhead + 5);
  return s;
}

std::string Consume() {
  std::string s;
  AppendMethodFrame(s, 1, BasicQos{.prefetch_count = 10});
  BasicConsume c{.queue = "q", .consumer_tag = "ctag", .exclusive = true};
  c.arguments.Set("x-priority", FieldValue::Int(FieldType::kInt32, 5));
  AppendMethodFrame(s, 1, c);
  AppendMethodFrame(s, 1, BasicAck{.delivery_tag = 3, .multiple = true});
  AppendMethodFrame(s, 1, BasicNack{.delivery_tag = 4, .multiple = false, .requeue = true});
  AppendMethodFrame(s, 1, BasicReject{.delivery_tag = 5});
  AppendMethodFrame(s, 1, BasicGet{.queue = "q", .no_ack = true});
  AppendMethodFrame(s, 1, BasicCancel{.consumer_tag = "ctag"});
  return s;
}

std::string Close() {
  std::string s;
  AppendHeartbeat(s);
  AppendMethodFrame(s, 1, TxSelect{});
  AppendMethodFrame(s, 1, TxCommit{});
  AppendMethodFrame(s, 1, ChannelFlow{.active = true});
  AppendMethodFrame(s, 1, ChannelClose{.reply_code = 200, .reply_text = "bye"});
  AppendMethodFrame(s, 0, ConnectionClose{.reply_code = 200, .reply_text = "bye"});
  AppendMethodFrame(s, 0, ConnectionCloseOk{});
  return s;
}

bool Write(const std::string& dir, const char* name, const std::string& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  bool ok = Write(dir, "handshake_plain", Handshake("PLAIN", std::string("\0guest\0guest", 12))) &&
            Write(dir, "handshake_amqplain", Amqplain()) && Write(dir, "declare", Declare()) &&
            Write(dir, "publish", Publish()) && Write(dir, "consume", Consume()) &&
            Write(dir, "close", Close());
  if (!ok) std::fprintf(stderr, "cannot write to %s\n", dir.c_str());
  return ok ? 0 : 1;
}
