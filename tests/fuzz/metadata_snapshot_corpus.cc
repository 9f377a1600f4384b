// Writes the seed corpus of warren_fuzz_metadata_snapshot: the unit tests'
// example metadata (tests/unit/cluster/metadata_examples.h) as a snapshot,
// and a snapshot of one vhost. Usage: warren_snapshot_fuzz_corpus <dir>,
// which fills <dir>/corpus-metadata_snapshot (tests/fuzz/ in the source tree).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "broker/cluster/metadata_snapshot.h"
#include "cluster/metadata_examples.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>\n", argv[0]);
    return 2;
  }
  namespace cluster = warren::cluster;
  std::map<std::string, std::string> seeds = {
      {"examples", cluster::EncodeSnapshot(cluster::test::ExampleDefinitions())},
      {"one_vhost", cluster::EncodeSnapshot({warren::core::cmd::AddVHost{"/"}})},
  };
  std::filesystem::path dir = std::filesystem::path(argv[1]) / "corpus-metadata_snapshot";
  std::filesystem::create_directories(dir);
  for (const auto& [name, bytes] : seeds)
    std::ofstream(dir / name, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return 0;
}
