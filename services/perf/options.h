// warren-perf's command line, as RabbitMQ's PerfTest spells it (-x producers,
// -y consumers, -u queue, -h URI, ...). ParseOptions throws std::runtime_error
// with one clear line on a bad flag or URI; main prints it and exits 2.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace warren::perf {

// amqp://user:password@host:port/vhost, with %XX decoding (so %2F is "/");
// amqps:// is the same over TLS, port 5671 by default.
struct AmqpUri {
  bool tls = false;
  std::string user = "guest";
  std::string password = "guest";
  std::string host = "127.0.0.1";
  uint16_t port = 5672;
  std::string vhost = "/";
};

AmqpUri ParseAmqpUri(const std::string& text);

struct Options {
  std::string uri_text = "amqp://guest:guest@127.0.0.1:5672/%2F";
  AmqpUri uri;
  int producers = 1;
  int consumers = 1;
  uint32_t body_size = 12;
  std::vector<std::string> queues;  // from -u or the pattern, never empty
  std::string exchange;             // empty: the default exchange
  std::string exchange_type = "direct";
  std::string routing_key;
  bool routing_key_set = false;
  uint16_t qos = 0;
  uint32_t confirm = 0;          // publisher confirm window; 0 = no confirms
  uint32_t multi_ack_every = 0;  // 0 = ack each delivery
  bool autoack = false;
  bool persistent = false;
  bool mandatory = false;
  bool auto_delete = true;
  bool quorum = false;  // declare queues with x-queue-type: quorum (as PerfTest --quorum-queue)
  double rate = 0;     // per producer, msg/s; 0 = unlimited
  double seconds = 0;  // 0 = until the counts are reached (or a signal)
  uint64_t pmessages = 0;
  uint64_t cmessages = 0;
  int channels_per_connection = 1;
  int topic_bindings = 0;
  bool churn = false;
  // amqps: the CA file that signs the broker's certificate (the system's
  // CAs when empty), an optional client certificate and key, and whether
  // the certificate (and that it names the URI's host) is checked at all.
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  bool tls_no_verify = false;
  std::string json_path;
  int threads = 1;
  std::string id;
};

// Throws std::runtime_error on a bad flag, value or URI. Returns false when
// --help or --version was answered and the program should exit 0.
bool ParseOptions(int argc, char** argv, Options& out);

}  // namespace warren::perf
