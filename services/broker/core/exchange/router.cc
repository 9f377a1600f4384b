#include "broker/core/exchange/router.h"

#include "broker/core/exchange/direct.h"
#include "broker/core/exchange/fanout.h"
#include "broker/core/exchange/headers.h"
#include "broker/core/exchange/topic.h"

namespace warren::core {

std::unique_ptr<Router> MakeRouter(std::string_view type) {
  if (type == "direct") return std::make_unique<DirectRouter>();
  if (type == "fanout") return std::make_unique<FanoutRouter>();
  if (type == "topic") return std::make_unique<TopicRouter>();
  if (type == "headers") return std::make_unique<HeadersRouter>();
  return nullptr;
}

}  // namespace warren::core
