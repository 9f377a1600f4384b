// The AMQP 0-9-1 method table, with RabbitMQ's extensions (exchange.bind,
// basic.nack, confirm, connection.blocked, connection.update-secret).
// Written from the spec's class/method ids and field lists; methods.h turns
// each row into a struct with a field visitor, methods.cc into the codec.
//
// Row:   M(StructName, class-id, method-id, has-content, FIELDS)
// Field: F(kind, name) where kind is one of
//        Octet Short Long LongLong ShortStr LongStr Bit Table Timestamp.
// Adjacent Bit fields pack into one octet, least significant bit first
// (spec 4.2.5.2).
#pragma once

#define WARREN_NO_FIELDS(F)

#define WARREN_CONNECTION_START(F) \
  F(Octet, version_major) F(Octet, version_minor) F(Table, server_properties) \
  F(LongStr, mechanisms) F(LongStr, locales)
#define WARREN_CONNECTION_START_OK(F) \
  F(Table, client_properties) F(ShortStr, mechanism) F(LongStr, response) F(ShortStr, locale)
#define WARREN_CONNECTION_SECURE(F) F(LongStr, challenge)
#define WARREN_CONNECTION_SECURE_OK(F) F(LongStr, response)
#define WARREN_CONNECTION_TUNE(F) F(Short, channel_max) F(Long, frame_max) F(Short, heartbeat)
#define WARREN_CONNECTION_OPEN(F) F(ShortStr, virtual_host) F(ShortStr, capabilities) F(Bit, insist)
#define WARREN_CONNECTION_OPEN_OK(F) F(ShortStr, known_hosts)
#define WARREN_CLOSE(F) \
  F(Short, reply_code) F(ShortStr, reply_text) F(Short, class_id) F(Short, method_id)
#define WARREN_CONNECTION_BLOCKED(F) F(ShortStr, reason)
#define WARREN_CONNECTION_UPDATE_SECRET(F) F(LongStr, new_secret) F(ShortStr, reason)

#define WARREN_CHANNEL_OPEN(F) F(ShortStr, out_of_band)
#define WARREN_CHANNEL_OPEN_OK(F) F(LongStr, channel_id)
#define WARREN_CHANNEL_FLOW(F) F(Bit, active)

#define WARREN_EXCHANGE_DECLARE(F) \
  F(Short, ticket) F(ShortStr, exchange) F(ShortStr, type) F(Bit, passive) F(Bit, durable) \
  F(Bit, auto_delete) F(Bit, internal) F(Bit, no_wait) F(Table, arguments)
#define WARREN_EXCHANGE_DELETE(F) \
  F(Short, ticket) F(ShortStr, exchange) F(Bit, if_unused) F(Bit, no_wait)
#define WARREN_EXCHANGE_BIND(F) \
  F(Short, ticket) F(ShortStr, destination) F(ShortStr, source) F(ShortStr, routing_key) \
  F(Bit, no_wait) F(Table, arguments)

#define WARREN_QUEUE_DECLARE(F) \
  F(Short, ticket) F(ShortStr, queue) F(Bit, passive) F(Bit, durable) F(Bit, exclusive) \
  F(Bit, auto_delete) F(Bit, no_wait) F(Table, arguments)
#define WARREN_QUEUE_DECLARE_OK(F) \
  F(ShortStr, queue) F(Long, message_count) F(Long, consumer_count)
#define WARREN_QUEUE_BIND(F) \
  F(Short, ticket) F(ShortStr, queue) F(ShortStr, exchange) F(ShortStr, routing_key) \
  F(Bit, no_wait) F(Table, arguments)
#define WARREN_QUEUE_UNBIND(F) \
  F(Short, ticket) F(ShortStr, queue) F(ShortStr, exchange) F(ShortStr, routing_key) \
  F(Table, arguments)
#define WARREN_QUEUE_PURGE(F) F(Short, ticket) F(ShortStr, queue) F(Bit, no_wait)
#define WARREN_MESSAGE_COUNT(F) F(Long, message_count)
#define WARREN_QUEUE_DELETE(F) \
  F(Short, ticket) F(ShortStr, queue) F(Bit, if_unused) F(Bit, if_empty) F(Bit, no_wait)

#define WARREN_BASIC_QOS(F) F(Long, prefetch_size) F(Short, prefetch_count) F(Bit, global)
#define WARREN_BASIC_CONSUME(F) \
  F(Short, ticket) F(ShortStr, queue) F(ShortStr, consumer_tag) F(Bit, no_local) \
  F(Bit, no_ack) F(Bit, exclusive) F(Bit, no_wait) F(Table, arguments)
#define WARREN_CONSUMER_TAG(F) F(ShortStr, consumer_tag)
#define WARREN_BASIC_CANCEL(F) F(ShortStr, consumer_tag) F(Bit, no_wait)
#define WARREN_BASIC_PUBLISH(F) \
  F(Short, ticket) F(ShortStr, exchange) F(ShortStr, routing_key) F(Bit, mandatory) \
  F(Bit, immediate)
#define WARREN_BASIC_RETURN(F) \
  F(Short, reply_code) F(ShortStr, reply_text) F(ShortStr, exchange) F(ShortStr, routing_key)
#define WARREN_BASIC_DELIVER(F) \
  F(ShortStr, consumer_tag) F(LongLong, delivery_tag) F(Bit, redelivered) \
  F(ShortStr, exchange) F(ShortStr, routing_key)
#define WARREN_BASIC_GET(F) F(Short, ticket) F(ShortStr, queue) F(Bit, no_ack)
#define WARREN_BASIC_GET_OK(F) \
  F(LongLong, delivery_tag) F(Bit, redelivered) F(ShortStr, exchange) \
  F(ShortStr, routing_key) F(Long, message_count)
#define WARREN_BASIC_GET_EMPTY(F) F(ShortStr, cluster_id)
#define WARREN_BASIC_ACK(F) F(LongLong, delivery_tag) F(Bit, multiple)
#define WARREN_BASIC_REJECT(F) F(LongLong, delivery_tag) F(Bit, requeue)
#define WARREN_REQUEUE(F) F(Bit, requeue)
#define WARREN_BASIC_NACK(F) F(LongLong, delivery_tag) F(Bit, multiple) F(Bit, requeue)

#define WARREN_CONFIRM_SELECT(F) F(Bit, no_wait)

#define WARREN_AMQP_METHODS(M)                                                  \
  M(ConnectionStart, 10, 10, false, WARREN_CONNECTION_START)                    \
  M(ConnectionStartOk, 10, 11, false, WARREN_CONNECTION_START_OK)               \
  M(ConnectionSecure, 10, 20, false, WARREN_CONNECTION_SECURE)                  \
  M(ConnectionSecureOk, 10, 21, false, WARREN_CONNECTION_SECURE_OK)             \
  M(ConnectionTune, 10, 30, false, WARREN_CONNECTION_TUNE)                      \
  M(ConnectionTuneOk, 10, 31, false, WARREN_CONNECTION_TUNE)                    \
  M(ConnectionOpen, 10, 40, false, WARREN_CONNECTION_OPEN)                      \
  M(ConnectionOpenOk, 10, 41, false, WARREN_CONNECTION_OPEN_OK)                 \
  M(ConnectionClose, 10, 50, false, WARREN_CLOSE)                               \
  M(ConnectionCloseOk, 10, 51, false, WARREN_NO_FIELDS)                         \
  M(ConnectionBlocked, 10, 60, false, WARREN_CONNECTION_BLOCKED)                \
  M(ConnectionUnblocked, 10, 61, false, WARREN_NO_FIELDS)                       \
  M(ConnectionUpdateSecret, 10, 70, false, WARREN_CONNECTION_UPDATE_SECRET)     \
  M(ConnectionUpdateSecretOk, 10, 71, false, WARREN_NO_FIELDS)                  \
  M(ChannelOpen, 20, 10, false, WARREN_CHANNEL_OPEN)                            \
  M(ChannelOpenOk, 20, 11, false, WARREN_CHANNEL_OPEN_OK)                       \
  M(ChannelFlow, 20, 20, false, WARREN_CHANNEL_FLOW)                            \
  M(ChannelFlowOk, 20, 21, false, WARREN_CHANNEL_FLOW)                          \
  M(ChannelClose, 20, 40, false, WARREN_CLOSE)                                  \
  M(ChannelCloseOk, 20, 41, false, WARREN_NO_FIELDS)                            \
  M(ExchangeDeclare, 40, 10, false, WARREN_EXCHANGE_DECLARE)                    \
  M(ExchangeDeclareOk, 40, 11, false, WARREN_NO_FIELDS)                         \
  M(ExchangeDelete, 40, 20, false, WARREN_EXCHANGE_DELETE)                      \
  M(ExchangeDeleteOk, 40, 21, false, WARREN_NO_FIELDS)                          \
  M(ExchangeBind, 40, 30, false, WARREN_EXCHANGE_BIND)                          \
  M(ExchangeBindOk, 40, 31, false, WARREN_NO_FIELDS)                            \
  M(ExchangeUnbind, 40, 40, false, WARREN_EXCHANGE_BIND)                        \
  M(ExchangeUnbindOk, 40, 51, false, WARREN_NO_FIELDS)                          \
  M(QueueDeclare, 50, 10, false, WARREN_QUEUE_DECLARE)                          \
  M(QueueDeclareOk, 50, 11, false, WARREN_QUEUE_DECLARE_OK)                     \
  M(QueueBind, 50, 20, false, WARREN_QUEUE_BIND)                                \
  M(QueueBindOk, 50, 21, false, WARREN_NO_FIELDS)                               \
  M(QueuePurge, 50, 30, false, WARREN_QUEUE_PURGE)                              \
  M(QueuePurgeOk, 50, 31, false, WARREN_MESSAGE_COUNT)                          \
  M(QueueDelete, 50, 40, false, WARREN_QUEUE_DELETE)                            \
  M(QueueDeleteOk, 50, 41, false, WARREN_MESSAGE_COUNT)                         \
  M(QueueUnbind, 50, 50, false, WARREN_QUEUE_UNBIND)                            \
  M(QueueUnbindOk, 50, 51, false, WARREN_NO_FIELDS)                             \
  M(BasicQos, 60, 10, false, WARREN_BASIC_QOS)                                  \
  M(BasicQosOk, 60, 11, false, WARREN_NO_FIELDS)                                \
  M(BasicConsume, 60, 20, false, WARREN_BASIC_CONSUME)                          \
  M(BasicConsumeOk, 60, 21, false, WARREN_CONSUMER_TAG)                         \
  M(BasicCancel, 60, 30, false, WARREN_BASIC_CANCEL)                            \
  M(BasicCancelOk, 60, 31, false, WARREN_CONSUMER_TAG)                          \
  M(BasicPublish, 60, 40, true, WARREN_BASIC_PUBLISH)                           \
  M(BasicReturn, 60, 50, true, WARREN_BASIC_RETURN)                             \
  M(BasicDeliver, 60, 60, true, WARREN_BASIC_DELIVER)                           \
  M(BasicGet, 60, 70, false, WARREN_BASIC_GET)                                  \
  M(BasicGetOk, 60, 71, true, WARREN_BASIC_GET_OK)                              \
  M(BasicGetEmpty, 60, 72, false, WARREN_BASIC_GET_EMPTY)                       \
  M(BasicAck, 60, 80, false, WARREN_BASIC_ACK)                                  \
  M(BasicReject, 60, 90, false, WARREN_BASIC_REJECT)                            \
  M(BasicRecoverAsync, 60, 100, false, WARREN_REQUEUE)                          \
  M(BasicRecover, 60, 110, false, WARREN_REQUEUE)                               \
  M(BasicRecoverOk, 60, 111, false, WARREN_NO_FIELDS)                           \
  M(BasicNack, 60, 120, false, WARREN_BASIC_NACK)                               \
  M(ConfirmSelect, 85, 10, false, WARREN_CONFIRM_SELECT)                        \
  M(ConfirmSelectOk, 85, 11, false, WARREN_NO_FIELDS)                           \
  M(TxSelect, 90, 10, false, WARREN_NO_FIELDS)                                  \
  M(TxSelectOk, 90, 11, false, WARREN_NO_FIELDS)                                \
  M(TxCommit, 90, 20, false, WARREN_NO_FIELDS)                                  \
  M(TxCommitOk, 90, 21, false, WARREN_NO_FIELDS)                                \
  M(TxRollback, 90, 30, false, WARREN_NO_FIELDS)                                \
  M(TxRollbackOk, 90, 31, false, WARREN_NO_FIELDS)
