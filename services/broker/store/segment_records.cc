#include "broker/store/segment_records.h"

namespace warren::store {

std::string EncodePublish(uint64_t id, int64_t wall_ms, int64_t ttl_ms, uint8_t priority,
                          const std::vector<uint64_t>& queues, std::string_view exchange,
                          std::string_view routing_key, std::string_view raw_properties,
                          std::string_view body) {
  std::string out;
  amqp::Writer w(out);
  w.U64(id);
  w.U64(static_cast<uint64_t>(wall_ms));
  w.U64(static_cast<uint64_t>(ttl_ms));
  w.U8(priority);
  w.U16(static_cast<uint16_t>(queues.size()));
  for (uint64_t q : queues) w.U64(q);
  w.ShortStr(exchange);
  w.ShortStr(routing_key);
  w.LongStr(raw_properties);
  w.Bytes(body);
  return out;
}

std::string EncodeMark(uint64_t queue, uint64_t id, uint32_t segment) {
  std::string out;
  amqp::Writer w(out);
  w.U64(queue);
  w.U64(id);
  w.U32(segment);
  return out;
}

bool DecodePublishHeader(amqp::Reader& r, PublishHeader& h) {
  h.id = r.U64();
  h.wall_ms = static_cast<int64_t>(r.U64());
  h.ttl_ms = static_cast<int64_t>(r.U64());
  h.priority = r.U8();
  uint16_t n = r.U16();
  for (uint16_t i = 0; i < n && r.ok(); ++i) h.queues.push_back(r.U64());
  return r.ok();
}

bool DecodeMark(uint8_t type, std::string_view payload, Mark& m) {
  if (type != static_cast<uint8_t>(LogRecord::kDeliver) &&
      type != static_cast<uint8_t>(LogRecord::kSettle))
    return false;
  amqp::Reader r(payload);
  m.kind = static_cast<LogRecord>(type);
  m.queue = r.U64();
  m.id = r.U64();
  m.segment = r.U32();
  return r.ok();
}

}  // namespace warren::store
