// Dead-lettering as RabbitMQ 3.13 does it: the x-death header (one entry per
// (queue, reason), newest first, with a count), x-first-death-* and
// x-last-death-* headers, and the expiration property moved into the entry as
// original-expiration so the copy does not expire again for the same reason.
#pragma once

#include <optional>
#include <string>

#include "broker/core/message.h"

namespace warren::core {

// reason: "rejected", "expired", "maxlen". The copy is addressed to
// dead_letter_exchange with routing_key (or the original key when unset).
MessagePtr MakeDeadLetter(const Message& message, const std::string& queue, const std::string& reason,
                          int64_t now_seconds, const std::string& dead_letter_exchange,
                          const std::optional<std::string>& routing_key);

// True when routing `message` (already dead-lettered) into `queue` would
// close a cycle with no rejection in it: RabbitMQ drops such a message.
bool IsDeadLetterCycle(const Message& message, const std::string& queue);

}  // namespace warren::core
