#include "perf/report.h"

#include <algorithm>
#include <cstdio>

namespace warren::perf {

namespace {

double Rate(uint64_t count, double seconds) { return seconds > 0 ? static_cast<double>(count) / seconds : 0; }

std::string Format(const char* fmt, auto... args) {
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, fmt, args...);
  return std::string(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += Format("\\u%04x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string ProgressLine(double elapsed, double interval, const Totals& now, const Totals& before, bool churn) {
  HistogramSnapshot latency = now.latency.Since(before.latency);
  std::string line = Format("time %.3f s, ", elapsed);
  if (churn) line += Format("connections %.0f/s, ", Rate(now.connections - before.connections, interval));
  line += Format("sent %.0f msg/s, received %.0f msg/s, latency p50 %.0f us p99 %.0f us",
                 Rate(now.published - before.published, interval),
                 Rate(now.consumed - before.consumed, interval), latency.Percentile(0.5),
                 latency.Percentile(0.99));
  return line;
}

std::string SummaryText(const Summary& s) {
  const Totals& t = s.totals;
  std::string out = Format("summary%s%s: %.3f s\n", s.id.empty() ? "" : " ", s.id.c_str(), s.seconds);
  out += Format("  published %llu, confirmed %llu, nacked %llu, returned %llu, consumed %llu\n",
                static_cast<unsigned long long>(t.published), static_cast<unsigned long long>(t.confirmed),
                static_cast<unsigned long long>(t.nacked), static_cast<unsigned long long>(t.returned),
                static_cast<unsigned long long>(t.consumed));
  out += Format("  publish rate %.0f msg/s, consume rate %.0f msg/s\n", Rate(t.published, s.seconds),
                Rate(t.consumed, s.seconds));
  if (s.churn)
    out += Format("  connections %llu, %.1f/s\n", static_cast<unsigned long long>(t.connections),
                  Rate(t.connections, s.seconds));
  out += Format("  latency p50 %.0f us, p95 %.0f us, p99 %.0f us, max %llu us\n", t.latency.Percentile(0.5),
                t.latency.Percentile(0.95), t.latency.Percentile(0.99),
                static_cast<unsigned long long>(t.latency.max));
  return out;
}

std::string SummaryJson(const Summary& s) {
  const Totals& t = s.totals;
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::string out = "{\"id\": " + JsonString(s.id);
  out += Format(", \"seconds\": %.3f", s.seconds);
  out += Format(", \"published\": %llu, \"confirmed\": %llu, \"nacked\": %llu, \"returned\": %llu, \"consumed\": %llu",
                u(t.published), u(t.confirmed), u(t.nacked), u(t.returned), u(t.consumed));
  out += Format(", \"publish_rate\": %.1f, \"consume_rate\": %.1f", Rate(t.published, s.seconds),
                Rate(t.consumed, s.seconds));
  out += Format(", \"connections\": %llu, \"connection_rate\": %.1f", u(t.connections),
                Rate(t.connections, s.seconds));
  out += Format(", \"latency_us\": {\"p50\": %.1f, \"p95\": %.1f, \"p99\": %.1f, \"max\": %llu}}\n",
                t.latency.Percentile(0.5), t.latency.Percentile(0.95), t.latency.Percentile(0.99),
                u(t.latency.max));
  return out;
}

}  // namespace warren::perf
