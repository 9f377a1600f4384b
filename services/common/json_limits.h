// Bounds on JSON from outside (HTTP bodies, gRPC fields that carry JSON,
// definitions files), checked before any parser or converter sees the text,
// so no recursion in Warren or nlohmann-json can run deep on hostile input
// (docs/errors.md "Untrusted input").
#pragma once

#include <string_view>

namespace warren {

// Arrays and objects nested deeper than this are refused in every JSON
// document Warren reads. It leaves room for a field table of
// amqp::kMaxTableDepth levels inside a definitions document.
inline constexpr int kMaxJsonDepth = 100;

// True when no array or object in `text` lies deeper than `max_depth` (the
// outermost is level 1). Only brackets outside strings count; whether the
// text is valid JSON is the parser's to say.
bool JsonDepthWithin(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace warren
