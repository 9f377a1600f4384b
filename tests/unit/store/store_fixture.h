// Shared fixture for the store tests: a fresh temporary data directory, a
// Store whose loop callbacks are queued here and run by RunPosted(), a file
// system that fails the calls a test asks it to (fs_), and a broker model on
// a manual clock that the store can restore into.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/broker.h"
#include "broker/store/restore.h"
#include "broker/store/store.h"
#include "core/core_fixture.h"
#include "store/faulty_file_system.h"

namespace warren::store::test {

// A whole file's bytes, and a file made of `bytes` (what damage tests edit).
inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void Spit(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << bytes;
}

// A record exactly as Warren wrote every store file before salts, built
// here independently of record.cc: u32 crc | u32 length | u8 type | payload,
// little-endian, the CRC-32 over length, type and payload.
inline std::string LegacyRecord(uint8_t type, std::string_view payload) {
  std::string out(9, '\0');
  uint32_t length = static_cast<uint32_t>(payload.size());
  std::memcpy(&out[4], &length, 4);
  out[8] = static_cast<char>(type);
  out += payload;
  uint32_t crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(out.data() + 4), static_cast<uInt>(out.size() - 4)));
  std::memcpy(&out[0], &crc, 4);
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() {
    dir_ = std::filesystem::temp_directory_path() /
           ("warren-store-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_));
    std::filesystem::remove_all(dir_);
  }
  ~StoreTest() override {
    CloseNode();
    std::filesystem::remove_all(dir_);
  }

  // Opens the store (and a broker restored from it), as a node start does.
  void OpenNode(bool fsync = false, uint64_t segment_size = 16 << 20) {
    Status s = TryOpenNode(fsync, segment_size);
    ASSERT_TRUE(s.ok()) << s.error().text;
  }

  // OpenNode, for tests that expect the start to be refused.
  Status TryOpenNode(bool fsync = false, uint64_t segment_size = 16 << 20) {
    StoreOptions o;
    o.fs = &fs_;
    o.data_dir = dir_.string();
    o.fsync = fsync;
    o.segment_size = segment_size;
    o.post = [this](std::function<void()> fn) {
      std::lock_guard<std::mutex> lock(mu_);
      posted_.push_back(std::move(fn));
      cv_.notify_all();
    };
    o.on_fatal = [this](const std::string& why) {
      std::lock_guard<std::mutex> lock(mu_);
      fatal_.push_back(why);
      cv_.notify_all();
    };
    store_ = std::make_unique<Store>(std::move(o));
    bool fresh = false;
    if (Status s = store_->Open(fresh); !s.ok()) return s;
    fresh_ = fresh;
    broker_ = std::make_unique<core::Broker>(runtime_, config_);
    broker_->set_persistence(store_.get());
    if (Status r = Restore(*store_, *broker_); !r.ok()) return r;
    if (fresh) {
      if (Status v = broker_->AddVHost("/"); !v.ok()) return v;
    }
    return Status::Ok();
  }

  // A clean stop: the store closes first, then the model goes.
  void CloseNode() {
    if (store_) store_->Close();
    broker_.reset();
    store_.reset();
    posted_.clear();
  }

  // Runs what the store posted to "the loop" (writes, reclaims, syncs).
  void RunPosted() {
    for (;;) {
      std::vector<std::function<void()>> batch;
      {
        std::lock_guard<std::mutex> lock(mu_);
        batch.swap(posted_);
      }
      if (batch.empty()) return;
      for (auto& fn : batch) fn();
    }
  }

  // Runs what the store posts until synced() reaches `position` or the
  // store reports a fatal error; false if neither happens within 10 s.
  bool WaitSyncedOrFatal(uint64_t position) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      RunPosted();
      std::unique_lock<std::mutex> lock(mu_);
      if (!fatal_.empty() || store_->synced() >= position) return true;
      if (!cv_.wait_until(lock, deadline, [&] { return !posted_.empty() || !fatal_.empty(); }))
        return false;
    }
  }

  std::vector<std::string> fatal() {
    std::lock_guard<std::mutex> lock(mu_);
    return fatal_;
  }

  // Waits (bounded) until the sync thread has posted something.
  bool WaitPosted(int timeout_ms = 10000) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                        [&] { return !posted_.empty(); });
  }

  core::VHost& vhost() { return *broker_->FindVHost("/"); }

  std::shared_ptr<core::Queue> DeclareQueue(const std::string& name, bool durable,
                                            amqp::FieldTable args = {}) {
    core::QueueDeclare d;
    d.name = name;
    d.durable = durable;
    d.arguments = std::move(args);
    auto r = vhost().DeclareQueue(d, 1);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().text);
    return vhost().FindQueue(name);
  }

  // What a publish routed, and the store position its ticket waits for.
  struct Published : core::PublishOutcome {
    uint64_t durable_at = 0;
  };
  Published Publish(const std::string& routing_key, const std::string& body,
                    bool persistent = true, const std::string& exchange = "") {
    amqp::BasicProperties p;
    if (persistent) p.delivery_mode = 2;
    auto m = core::MakeMessage(exchange, routing_key, p, body);
    core::Exchange* e = exchange.empty() ? nullptr : vhost().FindExchange(exchange);
    core::Ticket ticket = core::NewTicket();
    Published out;
    static_cast<core::PublishOutcome&>(out) = vhost().Publish(e, m, ticket);
    out.durable_at = ticket->durable_at();
    return out;
  }

  // Takes every ready message of `q` with basic.get semantics (auto-ack).
  std::vector<std::string> Drain(core::Queue& q) {
    std::vector<std::string> out;
    while (auto e = q.Get(true)) out.push_back(e->message->body);
    return out;
  }

  std::vector<std::string> SegmentFiles() const {
    std::vector<std::string> out;
    for (const auto& f : std::filesystem::directory_iterator(dir_ / "messages"))
      out.push_back(f.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::filesystem::path dir_;
  FaultyFileSystem fs_;
  core::test::ManualRuntime runtime_;
  NodeConfig config_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<core::Broker> broker_;
  bool fresh_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::string> fatal_;  // what on_fatal was told
  static inline int counter_ = 0;
};

}  // namespace warren::store::test
