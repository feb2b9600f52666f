#include "daemon/credentials.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/random.h"

namespace berth::daemon {
namespace {

std::string trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string_view::npos) return {};
  size_t b = s.find_last_not_of(" \t\r");
  return std::string(s.substr(a, b - a + 1));
}

std::string randomFrom(std::string_view alphabet, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out.push_back(alphabet[randomBelow(alphabet.size())]);
  return out;
}

}  // namespace

Result<RootCredentials> parseCredentialsFile(std::string_view text, std::string_view profile) {
  RootCredentials creds;
  bool in_profile = false;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      in_profile = trim(std::string_view(t).substr(1, t.size() - 2)) == profile;
      continue;
    }
    if (!in_profile) continue;
    auto eq = t.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(std::string_view(t).substr(0, eq));
    std::string value = trim(std::string_view(t).substr(eq + 1));
    if (key == "aws_access_key_id") creds.access_key_id = value;
    if (key == "aws_secret_access_key") creds.secret_access_key = value;
  }
  if (creds.access_key_id.empty() || creds.secret_access_key.empty())
    return fail(ErrorCode::kInvalidArgument, fmt::format("no complete [{}] profile in the credentials file", profile));
  return creds;
}

Result<RootCredentials> loadOrCreateRootCredentials(const std::filesystem::path& file) {
  std::ifstream existing(file);
  if (existing) {
    std::stringstream text;
    text << existing.rdbuf();
    return parseCredentialsFile(text.str());
  }
  RootCredentials creds;
  creds.access_key_id = "AKIA" + randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
  creds.secret_access_key =
      randomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
  std::string text = fmt::format(
      "# berthd root credentials for this data directory.\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
      creds.access_key_id, creds.secret_access_key);
  std::string tmp = file.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return failErrno("create " + tmp, errno);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) return failErrno("write " + tmp, err);
  if (::rename(tmp.c_str(), file.c_str()) != 0) return failErrno("rename to " + file.string(), errno);
  return creds;
}

}  // namespace berth::daemon
