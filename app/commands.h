// Subcommands of the tokenstorm executable that live in their own files, and helpers they share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tokenstorm::app {

// Reads a file ('-' is stdin), up to one byte past the spec parser's 1 MiB limit so that it can say so.
bool readInput(const std::string& path, std::string* text, std::string* error);

// `tokenstorm run` (run_command.cpp).
int cmdRun(const std::vector<std::string>& args);

// `tokenstorm run --in-cluster` (cluster_command.cpp): one runner pod of a LoadTest (docs/operator.md).
struct InClusterOptions {
  bool sim = false;  // every endpoint to the in-process simulator (sim:// endpoints go there anyway)
  uint64_t seed = 1;
  bool quiet = false;
};
int runInCluster(const InClusterOptions& options);

// `tokenstorm operator` (operator_command.cpp): the LoadTest controller.
int cmdOperator(const std::vector<std::string>& args);

}  // namespace tokenstorm::app
