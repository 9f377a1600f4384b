// One AMQP channel: the methods of the exchange, queue, basic, confirm and tx
// classes, content assembly for basic.publish, consumers, prefetch, unacked
// deliveries, publisher confirms and transactions.
//
// Lifecycle: created by its Connection on channel.open, destroyed after
// channel.close/close-ok or with the connection. Lives on the connection's
// event loop. Queues call back into it (ConsumerSink) to deliver; the model
// never holds it beyond RemoveConsumer / UnregisterReplyTo, done in Shutdown().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "amqp/methods.h"
#include "amqp/properties.h"
#include "broker/core/broker.h"
#include "broker/core/consumer.h"
#include "broker/core/message.h"
#include "broker/core/queue.h"
#include "common/status.h"

namespace warren::protocol {

class Connection;

// A basic.publish whose content is still arriving. (Outside Channel so that
// std::optional<PendingPublish> is usable inside Channel's own definition.)
struct PendingPublish {
  amqp::BasicPublish method;
  uint64_t body_size = 0;
  std::string raw_properties;
  amqp::BasicProperties properties;
  std::string body;
  bool have_header = false;
};

class Channel : public core::ConsumerSink,
                public core::DirectReplySink,
                public core::RemoteConsumerSink {
 public:
  Channel(Connection& connection, uint16_t number);
  ~Channel() override;

  uint16_t number() const { return number_; }
  core::ChannelInfo Describe() const;
  bool closing() const { return closing_; }
  // Handles one method frame (not channel.open). Errors come back for the
  // connection to turn into channel.close or connection.close.
  Status OnMethod(amqp::Method& method);
  Status OnContentHeader(std::string_view payload);
  Status OnContentBody(std::string_view payload);
  bool expecting_content() const { return publish_.has_value(); }
  // We sent channel.close: drop everything but close/close-ok from now on.
  void MarkClosing() { closing_ = true; }
  // Releases consumers, requeues unacked deliveries, leaves the reply-to
  // registry. Safe to call twice.
  void Shutdown();
  // Sends the acks (and nacks) publisher confirms owe, coalesced.
  void FlushConfirms();
  // The connection's socket drained: let queues deliver again.
  void ResumeDeliveries();

  // core::ConsumerSink
  bool HasCredit(const core::Consumer& c) const override;
  std::string Label() const override;
  void Deliver(core::Consumer& c, core::QueueEntry entry) override;
  void Cancelled(core::Consumer& c) override;
  // core::DirectReplySink
  void DeliverReply(const core::MessagePtr& message) override;
  // core::RemoteConsumerSink: a consumer of a queue homed elsewhere.
  bool RemoteDeliver(uint64_t consumer, core::MessagePtr message, bool redelivered,
                     uint64_t delivery) override;
  void RemoteCancelled(uint64_t consumer) override;

 private:
  // OnMethod's work, once (OnMethod may run it again after a barrier).
  Status Dispatch(amqp::Method& method);
  struct Unacked {
    std::shared_ptr<core::Queue> queue;
    core::QueueEntry entry;
    std::shared_ptr<core::Consumer> consumer;  // null for basic.get
  };
  struct TxPublish {
    std::string exchange;
    bool mandatory = false;
    core::MessagePtr message;
  };
  enum class TxAck { kAck, kReject, kRequeue };
  struct TxOp {
    TxAck kind;
    uint64_t tag;
    bool multiple;
  };

  // channel_model.cc: exchange and queue classes
  Status HandleExchangeDeclare(const amqp::ExchangeDeclare& m);
  Status HandleExchangeDelete(const amqp::ExchangeDelete& m);
  Status HandleExchangeBind(const amqp::ExchangeBind& m, bool bind);
  Status HandleQueueDeclare(const amqp::QueueDeclare& m);
  Status HandleQueueBind(const amqp::QueueBind& m);
  Status HandleQueueUnbind(const amqp::QueueUnbind& m);
  Status HandleQueuePurge(const amqp::QueuePurge& m);
  Status HandleQueueDelete(const amqp::QueueDelete& m);
  // The delete itself, once its conditions were checked (`messages`: what
  // the queue held then, for delete-ok; nullopt: the outcome's count).
  Status DeleteQueue(core::cmd::DeleteQueue c, bool no_wait, std::optional<uint32_t> messages);
  // Asks the home of a queue homed on another member (core/remote.h):
  // `ask` makes the call, `then` turns a successful answer into the reply.
  // An unreachable home is 404 naming it (HomeDownText), as RabbitMQ
  // refuses a queue whose node is down.
  using Ask = std::function<void(core::QueueRemote&, core::QueueRemote::Reply)>;
  using RemoteThen = std::function<Status(const core::RemoteReply&)>;
  Status AskHome(const core::Queue& queue, uint16_t class_id, uint16_t method_id, const Ask& ask,
                 RemoteThen then);
  std::string HomeDownText(const core::Queue& queue);
  // Asks the home of `q` for its counts (AskHome's `ask`).
  Ask StatOf(const std::shared_ptr<core::Queue>& q);
  Status Check(core::Access access, const std::string& resource, const char* kind);
  // The user's topic permission on `exchange`, when it is a topic exchange
  // (docs/access.md): 403 when `routing_key` does not match.
  Status CheckTopic(core::Access access, const std::string& exchange,
                    const std::string& routing_key);
  // Hands a metadata change to the broker's gate, holding the connection's
  // input (Connection::Hold); `then`
  // turns its outcome into the reply. An error `then` returns closes the
  // channel as one from method (class_id, method_id) would; answered at once
  // (a node alone), it is returned from here for the dispatch to handle.
  using Then = std::function<Status(const core::Outcome&)>;
  Status Submit(core::Command command, uint16_t class_id, uint16_t method_id, Then then);
  // What Submit is made of, for anything answered later (a queue's home):
  // `start` asks, and calls the Finish it is given once, now or later, with
  // what makes the reply; input is held until then, and an error it returns
  // closes the channel as one from (class_id, method_id) would.
  using Finish = std::function<void(const std::function<Status()>&)>;
  Status Await(uint16_t class_id, uint16_t method_id, const std::function<void(Finish)>& start);

  // channel_basic.cc: basic, confirm and tx classes
  Status HandleBasicQos(const amqp::BasicQos& m);
  Status HandleBasicConsume(amqp::BasicConsume& m);
  Status ConsumeReplyTo(const amqp::BasicConsume& m);
  // basic.consume of a queue homed on another member: consume-ok once the
  // home took the consumer.
  Status ConsumeRemote(const std::shared_ptr<core::Queue>& queue, amqp::BasicConsume& m,
                       const std::string& tag, int priority);
  Status HandleBasicCancel(const amqp::BasicCancel& m);
  Status HandleBasicCancelOk(const amqp::BasicCancelOk& m);
  Status HandleBasicPublish(amqp::BasicPublish& m);
  Status FinishPublish();
  Status Route(const std::string& exchange, bool mandatory, const core::MessagePtr& message,
               uint64_t seq);
  Status HandleBasicGet(const amqp::BasicGet& m);
  void SendGet(const std::shared_ptr<core::Queue>& queue, std::optional<core::QueueEntry> entry,
               uint32_t message_count, bool no_ack);
  Status Settle(TxAck kind, uint64_t tag, bool multiple);
  Status HandleBasicRecover(bool requeue, bool reply);
  Status HandleTxCommit();
  Status HandleTxRollback();
  void SendReturn(const core::Message& message, const std::string& exchange);
  void SendContent(const core::Message& message);
  // Sends a routed message on to the homes of the queues homed elsewhere.
  // `waits`: answers publish `seq` (0: unconfirmed) now waits for; `failed`:
  // some home cannot be reached at all (the publish is nacked).
  // Sends a message routed to queues homed on other members to their
  // homes; each home's answer is a wait of `ticket` (null: nothing waits).
  void Forward(std::vector<core::RemoteRoute>& routes, const core::MessagePtr& message,
               const core::Ticket& ticket);
  // RabbitMQ's refusal of a commit some of whose messages a queue refused.
  static Status PartialCommit();
  // Settles deliveries from queues homed elsewhere, at their homes.
  void SettleRemote(std::vector<Unacked> entries, core::SettleKind kind);
  // A delivery from a home to the client, and the home's credit for it.
  void DeliverRemote(const std::shared_ptr<core::Consumer>& c, core::QueueEntry entry);
  // Deliveries held by the global prefetch: sent while it allows, or given
  // back to their homes (those of consumer `of`; null: all).
  void ReleaseHeldRemote();
  void RequeueHeldRemote(const core::Consumer* of);
  // channel_failover.cc: a consumer of a mirrored queue whose home went
  // (docs/mirroring.md, "Consumers across a failover") follows the queue to
  // its next home, unless it asked x-cancel-on-ha-failover.
  bool Follows(const core::Consumer& c);
  void FollowLater(const std::string& tag);
  void Follow(const std::string& tag);
  // Confirms publish `seq` (ack, or nack when refused) once its ticket is
  // done. Confirms and commit-oks go out in publish order.
  void Confirm(uint64_t seq, const core::Ticket& ticket);
  // Queues an answer (a confirm, or tx.commit-ok) behind its ticket. True
  // (nothing queued) when it is done and nothing is queued before it: the
  // caller answers at once.
  bool AwaitTicket(uint64_t seq, bool commit, const core::Ticket& ticket);
  // Sends the confirms (and tx.commit-oks) whose tickets are done, in order.
  void DrainAwaiting();
  void ConfirmNow(uint64_t seq, bool ack, bool owe);
  void RemoveConsumer(std::unordered_map<std::string, std::shared_ptr<core::Consumer>>::iterator it);
  void RequeueAll(std::vector<Unacked> entries);
  std::string NewConsumerTag();
  // Adds one to `counter`, the channel's and the node's (Broker::counters()),
  // for the exporter and the management API.
  void Count(uint64_t core::MessageCounters::*counter);
  // A delivery of `kind` (consume or get, manual or automatic ack).
  void CountDelivery(bool redelivered, uint64_t core::MessageCounters::*kind);
  core::VHost& vhost();
  template <class M>
  void Reply(const M& m) {
    amqp::AppendMethodFrame(Out(), number_, m);
    Sent();
  }
  std::string& Out();
  void Sent();

  Connection& connection_;
  uint16_t number_;
  bool closing_ = false;
  bool shut_down_ = false;

  std::optional<PendingPublish> publish_;
  std::unordered_map<std::string, std::shared_ptr<core::Consumer>> consumers_;
  // Consumers of queues homed elsewhere: their id at the home -> tag.
  std::unordered_map<uint64_t, std::string> remote_consumers_;
  std::map<uint64_t, Unacked> unacked_;
  uint64_t next_delivery_tag_ = 1;
  int64_t last_active_ms_ = 0;  // runtime NowMs of the last method or delivery
  uint16_t prefetch_count_ = 0;         // for consumers created from now on
  uint16_t global_prefetch_ = 0;        // whole channel (global=true)
  uint64_t consumer_unacked_ = 0;       // unacked deliveries to consumers
  // Consumers following their mirrored queue to its next home: tag -> when
  // their home went (ms), for the bound on how long they wait.
  std::map<std::string, int64_t> following_;
  // Deliveries from homes on other nodes past the global prefetch, in the
  // order they came (docs/cluster.md, "Queues across nodes").
  std::deque<Unacked> held_remote_;

  // Publisher confirms: seqs up to confirmed_ have been answered; acks up to
  // pending_ack_ are owed and go out coalesced in FlushConfirms.
  bool confirm_mode_ = false;
  uint64_t next_publish_seq_ = 1;
  uint64_t confirmed_ = 0;
  uint64_t pending_ack_ = 0;
  struct Awaiting {
    uint64_t seq;            // the publish confirmed, or the tx.commit's id
    bool commit_ok = false;  // tx.commit-ok rather than a confirm
  };
  core::InOrder<Awaiting> awaiting_;

  bool tx_mode_ = false;
  std::vector<TxPublish> tx_publishes_;
  std::vector<TxOp> tx_acks_;
  // tx.commits so far: each one's id, for its homes' answers to find it.
  uint64_t tx_commits_ = 0;
  // While tx.commit routes its publishes: the one ticket they all add to.
  core::Ticket tx_ticket_;

  std::string reply_to_key_;         // amq.rabbitmq.reply-to.<token> when consuming
  std::string reply_to_consumer_tag_;
  // The last exchange this channel was allowed to publish to.
  std::optional<std::string> last_write_checked_;
  uint64_t last_write_epoch_ = 0;  // Broker::permissions_epoch() when it was checked
  uint64_t consumer_tag_counter_ = 0;
  core::MessageCounters counted_;
  bool publishing_ = false;  // it has published: one of the node's publishers
  // Expires with the channel: a metadata change answered later finds out.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace warren::protocol
