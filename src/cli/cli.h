// The berth command line.
//
// Every subcommand finds berthd the same way: --endpoint URL, else
// BERTH_ENDPOINT, else the <data-dir>/endpoint file of --data-dir, else
// http://127.0.0.1:4566; and credentials from --data-dir of a local berthd
// (its <data-dir>/credentials), else the standard AWS way (environment,
// AWS_SHARED_CREDENTIALS_FILE, profiles).
//
// The endpoint may be https:// (AWS_CA_BUNDLE adds trusted CAs). For the
// stack commands (plan, apply, destroy, ...) the value `aws` (kAwsEndpoint)
// means real AWS: every service at its public endpoint in the stack's region
// (stack::awsServiceEndpoint), signed with the standard AWS credentials
// (environment or shared credentials file; --data-dir is not used).
#pragma once

#include <string>
#include <string_view>

namespace berth::cli {

inline constexpr std::string_view kAwsEndpoint = "aws";

struct Connection {
  std::string endpoint;
  std::string data_dir;  // empty: use the standard AWS credential chain
};

// The endpoint from a flag value, BERTH_ENDPOINT, <data_dir>/endpoint, or the default.
std::string resolveEndpoint(const std::string& flag_value, const std::string& data_dir = {});

int run(int argc, char** argv);

}  // namespace berth::cli
