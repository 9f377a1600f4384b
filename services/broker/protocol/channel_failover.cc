// Consumers of a mirrored queue across a failover (docs/mirroring.md,
// "Consumers across a failover"). When the stream to the queue's home breaks,
// or the home cancels its consumers because the queue moved away, a consumer
// on this channel is not cancelled: it follows the queue. Every kRetryMs it
// reads the queue's record and consumes at the home it names (this node or
// another), with the same tag, arguments and prefetch; the client sees no
// basic.cancel and no consume-ok, only deliveries resuming. What it had been
// delivered and not acked stays the client's to settle; those settlements go
// to the old home, which forgot them, and the new home holds the messages,
// redelivered (at-least-once).
//
// As RabbitMQ, a consumer that asked x-cancel-on-ha-failover: true gets
// basic.cancel instead. So does one whose queue was deleted or is no longer
// mirrored, or that found no home to take it within kFollowMs (a queue with
// no mirror in sync waits for its home that long).
#include "broker/core/errors.h"
#include "broker/protocol/channel.h"
#include "broker/protocol/connection.h"

namespace warren::protocol {

namespace {

constexpr int64_t kRetryMs = 250;
constexpr int64_t kFollowMs = 30000;

bool CancelOnFailover(const core::Consumer& c) {
  const amqp::FieldValue* v = c.arguments.Find("x-cancel-on-ha-failover");
  std::optional<bool> b = v ? v->AsBool() : std::nullopt;
  return b && *b;
}

}  // namespace

bool Channel::Follows(const core::Consumer& c) {
  if (CancelOnFailover(c) || closing_ || shut_down_) return false;
  std::shared_ptr<core::Queue> q = vhost().FindQueue(c.queue->name());
  return q && !q->mirrors().members.empty();
}

void Channel::FollowLater(const std::string& tag) {
  std::weak_ptr<bool> alive = alive_;
  connection_.runtime().ScheduleAfter(kRetryMs, [this, alive, tag] {
    if (!alive.expired()) Follow(tag);
  });
}

void Channel::Follow(const std::string& tag) {
  auto following = following_.find(tag);
  if (following == following_.end()) return;
  auto it = consumers_.find(tag);
  if (it == consumers_.end() || closing_ || shut_down_) {  // cancelled meanwhile
    following_.erase(following);
    return;
  }
  std::shared_ptr<core::Consumer> old = it->second;
  std::shared_ptr<core::Queue> q = vhost().FindQueue(old->queue->name());
  bool too_long = connection_.runtime().NowMs() - following->second > kFollowMs;
  if (!q || q->mirrors().members.empty() || too_long) {
    following_.erase(following);
    Cancelled(*old);
    return;
  }
  // A new consumer: the old one keeps its id at the old home, which its
  // unacked deliveries are settled by.
  auto c = std::make_shared<core::Consumer>(*this, tag, old->no_ack(), old->exclusive(),
                                            old->priority());
  c->prefetch = old->prefetch;
  c->arguments = old->arguments;
  c->queue = q;
  if (!q->remote()) {  // the queue moved here
    if (!q->CanAddConsumer(c->exclusive()).ok()) return FollowLater(tag);
    following_.erase(following);
    it->second = c;
    q->AddConsumer(c.get());
    return;
  }
  core::QueueRemote* remote = connection_.broker().remote();
  if (!remote) return FollowLater(tag);
  core::RemoteConsume rc{vhost().name(), q->name(), tag,         c->no_ack(),
                         c->exclusive(), c->priority(), c->prefetch, c->arguments,
                         connection_.id()};
  uint64_t home = q->home();
  std::weak_ptr<bool> alive = alive_;
  remote->Consume(home, std::move(rc), this,
                  [this, alive, remote, home, old, c, tag](uint64_t id, Status) {
                    if (alive.expired()) {
                      if (id != 0) remote->Cancel(home, id);
                      return;
                    }
                    auto now = consumers_.find(tag);
                    bool wanted = now != consumers_.end() && now->second == old &&
                                  following_.count(tag) && !closing_ && !shut_down_;
                    if (!wanted) {
                      if (id != 0) remote->Cancel(home, id);
                      return;
                    }
                    if (id == 0) return FollowLater(tag);  // not there yet
                    following_.erase(tag);
                    c->remote_id = id;
                    now->second = c;
                    remote_consumers_[id] = tag;
                  });
}

}  // namespace warren::protocol
