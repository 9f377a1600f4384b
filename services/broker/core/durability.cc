#include "broker/core/durability.h"

#include <utility>

namespace warren::core {

Durability::~Durability() {
  if (waiting_ && store_) store_->CancelWait(this);
}

bool Durability::Synced(const TicketState& t) const {
  return t.durable_at_ == 0 || !store_ || store_->synced() >= t.durable_at_;
}

bool Durability::Await(const Ticket& ticket, Done done) {
  if (ticket->waits_ == 0 && Synced(*ticket)) {
    ticket->done_ = true;
    return true;
  }
  ticket->on_done_ = std::move(done);
  if (!Synced(*ticket)) {
    by_position_.emplace(ticket->durable_at_, ticket);
    if (!waiting_) {
      waiting_ = true;
      store_->WaitForSync(this);
    }
  }
  return false;
}

void Durability::Answer(const Ticket& ticket, bool ok) {
  if (ticket->waits_ == 0) return;  // more answers than waits: ignored
  --ticket->waits_;
  if (!ok) ticket->ok_ = false;
  // Not awaited yet: Await finds it done. Still syncing: OnSynced finishes it.
  if (ticket->waits_ == 0 && ticket->on_done_ && Synced(*ticket)) Finish(ticket);
}

void Durability::OnSynced() {
  waiting_ = false;
  if (!store_) return;
  const uint64_t synced = store_->synced();
  std::vector<Ticket> ready;
  while (!by_position_.empty() && by_position_.begin()->first <= synced) {
    ready.push_back(std::move(by_position_.begin()->second));
    by_position_.erase(by_position_.begin());
  }
  if (!by_position_.empty()) {
    waiting_ = true;
    store_->WaitForSync(this);
  }
  // In position order, so one caller's answers come in the order written.
  for (const Ticket& t : ready)
    if (t->waits_ == 0) Finish(t);
}

void Durability::Finish(const Ticket& ticket) {
  if (ticket->done_) return;
  ticket->done_ = true;
  Done done = std::move(ticket->on_done_);
  ticket->on_done_ = nullptr;
  done(ticket->ok_);
}

void Durability::Forget() {
  if (waiting_ && store_) store_->CancelWait(this);
  waiting_ = false;
  by_position_.clear();
}

}  // namespace warren::core
