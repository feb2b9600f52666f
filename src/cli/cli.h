// The berth command line.
//
// Every subcommand finds berthd the same way: --endpoint URL, else
// BERTH_ENDPOINT, else http://127.0.0.1:4566; and credentials the standard
// AWS way (environment, AWS_SHARED_CREDENTIALS_FILE, profiles), or from
// --data-dir of a local berthd (its <data-dir>/credentials).
#pragma once

#include <string>

namespace berth::cli {

struct Connection {
  std::string endpoint;
  std::string data_dir;  // empty: use the standard AWS credential chain
};

// The endpoint from a flag value, BERTH_ENDPOINT, or the default.
std::string resolveEndpoint(const std::string& flag_value);

int run(int argc, char** argv);

}  // namespace berth::cli
