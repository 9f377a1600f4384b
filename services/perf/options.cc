#include "perf/options.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <stdexcept>

#ifndef WARREN_VERSION
#define WARREN_VERSION "0.0.0"
#endif

namespace warren::perf {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view in, const std::string& uri) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    int hi = i + 2 < in.size() ? HexDigit(in[i + 1]) : -1;
    int lo = i + 2 < in.size() ? HexDigit(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) throw std::runtime_error("bad %-escape in URI " + uri);
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

void ExpandQueues(Options& o, const std::string& queue, const std::string& pattern, int from, int to) {
  if (pattern.empty()) {
    o.queues = {queue};
    return;
  }
  size_t at = pattern.find("%d");
  if (at == std::string::npos || pattern.find('%', at + 2) != std::string::npos)
    throw std::runtime_error("--queue-pattern needs exactly one %d, got \"" + pattern + "\"");
  if (from > to) throw std::runtime_error("--queue-pattern-from is above --queue-pattern-to");
  for (int i = from; i <= to; ++i)
    o.queues.push_back(pattern.substr(0, at) + std::to_string(i) + pattern.substr(at + 2));
}

void Validate(const Options& o) {
  if (o.body_size < 12) throw std::runtime_error("--size must be at least 12 bytes (timestamp + producer id)");
  if (o.producers < 0 || o.consumers < 0) throw std::runtime_error("-x and -y cannot be negative");
  if (o.channels_per_connection < 1 || o.channels_per_connection > 2047)
    throw std::runtime_error("--channels-per-connection must be in 1..2047");
  if (o.threads < 1 || o.threads > 64) throw std::runtime_error("--threads must be in 1..64");
  if (o.topic_bindings < 0) throw std::runtime_error("--topic-bindings cannot be negative");
  if (o.topic_bindings > 0 && o.exchange_type != "topic")
    throw std::runtime_error("--topic-bindings needs -t topic");
  if (o.topic_bindings > 0 && o.exchange.empty())
    throw std::runtime_error("--topic-bindings needs an exchange (-e)");
  if (o.rate < 0 || o.seconds < 0) throw std::runtime_error("--rate and --time cannot be negative");
  bool tls_flags = !o.tls_ca_file.empty() || !o.tls_cert_file.empty() || !o.tls_key_file.empty() ||
                   o.tls_no_verify;
  if (tls_flags && !o.uri.tls) throw std::runtime_error("--tls-* options need an amqps:// URI");
  if (o.tls_cert_file.empty() != o.tls_key_file.empty())
    throw std::runtime_error("--tls-cert and --tls-key go together");
}

}  // namespace

AmqpUri ParseAmqpUri(const std::string& text) {
  AmqpUri uri;
  uri.tls = text.rfind("amqps://", 0) == 0;
  if (!uri.tls && text.rfind("amqp://", 0) != 0)
    throw std::runtime_error("URI must start with amqp:// or amqps://, got \"" + text + "\"");
  if (uri.tls) uri.port = 5671;
  std::string_view rest = std::string_view(text).substr(uri.tls ? 8 : 7);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash + 1);
    if (path.find('/') != std::string_view::npos || path.find('?') != std::string_view::npos)
      throw std::runtime_error("URI path must be one vhost segment (use %2F for /): " + text);
    uri.vhost = PercentDecode(path, text);
  }
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    uri.user = PercentDecode(userinfo.substr(0, colon), text);
    uri.password = colon == std::string_view::npos ? "" : PercentDecode(userinfo.substr(colon + 1), text);
  }
  std::string_view host = authority;
  if (size_t colon = authority.rfind(':'); colon != std::string_view::npos && authority.back() != ']') {
    host = authority.substr(0, colon);
    std::string port(authority.substr(colon + 1));
    char* end = nullptr;
    long value = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || value < 1 || value > 65535)
      throw std::runtime_error("bad port \"" + port + "\" in URI " + text);
    uri.port = static_cast<uint16_t>(value);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (!host.empty()) uri.host = PercentDecode(host, text);
  return uri;
}

bool ParseOptions(int argc, char** argv, Options& o) {
  CLI::App app{"warren-perf: an AMQP 0-9-1 load generator in the manner of PerfTest", "warren-perf"};
  app.set_help_flag("--help", "print this help and exit");
  app.set_version_flag("--version", WARREN_VERSION);
  std::string queue = "perf-test", pattern;
  int from = 1, to = 1;
  std::vector<std::string> flags;
  std::string auto_delete = "true";
  app.add_option("-h,--uri", o.uri_text, "amqp[s]://user:password@host:port/vhost")->capture_default_str();
  app.add_option("--tls-ca", o.tls_ca_file, "amqps: PEM CAs that sign the broker's certificate (default: the system's)");
  app.add_option("--tls-cert", o.tls_cert_file, "amqps: PEM client certificate (with --tls-key)");
  app.add_option("--tls-key", o.tls_key_file, "amqps: PEM key of --tls-cert");
  app.add_flag("--tls-no-verify", o.tls_no_verify, "amqps: accept any server certificate");
  app.add_option("-x,--producers", o.producers, "producer count")->capture_default_str();
  app.add_option("-y,--consumers", o.consumers, "consumer count")->capture_default_str();
  app.add_option("-s,--size", o.body_size, "message body bytes (at least 12)")->capture_default_str();
  app.add_option("-u,--queue", queue, "queue name")->capture_default_str();
  app.add_option("--queue-pattern", pattern, "queue name pattern with one %d, e.g. perf-%d");
  app.add_option("--queue-pattern-from", from, "first queue number of the pattern")->capture_default_str();
  app.add_option("--queue-pattern-to", to, "last queue number of the pattern")->capture_default_str();
  app.add_option("-e,--exchange", o.exchange, "exchange (empty: the default exchange)");
  app.add_option("-t,--type", o.exchange_type, "exchange type")
      ->check(CLI::IsMember({"direct", "fanout", "topic", "headers"}))
      ->capture_default_str();
  auto* key = app.add_option("-k,--routing-key", o.routing_key, "routing key (default: the queue name)");
  app.add_option("-q,--qos", o.qos, "consumer prefetch count (0: none)")->capture_default_str();
  app.add_option("-c,--confirm", o.confirm, "publisher confirm window per producer (0: no confirms)");
  app.add_option("-A,--multi-ack-every", o.multi_ack_every, "ack with multiple=true every N messages");
  app.add_flag("-a,--autoack", o.autoack, "consume with no-ack");
  app.add_option("-f,--flag", flags, "message flags: persistent, mandatory")
      ->check(CLI::IsMember({"persistent", "mandatory"}));
  app.add_flag("--persistent", o.persistent, "delivery-mode 2 (same as -f persistent)");
  app.add_option("--auto-delete", auto_delete, "declare queues auto-delete")
      ->check(CLI::IsMember({"true", "false"}))
      ->capture_default_str();
  app.add_flag("--quorum-queue", o.quorum,
               "declare queues x-queue-type: quorum (replicated; never auto-delete)");
  app.add_option("-r,--rate", o.rate, "messages/s per producer (0: unlimited)");
  app.add_option("-z,--time", o.seconds, "run time in seconds (0: until the counts are reached)");
  app.add_option("-C,--pmessages", o.pmessages, "messages per producer (churn: cycles per producer)");
  app.add_option("-D,--cmessages", o.cmessages, "messages per consumer");
  app.add_option("--channels-per-connection", o.channels_per_connection, "channels per connection")
      ->capture_default_str();
  app.add_option("--topic-bindings", o.topic_bindings, "bind each queue with N topic patterns");
  app.add_flag("--churn", o.churn, "connection churn: connect, publish one confirmed message, close");
  app.add_option("--json", o.json_path, "write the summary as JSON to FILE");
  app.add_option("--threads", o.threads, "event loop threads")->capture_default_str();
  app.add_option("--id", o.id, "label for the run");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    app.exit(e);
    return false;
  } catch (const CLI::ParseError& e) {
    throw std::runtime_error(e.what());
  }
  for (const auto& f : flags) (f == "persistent" ? o.persistent : o.mandatory) = true;
  o.auto_delete = auto_delete == "true" && !o.quorum;
  o.routing_key_set = key->count() > 0;
  o.uri = ParseAmqpUri(o.uri_text);
  ExpandQueues(o, queue, pattern, from, to);
  Validate(o);
  return true;
}

}  // namespace warren::perf
