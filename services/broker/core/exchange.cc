#include "broker/core/exchange.h"

namespace warren::core {

Exchange::Exchange(std::string name, std::string type, ExchangeOptions options,
                   std::unique_ptr<Router> router)
    : name_(std::move(name)), type_(std::move(type)), options_(std::move(options)),
      router_(std::move(router)) {
  if (const amqp::FieldValue* ae = options_.arguments.Find("alternate-exchange"))
    if (const std::string* s = ae->AsString()) alternate_ = *s;
}

}  // namespace warren::core
