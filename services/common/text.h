// Client-supplied bytes where text is expected. AMQP strings are bytes
// (spec 4.2.5.3): Warren stores and forwards them unchanged, and converts
// only at the edges that need text: JSON and protobuf `string` fields need
// valid UTF-8, log lines need no control bytes (docs/errors.md "Untrusted
// input").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace warren {

// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), the test JSON and protobuf apply.
bool IsUtf8(std::string_view s);

// `s` with every ill-formed sequence replaced by U+FFFD, so it can go into a
// JSON or protobuf string; `s` itself when it is already UTF-8.
std::string ToUtf8(std::string_view s);

// `s` safe to log: control bytes (C0, DEL, C1), backslash and bytes that are not
// UTF-8 are written as \n, \t, \\ or \xNN; at most `max` bytes of `s` are
// shown, then "...".
std::string LogSafe(std::string_view s, size_t max = 256);

// `s` safe to print on a terminal (warrenctl's tables): as LogSafe, but a
// backslash stays as it is and nothing is cut.
std::string Printable(std::string_view s);

// Bytes as lowercase hex, two digits each; and back, nullopt unless `hex`
// is an even number of hex digits (either case).
std::string ToHex(std::string_view bytes);
std::optional<std::string> FromHex(std::string_view hex);

// ASCII letters lowercased, other bytes as they are (header values, names).
std::string AsciiLower(std::string s);

}  // namespace warren
