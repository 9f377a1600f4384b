#include "perf/run.h"

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "perf/churn.h"
#include "perf/consumer.h"
#include "perf/control.h"
#include "perf/producer.h"
#include "perf/report.h"
#include "perf/setup.h"

namespace warren::perf {

RunControl::RunControl() : wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
RunControl::~RunControl() { close(wake_fd_); }

void RunControl::Fail(const std::string& message) {
  if (!failed_.exchange(true, std::memory_order_acq_rel)) std::fprintf(stderr, "warren-perf: %s\n", message.c_str());
  Wake();
}

void RunControl::Wake() {
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void RunControl::Drain() {
  uint64_t n;
  (void)!read(wake_fd_, &n, sizeof n);
}

namespace {

constexpr uint64_t kSecond = 1'000'000'000;
constexpr int kPhaseTimeoutMs = 30'000;     // setup and consumer start-up
constexpr uint64_t kCloseGraceNs = 2 * kSecond;

// One event loop thread and everything that lives on it.
struct Worker : Task {
  explicit Worker(int index) : loop(index) {}

  // Shutdown: polls until every connection is closed or the grace period ends.
  void Run() override {
    bool all_closed = true;
    for (auto& c : connections) all_closed = all_closed && c->closed();
    for (auto& c : churners) all_closed = all_closed && c->closed();
    if (all_closed || MonotonicNanos() >= close_deadline) return loop.Quit();
    loop.RunAt(MonotonicNanos() + 5'000'000, this);
  }
  void CloseAll() {
    close_deadline = MonotonicNanos() + kCloseGraceNs;
    for (auto& c : connections) c->Close();
    for (auto& c : churners) c->Stop();
    Run();
  }

  Loop loop;
  LoopStats stats;
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<std::unique_ptr<ChurnProducer>> churners;
  uint64_t close_deadline = 0;
  std::thread thread;
};

bool Resolve(const AmqpUri& uri, Endpoint& out, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(uri.host.c_str(), std::to_string(uri.port).c_str(), &hints, &result);
  if (rc != 0) {
    error = "cannot resolve " + uri.host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&out.addr, result->ai_addr, result->ai_addrlen);
  out.addr_len = static_cast<socklen_t>(result->ai_addrlen);
  out.uri = uri;
  freeaddrinfo(result);
  return true;
}

class Runner {
 public:
  Runner(const Options& options, const Endpoint& endpoint, int signal_fd)
      : options_(options), endpoint_(endpoint), signal_fd_(signal_fd) {
    for (int i = 0; i < options.threads; ++i) workers_.push_back(std::make_unique<Worker>(i));
  }

  int Run();

 private:
  enum class Wait { kReady, kFailed, kSignal, kTimeout };
  Wait WaitUntil(const std::function<bool()>& ready, int timeout_ms);
  Worker& NextWorker() { return *workers_[next_worker_++ % workers_.size()]; }
  void StartSetup();
  void StartPacked(int count, const std::string& what,
                   std::function<std::unique_ptr<ChannelRole>(int, LoopStats&)> make);
  void StartConsumers();
  void StartProducers();
  bool Finished() const;
  Totals Collect();
  void Shutdown();
  int Measure();

  const Options& options_;
  const Endpoint& endpoint_;
  int signal_fd_;
  RunControl control_;
  std::vector<std::unique_ptr<Worker>> workers_;
  size_t next_worker_ = 0;
};

Runner::Wait Runner::WaitUntil(const std::function<bool()>& ready, int timeout_ms) {
  uint64_t deadline = MonotonicNanos() + static_cast<uint64_t>(timeout_ms) * 1'000'000;
  while (true) {
    if (control_.failed()) return Wait::kFailed;
    if (ready()) return Wait::kReady;
    uint64_t now = MonotonicNanos();
    if (now >= deadline) return Wait::kTimeout;
    pollfd fds[2] = {{control_.wake_fd(), POLLIN, 0}, {signal_fd_, POLLIN, 0}};
    poll(fds, 2, static_cast<int>((deadline - now + 999'999) / 1'000'000));
    if (fds[1].revents & POLLIN) return Wait::kSignal;
    if (fds[0].revents & POLLIN) control_.Drain();
  }
}

void Runner::StartSetup() {
  Worker& w = *workers_[0];
  w.loop.Post([this, &w] {
    auto c = std::make_unique<Connection>(w.loop, control_, endpoint_, "warren-perf setup");
    c->AddChannel(std::make_unique<Setup>(options_));
    c->Start();
    w.connections.push_back(std::move(c));
  });
}

// Consumers (and producers) are packed --channels-per-connection to a
// connection; connections go round-robin over the loops. `make` builds the
// role of the i-th one, on its loop.
void Runner::StartPacked(int count, const std::string& what,
                         std::function<std::unique_ptr<ChannelRole>(int, LoopStats&)> make) {
  const int per = options_.channels_per_connection;
  for (int first = 0; first < count; first += per) {
    Worker& w = NextWorker();
    int last = std::min(count, first + per);
    w.loop.Post([this, &w, first, last, what, make] {
      auto c = std::make_unique<Connection>(w.loop, control_, endpoint_,
                                            "warren-perf " + what + " " + std::to_string(first));
      for (int i = first; i < last; ++i) c->AddChannel(make(i, w.stats));
      c->Start();
      w.connections.push_back(std::move(c));
    });
  }
}

void Runner::StartConsumers() {
  StartPacked(options_.consumers, "consumers", [this](int i, LoopStats& stats) {
    return std::make_unique<Consumer>(options_, options_.queues[i % options_.queues.size()], stats);
  });
}

void Runner::StartProducers() {
  if (options_.churn) {
    for (int i = 0; i < options_.producers; ++i) {
      Worker& w = NextWorker();
      w.loop.Post([this, &w, i] {
        w.churners.push_back(std::make_unique<ChurnProducer>(w.loop, control_, endpoint_, options_,
                                                             static_cast<uint32_t>(i), w.stats));
        w.churners.back()->Start();
      });
    }
    return;
  }
  StartPacked(options_.producers, "producers", [this](int i, LoopStats& stats) {
    return std::make_unique<Producer>(options_, static_cast<uint32_t>(i), stats);
  });
}

// With -C and/or -D: every counted producer and consumer reached its count.
bool Runner::Finished() const {
  if (options_.pmessages == 0 && options_.cmessages == 0) return false;
  int producers = options_.pmessages > 0 ? options_.producers : 0;
  int consumers = options_.cmessages > 0 ? options_.consumers : 0;
  return control_.producers_done() >= producers && control_.consumers_done() >= consumers;
}

Totals Runner::Collect() {
  Totals t;
  HistogramSnapshot h;
  for (auto& w : workers_) {
    const LoopStats& s = w->stats;
    t.published += s.published.Get();
    t.confirmed += s.confirmed.Get();
    t.nacked += s.nacked.Get();
    t.returned += s.returned.Get();
    t.consumed += s.consumed.Get();
    t.connections += s.connections.Get();
    s.latency.SnapshotInto(h);
    t.latency.Add(h);
  }
  return t;
}

void Runner::Shutdown() {
  control_.Stop();
  for (auto& w : workers_) w->loop.Post([&w = *w] { w.CloseAll(); });
  for (auto& w : workers_) w->thread.join();
}

// From the producers' start to the end condition; prints a line per second.
int Runner::Measure() {
  const uint64_t start = MonotonicNanos();
  const uint64_t end = options_.seconds > 0 ? start + static_cast<uint64_t>(options_.seconds * 1e9) : UINT64_MAX;
  uint64_t tick = start + kSecond;
  Totals before;
  StartProducers();
  uint64_t now = start;
  while (true) {
    uint64_t until = std::min(tick, end);
    int timeout_ms = until > now ? static_cast<int>((until - now + 999'999) / 1'000'000) : 0;
    Wait w = WaitUntil([this] { return Finished(); }, timeout_ms);
    now = MonotonicNanos();
    if (w != Wait::kTimeout || now >= end) break;
    if (now >= tick) {
      Totals t = Collect();
      std::printf("%s\n", ProgressLine(static_cast<double>(now - start) / 1e9, 1.0, t, before, options_.churn).c_str());
      std::fflush(stdout);
      before = std::move(t);
      tick += kSecond;
    }
  }
  Summary summary{options_.id, static_cast<double>(now - start) / 1e9, options_.churn, Collect()};
  Shutdown();
  std::printf("%s", SummaryText(summary).c_str());
  std::fflush(stdout);
  if (!options_.json_path.empty()) {
    std::ofstream json(options_.json_path, std::ios::trunc);
    json << SummaryJson(summary);
    if (!json.good()) {
      std::fprintf(stderr, "warren-perf: cannot write %s\n", options_.json_path.c_str());
      return 2;
    }
  }
  return control_.failed() ? 2 : 0;
}

int Runner::Run() {
  for (auto& w : workers_) w->thread = std::thread([&loop = w->loop] { loop.Run(); });
  StartSetup();
  Wait w = WaitUntil([this] { return control_.setup_done() > 0; }, kPhaseTimeoutMs);
  if (w == Wait::kReady) {
    StartConsumers();
    w = WaitUntil([this] { return control_.consumers_ready() >= options_.consumers; }, kPhaseTimeoutMs);
  }
  if (w == Wait::kReady) return Measure();
  if (w == Wait::kTimeout) control_.Fail("no answer from the broker within 30 s");
  Shutdown();
  return w == Wait::kSignal ? 0 : 2;
}

// amqps: one client context for every connection, files read once.
bool MakeTlsContext(const Options& options, Endpoint& out, std::string& error) {
  if (!options.uri.tls) return true;
  tls::Settings settings;
  settings.ca_file = options.tls_ca_file;
  settings.cert_file = options.tls_cert_file;
  settings.key_file = options.tls_key_file;
  Result<tls::Context> ctx = tls::ClientContext(settings, !options.tls_no_verify);
  if (!ctx.ok()) {
    error = ctx.error().text;
    return false;
  }
  out.tls = ctx.value();
  return true;
}

}  // namespace

int RunPerf(const Options& options) {
  Endpoint endpoint;
  std::string error;
  if (!Resolve(options.uri, endpoint, error) || !MakeTlsContext(options, endpoint, error)) {
    std::fprintf(stderr, "warren-perf: %s\n", error.c_str());
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // the loop threads inherit the mask
  signal(SIGPIPE, SIG_IGN);
  int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  int status = Runner(options, endpoint, signal_fd).Run();
  close(signal_fd);
  return status;
}

}  // namespace warren::perf
