#include "amqp/properties.h"

#include "amqp/wire.h"

namespace warren::amqp {

namespace {

constexpr uint16_t kContentType = 1 << 15;
constexpr uint16_t kContentEncoding = 1 << 14;
constexpr uint16_t kHeaders = 1 << 13;
constexpr uint16_t kDeliveryMode = 1 << 12;
constexpr uint16_t kPriority = 1 << 11;
constexpr uint16_t kCorrelationId = 1 << 10;
constexpr uint16_t kReplyTo = 1 << 9;
constexpr uint16_t kExpiration = 1 << 8;
constexpr uint16_t kMessageId = 1 << 7;
constexpr uint16_t kTimestamp = 1 << 6;
constexpr uint16_t kType = 1 << 5;
constexpr uint16_t kUserId = 1 << 4;
constexpr uint16_t kAppId = 1 << 3;
constexpr uint16_t kClusterId = 1 << 2;
constexpr uint16_t kContinuation = 1;

void ReadStr(Reader& r, uint16_t flags, uint16_t bit, std::optional<std::string>& field) {
  if (flags & bit) field.emplace(r.ShortStr());
}

}  // namespace

void EncodeProperties(const BasicProperties& p, std::string& out) {
  Writer w(out);
  uint16_t flags = 0;
  if (p.content_type) flags |= kContentType;
  if (p.content_encoding) flags |= kContentEncoding;
  if (p.headers) flags |= kHeaders;
  if (p.delivery_mode) flags |= kDeliveryMode;
  if (p.priority) flags |= kPriority;
  if (p.correlation_id) flags |= kCorrelationId;
  if (p.reply_to) flags |= kReplyTo;
  if (p.expiration) flags |= kExpiration;
  if (p.message_id) flags |= kMessageId;
  if (p.timestamp) flags |= kTimestamp;
  if (p.type) flags |= kType;
  if (p.user_id) flags |= kUserId;
  if (p.app_id) flags |= kAppId;
  if (p.cluster_id) flags |= kClusterId;
  w.U16(flags);
  if (p.content_type) w.ShortStr(*p.content_type);
  if (p.content_encoding) w.ShortStr(*p.content_encoding);
  if (p.headers) EncodeTable(*p.headers, out);
  if (p.delivery_mode) w.U8(*p.delivery_mode);
  if (p.priority) w.U8(*p.priority);
  if (p.correlation_id) w.ShortStr(*p.correlation_id);
  if (p.reply_to) w.ShortStr(*p.reply_to);
  if (p.expiration) w.ShortStr(*p.expiration);
  if (p.message_id) w.ShortStr(*p.message_id);
  if (p.timestamp) w.U64(*p.timestamp);
  if (p.type) w.ShortStr(*p.type);
  if (p.user_id) w.ShortStr(*p.user_id);
  if (p.app_id) w.ShortStr(*p.app_id);
  if (p.cluster_id) w.ShortStr(*p.cluster_id);
}

bool DecodeProperties(std::string_view raw, BasicProperties& p) {
  Reader r(raw);
  p = BasicProperties{};
  uint16_t flags = r.U16();
  // Property flag words chain while bit 0 is set; basic has 14 properties, so
  // any further words must be all-zero.
  uint16_t word = flags;
  while (r.ok() && (word & kContinuation)) {
    word = r.U16();
    if (word & ~kContinuation) return false;
  }
  if (!r.ok()) return false;
  ReadStr(r, flags, kContentType, p.content_type);
  ReadStr(r, flags, kContentEncoding, p.content_encoding);
  if (flags & kHeaders) {
    FieldTable t;
    if (!DecodeTable(r, t)) return false;
    p.headers = std::move(t);
  }
  if (flags & kDeliveryMode) p.delivery_mode = r.U8();
  if (flags & kPriority) p.priority = r.U8();
  ReadStr(r, flags, kCorrelationId, p.correlation_id);
  ReadStr(r, flags, kReplyTo, p.reply_to);
  ReadStr(r, flags, kExpiration, p.expiration);
  ReadStr(r, flags, kMessageId, p.message_id);
  if (flags & kTimestamp) p.timestamp = r.U64();
  ReadStr(r, flags, kType, p.type);
  ReadStr(r, flags, kUserId, p.user_id);
  ReadStr(r, flags, kAppId, p.app_id);
  ReadStr(r, flags, kClusterId, p.cluster_id);
  return r.ok() && r.empty();
}

bool SplitContentHeader(std::string_view payload, uint16_t& class_id, uint64_t& body_size,
                        std::string_view& raw_properties) {
  Reader r(payload);
  class_id = r.U16();
  r.U16();  // weight, always 0
  body_size = r.U64();
  if (!r.ok() || r.remaining() < 2) return false;
  raw_properties = payload.substr(12);
  return true;
}

bool DecodeContentHeader(std::string_view payload, ContentHeader& out) {
  std::string_view raw;
  if (!SplitContentHeader(payload, out.class_id, out.body_size, raw)) return false;
  return DecodeProperties(raw, out.properties);
}

}  // namespace warren::amqp
