// libFuzzer target for the home's side of queues across nodes
// (cluster/queue_home.h): what a peer sends on its Cluster.Queues stream, a
// sequence of frames (queue_home_frames.h), against a home holding a plain
// queue, a length-limited one that refuses publishes past its limit, one
// exclusive to a connection, and the record of a queue homed elsewhere.
// Properties checked (any failure aborts):
//   - no crash, leak, undefined behaviour or unbounded growth, whatever the
//     ops and whatever order they come in;
//   - the record of a queue homed elsewhere never holds a message;
//   - once the stream ends, nothing the caller held stays with it: every
//     delivery and get went back to its queue, and no consumer remains.
// Run with `make fuzz` (README.md).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "amqp/field_table.h"
#include "broker/cluster/forwarding.h"
#include "broker/cluster/queue_home.h"
#include "broker/cluster/queue_wire.h"
#include "broker/core/broker.h"
#include "broker/core/command.h"
#include "broker/core/queue.h"
#include "broker/core/vhost.h"
#include "common/config.h"
#include "fuzz_check.h"
#include "manual_runtime.h"
#include "queue_home_frames.h"
#include "warren/v1/cluster.pb.h"

using namespace warren;

namespace {

constexpr uint64_t kOwner = 7;  // the exclusive queue's connection

void Declare(core::Broker& broker, const std::string& name, uint64_t node, uint64_t owner,
             amqp::FieldTable arguments = {}) {
  core::cmd::DeclareQueue d;
  d.vhost = "/";
  d.name = name;
  d.node = node;
  d.exclusive = owner != 0;
  d.connection = owner;
  d.arguments = std::move(arguments);
  FUZZ_CHECK(core::Apply(broker, d).status.ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  NodeConfig config;
  testkit::ManualRuntime runtime;
  core::Broker broker(runtime, config);
  FUZZ_CHECK(broker.AddVHost("/").ok());
  broker.set_self_member(1);
  amqp::FieldTable limited;
  limited.Set("x-max-length", amqp::FieldValue::Long(2));
  limited.Set("x-overflow", amqp::FieldValue::Str("reject-publish"));
  Declare(broker, "q", 1, 0);
  Declare(broker, "limited", 1, 0, limited);
  Declare(broker, "mine", 1, kOwner);
  Declare(broker, "elsewhere", 2, 0);

  std::vector<std::function<void(cluster::ForwardResult)>> proposals;
  auto link = std::make_shared<cluster::HomeLink>("warren@fuzz");
  auto home = std::make_unique<cluster::QueueHome>(
      broker, [&runtime](std::function<void()> fn) { runtime.ScheduleAfter(0, std::move(fn)); },
      [&proposals](std::string, std::function<void(cluster::ForwardResult)> reply) {
        proposals.push_back(std::move(reply));
      });

  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (std::string_view bytes : cluster::fuzz::SplitFrames(in)) {
    v1::QueueFrame frame;
    if (!frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) continue;
    home->Receive(link, &frame);
    runtime.Advance(0);
    // The caller reads what the home sent, as its stream would.
    while (!link->TakeQueued().empty()) {
    }
    if (link->ended()) break;
  }
  // The leader answers what was forwarded, after the stream ended too.
  home->Receive(link, nullptr);
  for (auto& reply : proposals) reply(cluster::ForwardResult{});
  runtime.Advance(0);

  core::VHost* v = broker.FindVHost("/");
  FUZZ_CHECK(v != nullptr);
  for (const char* name : {"q", "limited", "mine", "elsewhere"}) {
    auto it = v->queues().find(name);
    if (it == v->queues().end()) continue;  // a forwarded change may not touch the model here
    const core::Queue& q = *it->second;
    FUZZ_CHECK(q.unacked_count() == 0);
    FUZZ_CHECK(q.consumer_count() == 0);
    if (q.remote()) FUZZ_CHECK(q.ready_count() == 0);
  }
  home.reset();
  return 0;
}
