// Writes the seed corpus of warren_fuzz_queue_home: a few streams of frames
// (queue_home_frames.h) using every op a caller sends, on the queues the
// fuzzer's home holds. Usage: warren_queue_home_fuzz_corpus <dir>, which
// fills <dir>/corpus-queue_home (tests/fuzz/ in the source tree).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "queue_home_frames.h"

using namespace warren::cluster::fuzz;

namespace {

std::string Frame(std::vector<Op> ops) {
  warren::v1::QueueFrame frame;
  for (Op& op : ops) *frame.add_ops() = std::move(op);
  return frame.SerializeAsString();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>\n", argv[0]);
    return 2;
  }
  Op credit = Request(Op::CREDIT, 10, "");
  credit.set_count(5);
  Op propose = Request(Op::PROPOSE, 30, "");
  propose.set_command("not a command");
  // Replies to direct reply-to keys: one this node never gave out, one
  // naming no member.
  Op reply = Request(Op::DIRECT_REPLY, 0, "");
  warren::cluster::ToWire(*warren::core::MakeMessage("", "amq.rabbitmq.reply-to.1.00ff.1", {}, "pong"),
         *reply.mutable_message());
  Op junk_reply = Request(Op::DIRECT_REPLY, 0, "");
  warren::cluster::ToWire(*warren::core::MakeMessage("", "not-a-key", {}, "x"), *junk_reply.mutable_message());
  // Counts for connection limits: a user with connections, and names the
  // home has never seen.
  Op census = Request(Op::CENSUS, 40, "");
  census.set_user("guest");
  Op census_unknown = Request(Op::CENSUS, 41, "");
  census_unknown.set_vhost("nowhere");
  census_unknown.set_user("nobody");
  std::map<std::string, std::vector<std::string>> streams = {
      {"publish_consume_settle",
       {Frame({Publish(1, "q", "a"), Publish(2, "q", "b"), Publish(3, "limited", "c"),
               Publish(4, "limited", "d"), Publish(5, "limited", "e")}),
        Frame({Consume(10, "q", 1), credit}),
        Frame({Settle(10, Op::ACK, {1, 2}), Settle(10, Op::REQUEUE, {3}),
               Request(Op::CANCEL, 10, "")})}},
      {"get_purge_stat",
       {Frame({Publish(1, "q", "a"), Request(Op::GET, 2, "q"), Request(Op::GET, 3, "elsewhere"),
               Request(Op::PURGE, 4, "limited"), Request(Op::STAT, 5, "q")}),
        Frame({Settle(0, Op::REJECT, {1}), Request(Op::STAT, 6, "elsewhere")})}},
      {"exclusive_and_propose",
       {Frame({Consume(20, "mine", 0, 7), Consume(21, "mine", 0, 8), propose}),
        Frame({Publish(22, "mine", "x"), Request(Op::CANCEL, 20, "")})}},
      {"direct_reply", {Frame({reply, junk_reply, Publish(1, "q", "a")})}},
      {"census", {Frame({census, Consume(42, "q", 0, 7), census_unknown})}},
      {"mirror",
       {Frame({MirrorReset("elsewhere", 1), MirrorEnter(1, "elsewhere", 5, "a"),
               MirrorEnter(2, "q", 6, "b"), MirrorLeave("elsewhere", {5, 7})}),
        Frame({MirrorReset("q", 3), MirrorEnter(3, "elsewhere", 0, "c")})}},
  };
  std::filesystem::path dir = std::filesystem::path(argv[1]) / "corpus-queue_home";
  std::filesystem::create_directories(dir);
  for (const auto& [name, frames] : streams) {
    std::string bytes = JoinFrames(frames);
    std::ofstream(dir / name, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  return 0;
}
