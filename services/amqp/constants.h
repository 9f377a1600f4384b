// Reply codes (spec 1.8.2 "Constants") and the text prefixes RabbitMQ uses
// for them in channel.close / connection.close.
#pragma once

#include <cstdint>
#include <string_view>

namespace warren::amqp {

enum class ReplyCode : uint16_t {
  kReplySuccess = 200,
  kContentTooLarge = 311,
  kNoRoute = 312,
  kNoConsumers = 313,
  kConnectionForced = 320,
  kInvalidPath = 402,
  kAccessRefused = 403,
  kNotFound = 404,
  kResourceLocked = 405,
  kPreconditionFailed = 406,
  kFrameError = 501,
  kSyntaxError = 502,
  kCommandInvalid = 503,
  kChannelError = 504,
  kUnexpectedFrame = 505,
  kResourceError = 506,
  kNotAllowed = 530,
  kNotImplemented = 540,
  kInternalError = 541,
};

// True for codes that close the whole connection (spec: "hard errors").
constexpr bool IsConnectionError(ReplyCode c) {
  switch (c) {
    case ReplyCode::kConnectionForced:
    case ReplyCode::kInvalidPath:
    case ReplyCode::kFrameError:
    case ReplyCode::kSyntaxError:
    case ReplyCode::kCommandInvalid:
    case ReplyCode::kChannelError:
    case ReplyCode::kUnexpectedFrame:
    case ReplyCode::kResourceError:
    case ReplyCode::kNotAllowed:
    case ReplyCode::kNotImplemented:
    case ReplyCode::kInternalError:
      return true;
    default:
      return false;
  }
}

std::string_view ReplyCodeName(ReplyCode c);

}  // namespace warren::amqp
