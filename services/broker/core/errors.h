// Builds an Error the way RabbitMQ words it: "NOT_FOUND - no queue 'q' in
// vhost '/'". Used by the model and the protocol layer alike.
#pragma once

#include <string>

#include "amqp/constants.h"
#include "common/status.h"

namespace warren::core {

inline Error AmqpError(amqp::ReplyCode code, const std::string& text) {
  return Error{static_cast<uint16_t>(code),
               std::string(amqp::ReplyCodeName(code)) + " - " + text};
}

}  // namespace warren::core
