#include "balancer/stats_render.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "common/text.h"

namespace warren::balancer {

namespace {

// For HTML text and attribute values (either quote).
std::string Escape(const std::string& s) {
  std::string out;
  for (char c : ToUtf8(s)) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A Prometheus label value (text format: backslash, quote and newline escaped).
std::string Label(const std::string& s) {
  std::string out;
  for (char c : ToUtf8(s)) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Address(const HostPort& hp) { return hp.host + ":" + std::to_string(hp.port); }

std::string Time(int64_t t) {
  if (t == 0) return "-";
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(t);
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::gmtime(&tt));
  return buf;
}

nlohmann::json CountersJson(const Counters& c) {
  return {{"current_sessions", c.current}, {"total_sessions", c.total}, {"bytes_in", c.bytes_in},
          {"bytes_out", c.bytes_out}, {"errors", c.errors}};
}

std::string Row(const std::string& cls, const std::vector<std::string>& cells) {
  std::string out = "<tr class=\"" + cls + "\">";
  for (const auto& c : cells) out += "<td>" + c + "</td>";
  return out + "</tr>\n";
}

std::string Num(int64_t n) { return std::to_string(n); }

}  // namespace

std::string RenderJson(const Frontends& frontends) {
  nlohmann::json listeners = nlohmann::json::array();
  for (const auto& f : frontends) {
    nlohmann::json servers = nlohmann::json::array();
    for (const auto& s : f->pool().servers()) {
      nlohmann::json j = CountersJson(s->counters());
      j.update({{"name", s->name()}, {"address", Address(s->config().address)},
                {"state", s->up() ? "UP" : "DOWN"}, {"check", CheckName(s->config().check)},
                {"weight", s->config().weight}, {"backup", s->config().backup},
                {"state_changes", s->state_changes()},
                {"last_check", {{"ok", s->last_check_ok()}, {"detail", s->last_check()},
                                {"time", s->last_check_time()}}}});
      servers.push_back(std::move(j));
    }
    nlohmann::json j = CountersJson(f->counters());
    j.update({{"name", f->name()}, {"bind", f->config().bind.host + ":" + std::to_string(f->port())},
              {"balance", BalanceName(f->config().balance)}, {"servers", std::move(servers)}});
    listeners.push_back(std::move(j));
  }
  const LiveGauges& live = Live();
  nlohmann::json process = {{"sessions", live.sessions}, {"buffers", live.buffers},
                            {"buffered_bytes", live.buffered_bytes}};
  return nlohmann::json{{"listeners", std::move(listeners)}, {"process", std::move(process)}}
             .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string RenderHtml(const Frontends& frontends, Millis refresh, const std::string& uri) {
  std::string out =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"refresh\" content=\"" + Num(std::max<int64_t>(1, refresh.count() / 1000)) +
      "\">\n<title>warren-balancer</title>\n<style>\n"
      "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\n"
      "table{border-collapse:collapse;margin-bottom:2em}\n"
      "th,td{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:right}\n"
      "th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}\n"
      "tr.up td:nth-child(3){color:#1a7f37;font-weight:bold}\n"
      "tr.down td:nth-child(3){color:#c62828;font-weight:bold} tr.total{font-weight:bold}\n"
      "</style></head><body>\n<h1>warren-balancer</h1>\n<p>Generated " + Time(std::time(nullptr)) +
      " UTC; refreshes every " + Num(refresh.count()) + " ms. Also as <a href=\"" + Escape(uri) +
      "?format=json\">JSON</a> and <a href=\"/metrics\">Prometheus metrics</a>.</p>\n";
  for (const auto& f : frontends) {
    out += "<h2>" + Escape(f->name()) + " &mdash; " + Escape(f->config().bind.host) + ":" +
           Num(f->port()) + ", " + BalanceName(f->config().balance) + "</h2>\n<table>\n"
           "<tr><th>server</th><th>address</th><th>state</th><th>last check</th><th>checked at</th>"
           "<th>current</th><th>total</th><th>bytes in</th><th>bytes out</th><th>errors</th></tr>\n";
    for (const auto& s : f->pool().servers()) {
      const Counters& c = s->counters();
      std::string name = Escape(s->name()) + (s->config().backup ? " (backup)" : "");
      out += Row(s->up() ? "up" : "down",
                 {name, Escape(Address(s->config().address)), s->up() ? "UP" : "DOWN",
                  std::string(CheckName(s->config().check)) + ": " + Escape(s->last_check()),
                  Time(s->last_check_time()), Num(c.current), Num(c.total), Num(c.bytes_in),
                  Num(c.bytes_out), Num(c.errors)});
    }
    const Counters& c = f->counters();
    out += Row("total", {"listener", "", "", "", "", Num(c.current), Num(c.total), Num(c.bytes_in),
                         Num(c.bytes_out), Num(c.errors)});
    out += "</table>\n";
  }
  return out + "</body></html>\n";
}

std::string RenderPrometheus(const Frontends& frontends) {
  struct Metric {
    const char* name;
    const char* type;
    const char* help;
    int64_t (*get)(const Counters&);
  };
  static const Metric kMetrics[] = {
      {"current_sessions", "gauge", "Open client sessions", [](const Counters& c) { return c.current; }},
      {"sessions_total", "counter", "Sessions started", [](const Counters& c) { return c.total; }},
      {"bytes_in_total", "counter", "Bytes from clients", [](const Counters& c) { return c.bytes_in; }},
      {"bytes_out_total", "counter", "Bytes to clients", [](const Counters& c) { return c.bytes_out; }},
      {"errors_total", "counter", "Refused clients (listener) or failed connects (server)",
       [](const Counters& c) { return c.errors; }},
  };
  std::string out;
  for (const char* scope : {"listener", "server"}) {
    bool server = scope[0] == 's';
    for (const Metric& m : kMetrics) {
      std::string name = std::string("warren_balancer_") + scope + "_" + m.name;
      out += "# HELP " + name + " " + m.help + "\n# TYPE " + name + " " + m.type + "\n";
      for (const auto& f : frontends) {
        std::string labels = "listener=\"" + Label(f->name()) + "\"";
        if (!server) {
          out += name + "{" + labels + "} " + Num(m.get(f->counters())) + "\n";
          continue;
        }
        for (const auto& s : f->pool().servers())
          out += name + "{" + labels + ",server=\"" + Label(s->name()) + "\"} " +
                 Num(m.get(s->counters())) + "\n";
      }
    }
  }
  out += "# HELP warren_balancer_server_up 1 when the server passes its health checks\n"
         "# TYPE warren_balancer_server_up gauge\n";
  for (const auto& f : frontends)
    for (const auto& s : f->pool().servers())
      out += "warren_balancer_server_up{listener=\"" + Label(f->name()) + "\",server=\"" +
             Label(s->name()) + "\"} " + (s->up() ? "1" : "0") + "\n";
  const LiveGauges& live = Live();
  out += "# HELP warren_balancer_live_sessions Session objects alive, closed ones included until "
         "released\n# TYPE warren_balancer_live_sessions gauge\nwarren_balancer_live_sessions " +
         Num(live.sessions) + "\n";
  out += "# HELP warren_balancer_buffered_bytes Bytes held by forwarding buffers (a side slower "
         "than the other)\n# TYPE warren_balancer_buffered_bytes gauge\nwarren_balancer_buffered_bytes " +
         Num(live.buffered_bytes) + "\n";
  return out;
}

}  // namespace warren::balancer
