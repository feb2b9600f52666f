// The berth command line.
//
// Every subcommand finds berthd the same way: --endpoint URL, else
// BERTH_ENDPOINT, else the <data-dir>/endpoint file of --data-dir, else
// http://127.0.0.1:4566; and credentials from --data-dir of a local berthd
// (its <data-dir>/credentials), else the standard AWS way (environment,
// AWS_SHARED_CREDENTIALS_FILE, profiles).
#pragma once

#include <string>

namespace berth::cli {

struct Connection {
  std::string endpoint;
  std::string data_dir;  // empty: use the standard AWS credential chain
};

// The endpoint from a flag value, BERTH_ENDPOINT, <data_dir>/endpoint, or the default.
std::string resolveEndpoint(const std::string& flag_value, const std::string& data_dir = {});

int run(int argc, char** argv);

}  // namespace berth::cli
