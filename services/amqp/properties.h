// The basic class content header (spec 4.2.6.1 and the basic class's 14
// properties). A content header frame carries class id, weight, body size and
// the property flags followed by the present properties.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "amqp/field_table.h"

namespace warren::amqp {

struct BasicProperties {
  std::optional<std::string> content_type;      // flag bit 15
  std::optional<std::string> content_encoding;  // 14
  std::optional<FieldTable> headers;            // 13
  std::optional<uint8_t> delivery_mode;         // 12
  std::optional<uint8_t> priority;              // 11
  std::optional<std::string> correlation_id;    // 10
  std::optional<std::string> reply_to;          // 9
  std::optional<std::string> expiration;        // 8
  std::optional<std::string> message_id;        // 7
  std::optional<uint64_t> timestamp;            // 6
  std::optional<std::string> type;              // 5
  std::optional<std::string> user_id;           // 4
  std::optional<std::string> app_id;            // 3
  std::optional<std::string> cluster_id;        // 2

  bool persistent() const { return delivery_mode && *delivery_mode == 2; }
  bool operator==(const BasicProperties&) const = default;
};

struct ContentHeader {
  uint16_t class_id = 60;
  uint64_t body_size = 0;
  BasicProperties properties;
};

// Encodes the property flags and properties only (what follows class id,
// weight and body size in a content header payload).
void EncodeProperties(const BasicProperties& p, std::string& out);
// Decodes a whole content header payload. False on truncation, trailing bytes,
// or a malformed headers table.
bool DecodeContentHeader(std::string_view payload, ContentHeader& out);
// Splits a content header payload without decoding properties: the encoded
// flags+properties bytes and the body size. Used on the publish hot path,
// where the raw property bytes are forwarded untouched to consumers.
bool SplitContentHeader(std::string_view payload, uint16_t& class_id, uint64_t& body_size,
                        std::string_view& raw_properties);
bool DecodeProperties(std::string_view raw, BasicProperties& out);

}  // namespace warren::amqp
