// The seed inputs of a fuzz target (tests/fuzz/corpus-NAME in the source
// tree), for the unit tests that keep each target's seeds meaningful: every
// file's path and bytes, in directory order.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace warren::testkit {

inline std::vector<std::pair<std::filesystem::path, std::string>> FuzzSeeds(
    const std::string& corpus) {
  namespace fs = std::filesystem;
  std::vector<std::pair<fs::path, std::string>> seeds;
  for (const auto& entry :
       fs::directory_iterator(fs::path(WARREN_SOURCE_DIR) / "tests" / "fuzz" / corpus)) {
    std::ifstream file(entry.path(), std::ios::binary);
    seeds.emplace_back(entry.path(), std::string(std::istreambuf_iterator<char>(file),
                                                 std::istreambuf_iterator<char>()));
  }
  return seeds;
}

}  // namespace warren::testkit
