// The payloads of the message log's records (framing: record.h):
//
//   publish  u64 id, u64 wall ms, u64 ttl ms (-1: none), u8 priority,
//            u16 n + n × u64 durable queue ids (none: a page-out copy),
//            shortstr exchange, shortstr routing key, longstr properties,
//            body (the rest)
//   deliver  u64 queue id, u64 message id, u32 segment of its publish record
//   settle   the same as deliver
//
// big-endian (amqp/wire.h). Shared by the log, recovery, the fuzzers and the
// tests that write old-format segments by hand.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "amqp/wire.h"

namespace warren::store {

enum class LogRecord : uint8_t { kPublish = 1, kDeliver = 2, kSettle = 3 };

// The fixed part of a publish record, up to the queue ids.
struct PublishHeader {
  uint64_t id = 0;
  int64_t wall_ms = 0;
  int64_t ttl_ms = -1;
  uint8_t priority = 0;
  std::vector<uint64_t> queues;
};

// A deliver or settle record.
struct Mark {
  LogRecord kind = LogRecord::kSettle;
  uint64_t queue = 0, id = 0;
  uint32_t segment = 0;  // where the message's publish record is
};

std::string EncodePublish(uint64_t id, int64_t wall_ms, int64_t ttl_ms, uint8_t priority,
                          const std::vector<uint64_t>& queues, std::string_view exchange,
                          std::string_view routing_key, std::string_view raw_properties,
                          std::string_view body);
std::string EncodeMark(uint64_t queue, uint64_t id, uint32_t segment);

// Reads a publish record's header from `r` (left at the exchange).
bool DecodePublishHeader(amqp::Reader& r, PublishHeader& h);
// A deliver or settle record of `type`; false for any other type or bytes.
bool DecodeMark(uint8_t type, std::string_view payload, Mark& m);

}  // namespace warren::store
