#include "mgmt/rates.h"

#include <algorithm>
#include <charconv>

#include "common/log.h"
#include "mgmt/body.h"

namespace warren::mgmt {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------
// Ranges

constexpr const char* kFamilyNames[kRangeFamilies] = {"msg_rates", "lengths", "data_rates",
                                                      "node_stats"};
// Ages beyond this (seconds, ~31 years) are as bad as negative ones: their
// milliseconds would not fit.
constexpr int64_t kMaxAgeSeconds = 1'000'000'000;

const std::string* QueryValue(const QueryParams& query, const std::string& name) {
  for (const auto& [k, v] : query)
    if (k == name) return &v;
  return nullptr;
}

bool Integer(const std::string& text, int64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end && !text.empty();
}

// ---------------------------------------------------------------------------
// What is sampled: the kinds of object, and each sampled key's place.

enum Kind : size_t { kOverview, kNode, kQueue, kExchange, kChannel, kConnection, kVHost, kNone };

constexpr unsigned Bit(Kind k) { return 1u << k; }
constexpr unsigned kMessageStatsKinds =
    Bit(kOverview) | Bit(kQueue) | Bit(kExchange) | Bit(kChannel) | Bit(kVHost);

struct Stat {
  const char* parent;  // "" for the object itself
  const char* key;
  RangeFamily family;
  unsigned kinds;
  bool neutral = false;  // a node figure Warren has none of: 0 when absent
};

std::vector<Stat> MakeStats() {
  std::vector<Stat> out;
  for (const char* k :
       {"publish", "publish_in", "publish_out", "confirm", "deliver", "deliver_no_ack", "get",
        "get_no_ack", "deliver_get", "redeliver", "ack", "return_unroutable", "drop_unroutable",
        "get_empty", "disk_reads", "disk_writes"})
    out.push_back({"message_stats", k, RangeFamily::kMsgRates, kMessageStatsKinds});
  for (const char* k : {"messages", "messages_ready", "messages_unacknowledged"}) {
    out.push_back({"", k, RangeFamily::kLengths, Bit(kQueue) | Bit(kVHost)});
    out.push_back({"queue_totals", k, RangeFamily::kLengths, Bit(kOverview)});
  }
  for (const char* k : {"connection_created", "connection_closed", "channel_created",
                        "channel_closed", "queue_declared", "queue_created", "queue_deleted"})
    out.push_back({"churn_rates", k, RangeFamily::kLengths, Bit(kOverview)});  // as RabbitMQ
  for (const char* k : {"recv_oct", "send_oct"})
    out.push_back({"", k, RangeFamily::kDataRates, Bit(kConnection) | Bit(kVHost)});
  out.push_back({"", "reductions", RangeFamily::kDataRates,
                 Bit(kQueue) | Bit(kChannel) | Bit(kConnection)});
  // A node's own churn counts.
  for (const char* k : {"connection_created", "connection_closed", "channel_created",
                        "channel_closed", "queue_declared", "queue_created", "queue_deleted"})
    out.push_back({"", k, RangeFamily::kNodeStats, Bit(kNode)});
  for (const char* k : {"mem_used", "fd_used", "sockets_used", "proc_used", "disk_free"})
    out.push_back({"", k, RangeFamily::kNodeStats, Bit(kNode)});
  for (const char* k :
       {"gc_num", "gc_bytes_reclaimed", "context_switches", "io_read_count", "io_read_bytes",
        "io_write_count", "io_write_bytes", "io_sync_count", "io_seek_count", "io_reopen_count",
        "mnesia_ram_tx_count", "mnesia_disk_tx_count", "msg_store_read_count",
        "msg_store_write_count", "queue_index_write_count", "queue_index_read_count"})
    out.push_back({"", k, RangeFamily::kNodeStats, Bit(kNode), true});
  return out;
}

const std::vector<Stat>& Stats() {
  static const std::vector<Stat> stats = MakeStats();
  return stats;
}

// The routes whose answers hold objects of a kind, by path.
Kind KindOf(const std::vector<std::string>& p) {
  if (p.size() < 2 || p[0] != "api") return kNone;
  const std::string& top = p[1];
  const size_t n = p.size();
  if (top == "overview" && n == 2) return kOverview;
  if (top == "nodes" && n <= 3) return kNode;
  if (top == "queues" && n <= 4) return kQueue;
  if (top == "exchanges" && n <= 4) return kExchange;
  if (top == "channels" && n <= 3) return kChannel;
  if (top == "connections") {
    if (n <= 3 || (n == 4 && p[2] == "username")) return kConnection;
    if (n == 4 && p[3] == "channels") return kChannel;
  }
  if (top == "vhosts") {
    if (n <= 3) return kVHost;
    if (n == 4 && p[3] == "channels") return kChannel;
    if (n == 4 && p[3] == "connections") return kConnection;
  }
  return kNone;
}

// What the sampler asks for, one route per kind.
constexpr std::pair<Kind, const char*> kSampledRoutes[] = {
    {kOverview, "/api/overview"},       {kNode, "/api/nodes"},
    {kQueue, "/api/queues"},            {kExchange, "/api/exchanges"},
    {kChannel, "/api/channels"},        {kConnection, "/api/connections"},
    {kVHost, "/api/vhosts"}};

// An object's identity within its kind.
std::string KeyOf(Kind kind, const json& item) {
  auto text = [&](const char* field) {
    auto it = item.find(field);
    return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  switch (kind) {
    case kOverview:
      return "";
    case kQueue:
    case kExchange:
      return text("vhost") + '\0' + text("name");
    default:
      return text("name");
  }
}

json* Parent(json& item, const Stat& s) {
  if (!*s.parent) return &item;
  auto it = item.find(s.parent);
  return it != item.end() && it->is_object() ? &*it : nullptr;
}

bool Number(const json& parent, const char* key, int64_t& out) {
  auto it = parent.find(key);
  if (it == parent.end()) return false;
  if (it->is_number_unsigned()) out = static_cast<int64_t>(it->get<uint64_t>());
  else if (it->is_number_integer()) out = it->get<int64_t>();
  else return false;
  return true;
}

// A full node (the one asked, not a member known by name only) shows 0 for
// what Warren has none of, as RabbitMQ shows those figures.
void FillNeutral(Kind kind, json& item) {
  if (kind != kNode || !item.is_object() || !item.contains("mem_used")) return;
  for (const Stat& s : Stats())
    if (s.neutral && !item.contains(s.key)) item[s.key] = 0;
}

// A node's average I/O times: not rates but averages, which RabbitMQ's
// details repeat (rate, avg_rate, avg: the average itself). Warren's are 0.
void AddAverageTimeDetails(Kind kind, json& item, const std::optional<Range>& range) {
  if (kind != kNode || !item.is_object()) return;
  for (const char* k :
       {"io_read_avg_time", "io_write_avg_time", "io_sync_avg_time", "io_seek_avg_time"}) {
    auto it = item.find(k);
    if (it == item.end() || !it->is_number()) continue;
    const double avg = it->get<double>();
    json d = {{"rate", avg}};
    if (range) d.update({{"samples", json::array()}, {"avg_rate", avg}, {"avg", avg}});
    item[std::string(k) + "_details"] = std::move(d);
  }
}

// The stats of `item` that are sampled, and their values.
void Sampled(Kind kind, json& item, std::vector<size_t>& stats, std::vector<int64_t>& row) {
  stats.clear();
  row.clear();
  if (!item.is_object()) return;
  FillNeutral(kind, item);
  const auto& all = Stats();
  for (size_t i = 0; i < all.size(); ++i) {
    if (!(all[i].kinds & Bit(kind))) continue;
    const json* parent = Parent(item, all[i]);
    int64_t v = 0;
    if (parent && Number(*parent, all[i].key, v)) {
      stats.push_back(i);
      row.push_back(v);
    }
  }
}

// The objects of an answer: a list's items (paged or not) or the one object.
std::vector<json*> Objects(json& body) {
  std::vector<json*> out;
  json* list = &body;
  if (body.is_object() && body.contains("items") && body["items"].is_array()) list = &body["items"];
  if (list->is_array()) {
    for (auto& item : *list) out.push_back(&item);
  } else if (list->is_object()) {
    out.push_back(list);
  }
  return out;
}

}  // namespace

std::optional<std::string> ParseRanges(const QueryParams& query, Ranges& out) {
  for (size_t f = 0; f < kRangeFamilies; ++f) {
    out[f].reset();
    const std::string prefix = kFamilyNames[f];
    const std::string* age_text = QueryValue(query, prefix + "_age");
    const std::string* incr_text = QueryValue(query, prefix + "_incr");
    if (!age_text && !incr_text) continue;
    int64_t age = 0, incr = 0;
    bool age_ok = !age_text || Integer(*age_text, age);
    bool incr_ok = !incr_text || Integer(*incr_text, incr);
    if (age_ok && incr_ok && (!age_text || !incr_text)) continue;  // one alone: no range
    if (!age_ok || !incr_ok || age <= 0 || incr <= 0 || age > kMaxAgeSeconds ||
        age / incr > kMaxRangeSamples)
      return "Invalid range parameters: age " + (age_text ? *age_text : "") + ", incr " +
             (incr_text ? *incr_text : "");
    out[f] = Range{age * 1000, incr * 1000};
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// SampleRing and the arithmetic

SampleRing::SampleRing(size_t columns, size_t capacity)
    : columns_(columns), capacity_(std::max<size_t>(capacity, 2)),
      data_(capacity_ * (1 + columns)) {}

void SampleRing::Add(int64_t ts_ms, std::span<const int64_t> row) {
  if (count_ > 0 && ts_ms <= Time(count_ - 1)) first_ = count_ = 0;
  size_t slot = (first_ + count_) % capacity_;
  if (count_ == capacity_) first_ = (first_ + 1) % capacity_;
  else ++count_;
  int64_t* at = &data_[slot * (1 + columns_)];
  at[0] = ts_ms;
  for (size_t c = 0; c < columns_; ++c) at[1 + c] = c < row.size() ? row[c] : 0;
}

json NoDetails(const std::optional<Range>& range) {
  json d = {{"rate", 0.0}};
  if (range) d["samples"] = json::array();
  return d;
}

json Details(const SampleRing& ring, size_t column, int64_t now_ms, int64_t interval_ms,
             const std::optional<Range>& range) {
  const size_t n = ring.size();
  if (!range) {
    // The last two samples, unless the newest is older than the interval
    // before the current one (the object stopped being sampled).
    double rate = 0.0;
    const int64_t range_point = (now_ms / interval_ms) * interval_ms - interval_ms;
    if (n >= 2 && ring.Time(n - 1) >= range_point) {
      int64_t dt = ring.Time(n - 1) - ring.Time(n - 2);
      rate = static_cast<double>(ring.Value(n - 1, column) - ring.Value(n - 2, column)) * 1000.0 /
             static_cast<double>(dt);
    }
    return {{"rate", rate}};
  }
  // One point per incr back from now rounded down to incr: the value held
  // then (the newest sample at or before it); none before the oldest sample.
  const int64_t last = (now_ms / range->incr_ms) * range->incr_ms;
  json samples = json::array();
  std::vector<std::pair<int64_t, int64_t>> points;  // {timestamp, value}, newest first
  size_t i = n;
  for (int64_t t = last; t >= last - range->age_ms; t -= range->incr_ms) {
    while (i > 0 && ring.Time(i - 1) > t) --i;
    if (i == 0) break;
    points.emplace_back(t, ring.Value(i - 1, column));
  }
  double sum = 0;
  for (const auto& [t, v] : points) {
    samples.push_back({{"sample", v}, {"timestamp", t}});
    sum += static_cast<double>(v);
  }
  auto per_second = [](const std::pair<int64_t, int64_t>& newer,
                       const std::pair<int64_t, int64_t>& older) {
    return static_cast<double>(newer.second - older.second) * 1000.0 /
           static_cast<double>(newer.first - older.first);
  };
  json d = {{"rate", points.size() >= 2 ? per_second(points[0], points[1]) : 0.0},
            {"samples", std::move(samples)}};
  if (points.size() > 1) {
    d["avg_rate"] = per_second(points.front(), points.back());
    d["avg"] = sum / static_cast<double>(points.size());
  }
  return d;
}

// ---------------------------------------------------------------------------
// Vhosts' figures

void AddVHostStats(Call& call, json& vhosts) {
  struct Sums {
    std::map<std::string, int64_t> v;
    void Add(const char* k, uint64_t n) { v[k] += static_cast<int64_t>(n); }
  };
  std::map<std::string, Sums> by_vhost;
  v1::ListRequest all;
  all.set_all_vhosts(true);
  // What cannot be listed to this caller counts nothing.
  v1::ListExchangesResponse exchanges;
  if (call.nodes.Call(call.caller, &v1::Admin::Stub::ListExchanges, all, exchanges).ok())
    for (const auto& e : exchanges.exchanges()) by_vhost[e.vhost()].Add("publish", e.publish_in());
  v1::ListQueuesResponse queues;
  if (call.nodes.Call(call.caller, &v1::Admin::Stub::ListQueues, all, queues).ok()) {
    for (const auto& q : queues.queues()) {
      Sums& s = by_vhost[q.vhost()];
      s.Add("deliver_get", q.delivered());
      s.Add("ack", q.acked());
      s.Add("redeliver", q.redelivered());
      s.Add("messages_ready", q.messages_ready());
      s.Add("messages_unacknowledged", q.messages_unacknowledged());
    }
  }
  v1::ListChannelsResponse channels;
  if (call.nodes.Call(call.caller, &v1::Admin::Stub::ListChannels, v1::ListRequest{}, channels)
          .ok()) {
    for (const auto& c : channels.channels()) {
      Sums& s = by_vhost[c.vhost()];
      s.Add("confirm", c.messages_confirmed());
      s.Add("return_unroutable", c.messages_unroutable_returned());
      s.Add("drop_unroutable", c.messages_unroutable_dropped());
      s.Add("deliver", c.messages_delivered_consume_manual_ack());
      s.Add("deliver_no_ack", c.messages_delivered_consume_auto_ack());
      s.Add("get", c.messages_delivered_get_manual_ack());
      s.Add("get_no_ack", c.messages_delivered_get_auto_ack());
      s.Add("get_empty", c.messages_get_empty());
    }
  }
  v1::ListConnectionsResponse connections;
  if (call.nodes.Call(call.caller, &v1::Admin::Stub::ListConnections, v1::ListRequest{},
                      connections)
          .ok()) {
    for (const auto& c : connections.connections()) {
      Sums& s = by_vhost[c.vhost()];
      s.Add("recv_oct", c.recv_oct());
      s.Add("send_oct", c.send_oct());
    }
  }
  for (json& vhost : vhosts) {
    if (!vhost.is_object() || !vhost.contains("name") || !vhost["name"].is_string()) continue;
    auto& v = by_vhost[vhost["name"].get<std::string>()].v;
    auto get = [&](const char* k) { return v[k]; };
    json stats = json::object();
    for (const char* k : {"publish", "confirm", "return_unroutable", "drop_unroutable", "deliver",
                          "deliver_no_ack", "get", "get_no_ack", "get_empty", "redeliver", "ack"})
      stats[k] = get(k);
    stats["deliver_get"] = get("deliver_get");
    vhost["message_stats"] = std::move(stats);
    for (const char* k : {"messages_ready", "messages_unacknowledged", "recv_oct", "send_oct"})
      if (!vhost.contains(k)) vhost[k] = get(k);
  }
}

// ---------------------------------------------------------------------------
// Rates

Rates::Rates(RatesSettings settings, const Router& router, NodeClient& nodes)
    : settings_(settings), router_(router), nodes_(nodes) {}

Rates::~Rates() { Stop(); }

size_t Rates::Capacity() const {
  const int64_t interval = std::max<int64_t>(settings_.interval.count(), 1);
  const int64_t age = std::chrono::duration_cast<std::chrono::milliseconds>(settings_.max_age)
                          .count();
  return std::clamp<size_t>(static_cast<size_t>((age + interval - 1) / interval) + 1, 2,
                            std::max<size_t>(settings_.max_samples, 2));
}

void Rates::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Rates::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Rates::Touch(const Caller& caller) {
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  auto it = sessions_.find(caller.authorization);
  if (it != sessions_.end()) {
    it->second.asked = now;
    it->second.caller.client_address = caller.client_address;
    return false;
  }
  if (sessions_.size() >= std::max<size_t>(settings_.max_callers, 1)) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.asked < b.second.asked;
    });
    sessions_.erase(oldest);
  }
  Session& s = sessions_[caller.authorization];
  s.caller = caller;
  s.asked = now;
  s.due = now;
  return true;
}

void Rates::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto now = Clock::now();
    std::erase_if(sessions_, [&](const auto& s) { return now - s.second.asked > settings_.idle; });
    auto earliest = Clock::time_point::max();
    std::string due;
    for (auto& [key, s] : sessions_) {
      if (s.due <= now) {
        due = key;
        s.due += settings_.interval;
        if (s.due <= now) s.due = now + settings_.interval;  // fell behind: no burst
        break;
      }
      earliest = std::min(earliest, s.due);
    }
    if (!due.empty()) {
      Caller caller = sessions_.at(due).caller;
      lock.unlock();
      SampleRound(due, caller);
      lock.lock();
    } else if (earliest == Clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, earliest);
    }
  }
}

void Rates::SampleRound(const std::string& authorization, const Caller& caller) {
  for (const auto& [kind, target] : kSampledRoutes) {
    http::Request request;
    request.method = "GET";
    request.target = target;
    request.headers = {{"Authorization", authorization}};
    request.peer = caller.client_address;
    Reply reply = router_.Handle(request, nodes_);
    const int64_t ts = NowMs();
    if (reply.status != 200) continue;  // not this caller's, or no node: keep what was
    json body = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) continue;
    struct Row {
      std::string key;
      std::vector<size_t> stats;
      std::vector<int64_t> values;
    };
    std::vector<Row> rows;
    for (json* item : Objects(body)) {
      Row row{KeyOf(kind, *item), {}, {}};
      Sampled(kind, *item, row.stats, row.values);
      if (!row.stats.empty()) rows.push_back(std::move(row));
    }
    std::lock_guard lock(mu_);
    if (stopping_) return;
    auto session = sessions_.find(authorization);
    if (session == sessions_.end()) return;  // forgotten meanwhile
    auto& objects = session->second.objects[kind];
    std::unordered_map<std::string, Series> kept;  // what is not listed any more goes
    for (Row& row : rows) {
      auto it = objects.find(row.key);
      Series series = it != objects.end() && it->second.stats == row.stats
                          ? std::move(it->second)
                          : Series{row.stats, SampleRing(row.stats.size(), Capacity())};
      series.ring.Add(ts, row.values);
      kept.insert_or_assign(std::move(row.key), std::move(series));
    }
    objects = std::move(kept);
  }
}

Reply Rates::Decorate(const Call& call, Reply reply) {
  if (call.http.method != "GET" || reply.status != 200 ||
      reply.content_type != "application/json" || call.QueryFlag("disable_stats"))
    return reply;
  const Kind kind = KindOf(PathSegments(call.http.target));
  if (kind == kNone) return reply;
  Ranges ranges;
  if (auto why = ParseRanges(call.query, ranges)) return BadRequest(*why);
  json body = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return reply;
  if (Touch(call.caller)) wake_.notify_all();

  const int64_t now = NowMs();
  const int64_t interval = std::max<int64_t>(settings_.interval.count(), 1);
  const auto& all = Stats();
  std::vector<size_t> stats;
  std::vector<int64_t> values;
  std::lock_guard lock(mu_);
  auto session = sessions_.find(call.caller.authorization);
  for (json* item : Objects(body)) {
    Sampled(kind, *item, stats, values);
    AddAverageTimeDetails(kind, *item, ranges[static_cast<size_t>(RangeFamily::kNodeStats)]);
    const Series* series = nullptr;
    if (session != sessions_.end()) {
      const auto& objects = session->second.objects[kind];
      auto it = objects.find(KeyOf(kind, *item));
      if (it != objects.end()) series = &it->second;
    }
    for (size_t stat : stats) {
      const Stat& s = all[stat];
      const auto& range = ranges[static_cast<size_t>(s.family)];
      json details = NoDetails(range);
      if (series) {
        auto col = std::find(series->stats.begin(), series->stats.end(), stat);
        if (col != series->stats.end())
          details = Details(series->ring, static_cast<size_t>(col - series->stats.begin()), now,
                            interval, range);
      }
      (*Parent(*item, s))[std::string(s.key) + "_details"] = std::move(details);
    }
  }
  reply.body = Dump(body);
  return reply;
}

}  // namespace warren::mgmt
