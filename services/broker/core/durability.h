// One meaning of "confirmed" (docs/durability.md, "The durability ticket").
//
// Every publish that something waits on (a publisher confirm, a tx.commit,
// a home's answer to a publish forwarded from another member) carries a
// Ticket. What the message needs before it counts as held adds to it:
//   - the store position its record was written at (the local fsync), by
//     VHost::Publish when it writes a persistent message;
//   - one wait per copy elsewhere that must hold it (a queue's home on
//     another member, a mirror in sync), answered yes or no.
// The ticket is done once the store has synced past that position and every
// wait has answered; it is refused when any queue or copy refused the
// message. Channels, transactions and homes all ask Durability, so they
// cannot disagree on when a message is safe.
//
// Everything runs on the node's event loop.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>

#include "broker/core/persistence.h"

namespace warren::core {

class Durability;

class TicketState {
 public:
  // The message's record is in the store at `position`: done only once the
  // store synced that far.
  void NeedSync(uint64_t position) { durable_at_ = std::max(durable_at_, position); }
  // One more copy must answer (Durability::Answer).
  void AddWait() { ++waits_; }
  // A queue refused the message: the ticket is done refused.
  void Refuse() { ok_ = false; }

  uint64_t durable_at() const { return durable_at_; }
  uint32_t waits() const { return waits_; }
  bool ok() const { return ok_; }

 private:
  friend class Durability;
  uint64_t durable_at_ = 0;  // 0: nothing written
  uint32_t waits_ = 0;
  bool ok_ = true;
  bool done_ = false;
  std::function<void(bool ok)> on_done_;
};
using Ticket = std::shared_ptr<TicketState>;

inline Ticket NewTicket() { return std::make_shared<TicketState>(); }

class Durability final : public SyncWaiter {
 public:
  using Done = std::function<void(bool ok)>;
  explicit Durability(Persistence*& store) : store_(store) {}
  ~Durability() override;
  Durability(const Durability&) = delete;
  Durability& operator=(const Durability&) = delete;

  // True when `ticket` is done already: `done` is dropped and the caller
  // reads ticket->ok(). Otherwise `done(ok)` runs once, on the loop, when
  // it is done (never before Await returns). A ticket is awaited once.
  bool Await(const Ticket& ticket, Done done);
  // One of the ticket's waits answered (`ok`: that copy holds the message).
  void Answer(const Ticket& ticket, bool ok);
  // The store is replaced (a node's reset): what waited on the old one's
  // positions is dropped unanswered; its waiters went with the old store.
  void Forget();

  // SyncWaiter: the store synced further.
  void OnSynced() override;

 private:
  bool Synced(const TicketState& t) const;
  void Finish(const Ticket& ticket);

  Persistence*& store_;
  // Awaited tickets whose position the store has not synced yet.
  std::multimap<uint64_t, Ticket> by_position_;
  bool waiting_ = false;  // registered with the store
};

// Answers handed out in the order they were added, each once its ticket is
// done: a channel's confirms and commits, a home's answers to one caller.
template <class T>
class InOrder {
 public:
  // The key the next Add returns.
  uint64_t next_key() const { return next_; }
  // Adds `item`, done already (`done`, with `ok`) or not; returns its key.
  uint64_t Add(T item, bool done = false, bool ok = true) {
    items_.push_back({std::move(item), done, ok});
    return next_++;
  }
  // The ticket of `key` is done. False when `key` is no longer held.
  bool Done(uint64_t key, bool ok) {
    if (key < first_ || key >= next_) return false;
    Entry& e = items_[key - first_];
    e.done = true;
    e.ok = ok;
    return true;
  }
  // Hands out the done items at the front, in order: `f(item, ok)`, which
  // returns false to stop there.
  template <class F>
  void Drain(F&& f) {
    while (!items_.empty() && items_.front().done) {
      Entry e = std::move(items_.front());
      items_.pop_front();
      ++first_;
      if (!f(e.item, e.ok)) return;
    }
  }
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  // Forgets every item: later Done calls for them find nothing.
  void Clear() {
    items_.clear();
    first_ = next_;
  }

 private:
  struct Entry {
    T item;
    bool done;
    bool ok;
  };
  std::deque<Entry> items_;
  uint64_t first_ = 0;  // key of items_.front()
  uint64_t next_ = 0;
};

}  // namespace warren::core
