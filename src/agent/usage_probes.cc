#include "agent/usage_probes.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

namespace berth::agent {
namespace {

// memory.stat is about 1-2 kB on current kernels.
constexpr size_t kReadBuffer = 8192;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

Result<Fd> openRead(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failErrno("open " + path.string(), errno);
  return Fd(fd);
}

// The file's whole text into `buf` (NUL-terminated); nullopt on error.
std::optional<std::string_view> readAt0(const Fd& fd, char* buf, size_t size) {
  if (!fd) return std::nullopt;
  ssize_t n = ::pread(fd.get(), buf, size - 1, 0);
  if (n < 0) return std::nullopt;
  buf[n] = '\0';
  return std::string_view(buf, static_cast<size_t>(n));
}

uint64_t parseU64(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') break;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// The value of the "key value" line named `key`, or nullopt.
std::optional<uint64_t> keyValue(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ')
      return parseU64(line.substr(key.size() + 1));
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace

struct UsageProbes::Probe {
  Fd cpu, memory, memory_stat, host_rx, host_tx;
  bool cpu_stat = false;
  std::string inactive_file_key;
  uint64_t inactive_file = 0;  // from the last read of memory.stat
  int stat_countdown = 0;      // samples until memory.stat is read again

  void readInactiveFile(char* buf, size_t size) {
    if (auto stat = readAt0(memory_stat, buf, size)) inactive_file = keyValue(*stat, inactive_file_key).value_or(0);
  }
};

UsageProbes::UsageProbes(std::filesystem::path net_class) : net_class_(std::move(net_class)) {}
UsageProbes::~UsageProbes() = default;

Status UsageProbes::add(const std::string& task_arn, const runtime::TaskUsageFiles& files,
                        const std::string& host_veth) {
  auto probe = std::make_unique<Probe>();
  probe->cpu = BERTH_TRY(openRead(files.cpu));
  probe->memory = BERTH_TRY(openRead(files.memory));
  probe->memory_stat = BERTH_TRY(openRead(files.memory_stat));
  probe->cpu_stat = files.cpu_stat;
  probe->inactive_file_key = files.inactive_file_key;
  if (!host_veth.empty()) {
    std::filesystem::path stats = net_class_ / host_veth / "statistics";
    if (auto fd = openRead(stats / "rx_bytes")) probe->host_rx = std::move(*fd);
    if (auto fd = openRead(stats / "tx_bytes")) probe->host_tx = std::move(*fd);
  }
  char buf[kReadBuffer];
  probe->readInactiveFile(buf, sizeof buf);
  std::unique_ptr<Probe> old;  // closed outside the lock
  std::lock_guard lock(mu_);
  // Staggered: tasks added together do not all re-read memory.stat in the
  // same round.
  probe->stat_countdown = 1 + static_cast<int>(probes_.size() % kMemoryStatEvery);
  auto& slot = probes_[task_arn];
  old = std::exchange(slot, std::move(probe));
  return {};
}

void UsageProbes::remove(const std::string& task_arn) {
  std::unique_ptr<Probe> old;
  std::lock_guard lock(mu_);
  auto it = probes_.find(task_arn);
  if (it == probes_.end()) return;
  old = std::move(it->second);
  probes_.erase(it);
}

size_t UsageProbes::size() const {
  std::lock_guard lock(mu_);
  return probes_.size();
}

void UsageProbes::sample(std::vector<TaskUsage>& out) {
  char buf[kReadBuffer];
  std::lock_guard lock(mu_);
  out.resize(probes_.size());
  size_t n = 0;
  for (const auto& [arn, p] : probes_) {
    auto cpu = readAt0(p->cpu, buf, sizeof buf);
    if (!cpu) continue;
    uint64_t cpu_ns = p->cpu_stat ? keyValue(*cpu, "usage_usec").value_or(0) * 1000 : parseU64(*cpu);
    auto memory = readAt0(p->memory, buf, sizeof buf);
    if (!memory) continue;
    uint64_t usage = parseU64(*memory);
    if (--p->stat_countdown <= 0) {
      p->readInactiveFile(buf, sizeof buf);
      p->stat_countdown = kMemoryStatEvery;
    }
    uint64_t inactive = p->inactive_file;
    TaskUsage& u = out[n++];
    u.task_arn.assign(arn);
    u.cpu_ns = cpu_ns;
    // As docker stats and the ECS agent: inactive page cache is reclaimable.
    u.memory_bytes = inactive < usage ? usage - inactive : usage;
    auto rx = readAt0(p->host_rx, buf, sizeof buf);
    u.tx_bytes = rx ? parseU64(*rx) : 0;
    auto tx = readAt0(p->host_tx, buf, sizeof buf);
    u.rx_bytes = tx ? parseU64(*tx) : 0;
  }
  out.resize(n);
}

}  // namespace berth::agent
