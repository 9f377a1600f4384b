// The records of definitions.log (framing: record.h): one put or delete per
// record, payloads in AMQP wire encoding (amqp/wire.h; tables as
// amqp/field_table.h). Shared by the log, its fuzzer and its tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "broker/store/definitions.h"

namespace warren::store::defs {

enum Type : uint8_t {
  kVHostPut = 1, kVHostDelete, kUserPut, kUserDelete, kPermissionsPut, kPermissionsDelete,
  kExchangePut, kExchangeDelete, kQueuePut, kQueueDelete, kBindingPut, kBindingDelete,
  kNextQueueId, kPolicyPut, kPolicyDelete, kMetadataApplied, kParameterPut, kParameterDelete,
  kTopicPermissionPut, kTopicPermissionDelete,
};

// Ends an operator policy's put or delete record (a user policy's ends
// before it: records from before operator policies read as user policies).
inline constexpr char kOperatorPolicyFlag = 1;

std::string Strings(std::initializer_list<std::string_view> items);
// The name, then the metadata when there is any (records from before vhost
// metadata end at the name).
std::string EncodeVHost(const std::string& name, const core::VHostMetadata& metadata);
// Name, hash and tags, then the limits when there are any (records from
// before user limits end at the tags).
std::string EncodeUser(const core::UserDef& u);
std::string EncodePermissions(const core::PermissionDef& p);
std::string EncodeTopicPermission(const core::TopicPermissionDef& p);
std::string EncodeExchange(const core::ExchangeDef& e);
std::string EncodeQueue(const core::QueueDef& q);
std::string EncodeBinding(const core::BindingDef& b);
std::string EncodePolicy(const core::PolicyDef& p);
// The payload of kNextQueueId and kMetadataApplied: one 64-bit number.
std::string EncodeNumber(uint64_t n);

// Applies one record to `m`, reading field tables up to `max_depth` levels.
// Returns why it does not decode, or "" when it was applied.
std::string Apply(Definitions& m, uint8_t type, std::string_view payload, int max_depth);
// What a record is about, for error messages: "queue record (vhost '/',
// name 'q')"; as much as can be read of it.
std::string Describe(uint8_t type, std::string_view payload);

}  // namespace warren::store::defs
