// The state machine the simulated nodes replicate: the commands applied so
// far, by index. Its snapshot is that map as text ("index=command\n"...).
#pragma once

#include <charconv>
#include <map>
#include <string>
#include <string_view>

#include "raft/types.h"

namespace warren::raft::sim {

struct SimStateMachine {
  Index applied = 0;
  std::map<Index, std::string> commands;

  std::string Serialize() const {
    std::string out;
    for (const auto& [index, command] : commands) {
      out += std::to_string(index) + "=" + command + "\n";
    }
    return out;
  }

  // False when `data` is not what Serialize() makes.
  static bool Parse(std::string_view data, std::map<Index, std::string>& out) {
    while (!data.empty()) {
      size_t eq = data.find('=');
      size_t nl = data.find('\n');
      if (eq == std::string_view::npos || nl == std::string_view::npos || nl < eq) return false;
      Index index = 0;
      if (std::from_chars(data.data(), data.data() + eq, index).ptr != data.data() + eq) {
        return false;
      }
      out[index] = std::string(data.substr(eq + 1, nl - eq - 1));
      data.remove_prefix(nl + 1);
    }
    return true;
  }

  bool Restore(const Snapshot& s) {
    commands.clear();
    applied = s.meta.index;
    return Parse(s.data, commands);
  }
};

}  // namespace warren::raft::sim
