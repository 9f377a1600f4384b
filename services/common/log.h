// Logging goes to stderr through spdlog (docs/architecture.md: every executable
// logs to stderr). Include this only in .cc files; headers stay light.
#pragma once

#include <spdlog/spdlog.h>

namespace warren {

// Sets the global level from "trace".."error"; unknown names mean info.
void InitLogging(const std::string& level);

}  // namespace warren
