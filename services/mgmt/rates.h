// Rates: RabbitMQ's `X_details` objects beside the counters warren-mgmt
// serves (message_stats' publish, deliver_get, ack, ...; a queue's or
// vhost's messages, messages_ready, messages_unacknowledged; the
// overview's queue_totals and churn_rates; a connection's recv_oct and
// send_oct; a node's figures), computed from samples as RabbitMQ 3.13's
// management plugin computes them (rabbit_mgmt_stats):
//   - no range: {"rate": R}, per second between the last two samples,
//     0.0 when there are fewer or the newest is over an interval stale;
//   - ?msg_rates_age=A&msg_rates_incr=I (message_stats, churn_rates),
//     ?lengths_age=&lengths_incr= (messages*), ?data_rates_* (recv_oct,
//     send_oct), ?node_stats_* (a node's figures), ages and increments in
//     seconds: {"rate", "samples": [{"sample", "timestamp"}] newest first,
//     one per I seconds back A seconds from now rounded down to I (the
//     value held at that time), "avg_rate" (first to last sample, per
//     second), "avg" (the samples' mean)}. An age or increment that is not
//     a positive integer, or more than 500 samples asked, is 400
//     "Invalid range parameters: age A, incr I" (RabbitMQ's
//     invalid_range_parameters; RabbitMQ itself ignores a non-number).
//
// Sampling: every `interval` (RabbitMQ's collect_statistics_interval) a
// background thread serves itself the GET routes that carry counters
// (/api/overview, /api/nodes, /api/queues, /api/exchanges, /api/channels,
// /api/connections, /api/vhosts), so what is sampled is exactly what is
// served, and keeps per object a SampleRing bounded by the largest age it
// serves (`max_age`) and by `max_samples`; an object that is no longer
// listed is dropped. Warren-mgmt holds no credentials of its own: it samples
// for each caller who asked for a stats-bearing route in the last `idle`
// (10 minutes), with that caller's credentials (so the node decides what
// the samples may hold, as for the caller's own requests, and a caller only
// ever sees rates of objects their own answer holds), at most
// `max_callers` at once (the least recent is forgotten). Nobody asking: no
// sampling, no node calls.
//
// Threads: Decorate() is called from the HTTP workers; the sampler runs on
// its own thread between Start() and Stop(); one mutex guards the samples.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "mgmt/reply.h"
#include "mgmt/router.h"

namespace warren::mgmt {

// RabbitMQ's range families, each asked by its own ?F_age=&F_incr=.
enum class RangeFamily { kMsgRates, kLengths, kDataRates, kNodeStats };
inline constexpr size_t kRangeFamilies = 4;

// The most samples one range may ask (RabbitMQ's MAX_RANGE).
inline constexpr int64_t kMaxRangeSamples = 500;

struct Range {
  int64_t age_ms = 0;
  int64_t incr_ms = 0;
};

// Per family; nullopt: no range asked (or only one of age and incr).
using Ranges = std::array<std::optional<Range>, kRangeFamilies>;

// The ranges a query asks; the 400 reason for a bad one.
std::optional<std::string> ParseRanges(const QueryParams& query, Ranges& out);

// An object's recent samples: a timestamp (ms since the epoch) and one value
// per column, in a ring of fixed capacity (the oldest is overwritten).
class SampleRing {
 public:
  SampleRing(size_t columns, size_t capacity);
  // A sample not after the newest (the clock stepped back) restarts the ring.
  void Add(int64_t ts_ms, std::span<const int64_t> row);
  size_t size() const { return count_; }
  size_t columns() const { return columns_; }
  int64_t Time(size_t i) const { return At(i)[0]; }  // i = 0: the oldest
  int64_t Value(size_t i, size_t column) const { return At(i)[1 + column]; }

 private:
  const int64_t* At(size_t i) const { return &data_[((first_ + i) % capacity_) * (1 + columns_)]; }

  size_t columns_;
  size_t capacity_;
  size_t first_ = 0;
  size_t count_ = 0;
  std::vector<int64_t> data_;  // capacity_ rows of {timestamp, values...}
};

// `column`'s X_details at now_ms (above), samples taken every interval_ms.
nlohmann::json Details(const SampleRing& ring, size_t column, int64_t now_ms, int64_t interval_ms,
                       const std::optional<Range>& range);
// What an object not sampled yet shows: rate 0.0 (and no samples).
nlohmann::json NoDetails(const std::optional<Range>& range);

// The vhosts' message_stats (publish: their exchanges' publish_in;
// deliver_get, ack, redeliver: their queues'; confirm, return_unroutable,
// drop_unroutable, deliver, deliver_no_ack, get, get_no_ack, get_empty:
// their open channels'), messages_ready and messages_unacknowledged (their
// queues'), recv_oct and send_oct (their connections'), added to each of
// `vhosts` (FormatVHost objects), from what the node lists to the caller.
void AddVHostStats(Call& call, nlohmann::json& vhosts);

struct RatesSettings {
  std::chrono::milliseconds interval{5000};  // collect_statistics_interval
  std::chrono::seconds max_age{600};         // the oldest sample kept
  std::chrono::seconds idle{600};            // sampling for a caller stops this long after
  size_t max_callers = 8;
  size_t max_samples = 1000;                 // per object, whatever max_age / interval
};

class Rates {
 public:
  // `router` and `nodes` outlive this; the router's GET routes are what is
  // sampled (Router::Handle, without decoration).
  Rates(RatesSettings settings, const Router& router, NodeClient& nodes);
  ~Rates();
  Rates(const Rates&) = delete;
  Rates& operator=(const Rates&) = delete;

  void Start();
  void Stop();  // after NodeClient::Shutdown, returns without waiting on a node

  // For Router::Dispatch: a GET of a stats-bearing route, 200, without
  // disable_stats, gets X_details beside each sampled counter of each
  // object it holds (400 for bad ranges); the caller's sampling goes on.
  // Any other reply is returned as it is.
  Reply Decorate(const Call& call, Reply reply);

  // Ring capacity: enough for max_age at interval, at most max_samples.
  size_t Capacity() const;

 private:
  static constexpr size_t kObjectKinds = 7;  // overview, node, queue, ... (rates.cc)
  struct Series {
    std::vector<size_t> stats;  // the sampled keys, as indices into rates.cc's table
    SampleRing ring;
  };
  // One caller's sampling: its credentials, when it last asked, when its
  // next round is due, and its objects' samples by kind and identity.
  struct Session {
    Caller caller;
    std::chrono::steady_clock::time_point asked;
    std::chrono::steady_clock::time_point due;
    std::array<std::unordered_map<std::string, Series>, kObjectKinds> objects;
  };
  void Run();
  void SampleRound(const std::string& authorization, const Caller& caller);
  bool Touch(const Caller& caller);  // true when a new session began

  const RatesSettings settings_;
  const Router& router_;
  NodeClient& nodes_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;                     // guarded by mu_
  std::map<std::string, Session> sessions_;  // by Authorization; guarded by mu_
  std::thread thread_;
};

}  // namespace warren::mgmt
