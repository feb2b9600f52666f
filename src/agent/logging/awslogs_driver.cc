#include "agent/logging/awslogs_driver.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "agent/runtime/log_format.h"

namespace berth::agent::logging {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

constexpr size_t kReadChunk = 256 << 10;
constexpr int kRoundsPerPump = 4;  // chunks read per turn, so one busy file cannot starve the others
// A "line" without '\n' beyond this is not one the monitor wrote: process it as is.
constexpr size_t kMaxCarry = 8 << 20;
constexpr uint64_t kMaxMarkLag = 4 << 20;
constexpr int kStdout = 0, kStderr = 1;
constexpr const char* kStreamNames[2] = {"stdout", "stderr"};

std::string markOf(const std::string& source, int stream) { return source + "/" + kStreamNames[stream]; }

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// RFC 3339 ("2026-11-28T11:40:00.123456789Z", or with ±hh:mm) → ms since the epoch.
std::optional<int64_t> parseTimeMillis(std::string_view s) {
  auto num = [&](size_t pos, size_t len) -> std::optional<int> {
    if (pos + len > s.size()) return std::nullopt;
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto year = num(0, 4), month = num(5, 2), day = num(8, 2), hour = num(11, 2), minute = num(14, 2),
       second = num(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || s[4] != '-' || s[7] != '-' ||
      (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31) return std::nullopt;
  size_t i = 19;
  int64_t millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 3) millis = millis * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) millis *= 10;
  }
  int64_t offset_minutes = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    auto oh = num(i + 1, 2), om = num(i + 4, 2);
    if (!oh || !om || s[i + 3] != ':') return std::nullopt;
    offset_minutes = (*oh * 60 + *om) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  int64_t days = daysFromCivil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
  int64_t seconds = days * 86400 + *hour * 3600 + *minute * 60 + *second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

// `text` with every byte that is not part of a valid UTF-8 sequence replaced
// by U+FFFD (what CloudWatch stores, and what Go's decoder yields byte by
// byte): `text` itself when it is valid, else the fixed copy in `scratch`.
std::string_view validUtf8(std::string_view text, std::string& scratch) {
  auto valid_len = [&](size_t i) -> size_t {
    auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char c = b(i);
    if (c < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return 0;
    }
    if (i + n > text.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (size_t k = 2; k < n; ++k)
      if ((b(i + k) & 0xC0) != 0x80) return 0;
    return n;
  };
  size_t i = 0;
  while (i < text.size()) {  // fast path: usually all valid, mostly ASCII
    uint64_t word;
    if (i + 8 <= text.size() && (std::memcpy(&word, text.data() + i, 8), (word & 0x8080808080808080u) == 0)) {
      i += 8;
      continue;
    }
    size_t n = valid_len(i);
    if (n == 0) break;
    i += n;
  }
  if (i == text.size()) return text;
  scratch.assign(text.substr(0, i));
  while (i < text.size()) {
    size_t n = valid_len(i);
    if (n == 0) {
      scratch += "\xEF\xBF\xBD";
      ++i;
    } else {
      scratch.append(text.substr(i, n));
      i += n;
    }
  }
  return scratch;
}

// Where the event that starts at `pos` of a line ends: at most
// kMaxEventMessageBytes further, never inside a UTF-8 sequence.
size_t eventEnd(std::string_view text, size_t pos) {
  size_t len = std::min(logs::kMaxEventMessageBytes, text.size() - pos);
  while (pos + len < text.size() && len > 0 && (static_cast<unsigned char>(text[pos + len]) & 0xC0) == 0x80) --len;
  return pos + len;
}

}  // namespace

std::string sourceId(std::string_view task_id, std::string_view container) {
  return std::string(task_id) + "/" + std::string(container);
}

// Finished lines of one stream, packed for one append. A line (a run of
// records of one stream) becomes one or more events, all in one batch.
struct AwslogsDriver::Batch {
  logs::EventBatch events;
  uint64_t end = 0;  // file offset just past the last record of its last line
  size_t bytes = 0;  // message bytes + overhead
};

struct AwslogsDriver::Stream {
  uint64_t committed = 0;   // durable mark (or past lines the store refused for good)
  uint64_t skip_below = 0;  // records starting below were committed before this driver read them
  // The open line (P records so far).
  bool open = false;
  uint64_t open_start = 0, open_end = 0;
  int64_t open_time = 0;
  std::string open_text;
  std::deque<Batch> ready;  // finished lines, not yet sent; all batches but the last are full
  size_t ready_bytes = 0, ready_events = 0;
  SteadyTime ready_since{};
  // Of the last batch sent: what the next one reserves.
  size_t last_batch_events = 0, last_batch_bytes = 0;
  int in_flight = 0;  // appends
};

struct AwslogsDriver::Source {
  std::string id;
  std::filesystem::path path;
  AwslogsConfig config;
  int fd = -1;
  int wd = -1;
  uint64_t parsed = 0;  // offset just past the last whole line parsed
  std::string carry;    // bytes read past `parsed`, no '\n' among them
  Stream streams[2];
  int64_t last_time = 0;  // for a record whose time does not parse
  // The last time that parsed: the records of one read of the monitor share it.
  std::string time_text;
  int64_t time_ms = 0;
  bool finishing = false;
  bool eof = false;  // finishing and the final EOF was reached
  std::vector<std::function<void()>> done;
  bool failed = false;  // an append failed: rewind once nothing is in flight
  int failures = 0;     // in a row
  std::optional<SteadyTime> retry_at;
  bool warned_drop = false, warned_lost = false;
  AwslogsStats stats;

  bool inFlight() const { return streams[0].in_flight > 0 || streams[1].in_flight > 0; }
  size_t readyBytes() const { return streams[0].ready_bytes + streams[1].ready_bytes; }
};

Result<std::unique_ptr<AwslogsDriver>> AwslogsDriver::start(logs::LogStore& store, const Clock& clock,
                                                            AwslogsDriverOptions options) {
  std::unique_ptr<AwslogsDriver> d(new AwslogsDriver(store, clock, options));
  BERTH_TRY(d->open());
  d->thread_ = std::thread([p = d.get()] { p->run(); });
  return d;
}

AwslogsDriver::AwslogsDriver(logs::LogStore& store, const Clock& clock, AwslogsDriverOptions options)
    : store_(store), clock_(clock), options_(options) {}

Status AwslogsDriver::open() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return failErrno("epoll_create1", errno);
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return failErrno("inotify_init1", errno);
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) return failErrno("eventfd", errno);
  for (int fd : {inotify_fd_, event_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return failErrno("epoll_ctl", errno);
  }
  return {};
}

AwslogsDriver::~AwslogsDriver() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  if (event_fd_ >= 0) {
    uint64_t one = 1;
    (void)!::write(event_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  {
    // Store callbacks refer to us.
    std::unique_lock lock(mu_);
    appends_cv_.wait(lock, [this] { return appends_in_flight_ == 0; });
    queue_.clear();
  }
  for (auto& [id, s] : sources_)
    if (s->fd >= 0) ::close(s->fd);
  for (int fd : {epoll_fd_, inotify_fd_, event_fd_})
    if (fd >= 0) ::close(fd);
}

void AwslogsDriver::post(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  queue_.push_back(std::move(fn));
  uint64_t one = 1;
  (void)!::write(event_fd_, &one, sizeof one);
}

Status AwslogsDriver::prepare(const AwslogsConfig& config) {
  auto validate = [](const std::string& what) {
    return "failed to validate logger args: create stream has been retried 1 times: " + what + " : exit status 1";
  };
  if (config.create_group) {
    logs::GroupInfo group;
    group.name = config.group;
    group.creation_time = clock_.epochMillis();
    if (auto s = store_.createGroup(group); !s && s.error().code != ErrorCode::kAlreadyExists)
      return fail(s.error().code, validate("failed to create Cloudwatch log group: " + s.error().message));
  }
  if (auto s = store_.createStream(config.group, config.stream); !s && s.error().code != ErrorCode::kAlreadyExists) {
    if (s.error().code == ErrorCode::kNotFound)
      return fail(ErrorCode::kNotFound,
                  validate("failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log "
                           "group does not exist."));
    return fail(s.error().code, validate("failed to create Cloudwatch log stream: " + s.error().message));
  }
  return {};
}

void AwslogsDriver::watch(const std::string& source, const std::filesystem::path& file, const AwslogsConfig& config) {
  post([this, source, file, config] { startSource(source, file, config); });
}

void AwslogsDriver::finish(const std::string& source, std::function<void()> done) {
  post([this, source, done = std::move(done)]() mutable {
    auto it = sources_.find(source);
    if (it == sources_.end()) {
      done();
      return;
    }
    it->second->finishing = true;
    it->second->done.push_back(std::move(done));
    runnable_.insert(source);
  });
}

void AwslogsDriver::forget(const std::string& source) {
  post([this, source] {
    if (auto it = sources_.find(source); it != sources_.end()) {
      Source& s = *it->second;
      // An append in flight would write its mark again: onAppended()
      // forgets the mark once more when it lands.
      if (s.inFlight()) forgetting_.insert(source);
      if (s.wd >= 0) {
        ::inotify_rm_watch(inotify_fd_, s.wd);
        by_watch_.erase(s.wd);
      }
      if (s.fd >= 0) ::close(s.fd);
      sources_.erase(it);
    }
    store_.forgetSource(markOf(source, kStdout));
    store_.forgetSource(markOf(source, kStderr));
    std::lock_guard lock(mu_);
    stats_.erase(source);
  });
}

std::optional<AwslogsStats> AwslogsDriver::stats(const std::string& source) const {
  std::lock_guard lock(mu_);
  auto it = stats_.find(source);
  if (it == stats_.end()) return std::nullopt;
  return it->second;
}

void AwslogsDriver::updateStats(const Source& s) {
  std::lock_guard lock(mu_);
  stats_[s.id] = s.stats;
}

// --- the driver thread ---

void AwslogsDriver::run() {
  next_sweep_ = std::chrono::steady_clock::now() + options_.sweep_interval;
  std::array<epoll_event, 8> events;
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                         waitMillis(std::chrono::steady_clock::now()));
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == inotify_fd_) {
        handleInotify();
      } else {
        uint64_t value;
        (void)!::read(event_fd_, &value, sizeof value);
      }
    }
    std::deque<std::function<void()>> work;
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      work.swap(queue_);
    }
    for (auto& fn : work) fn();

    SteadyTime now = std::chrono::steady_clock::now();
    if (now >= next_sweep_) {
      next_sweep_ = now + options_.sweep_interval;
      for (const auto& [id, s] : sources_) runnable_.insert(id);
    }
    for (const auto& [id, s] : sources_)
      if (auto due = nextDeadline(*s); due && now >= *due) runnable_.insert(id);
    std::set<std::string> turn;
    turn.swap(runnable_);
    for (const auto& id : turn) {
      auto it = sources_.find(id);
      if (it != sources_.end()) pump(*it->second, now);
    }
  }
}

int AwslogsDriver::waitMillis(SteadyTime now) const {
  if (!runnable_.empty()) return 0;
  SteadyTime next = next_sweep_;
  for (const auto& [id, s] : sources_)
    if (auto due = nextDeadline(*s)) next = std::min(next, *due);
  if (next <= now) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
  return static_cast<int>(std::min<int64_t>(ms, 60000));
}

// When the source next needs a turn without any event: a retry, or a batch
// that has waited flush_interval. A source waiting for an append to land
// needs none (the completion wakes it).
std::optional<SteadyTime> AwslogsDriver::nextDeadline(const Source& s) const {
  if (s.retry_at) return s.retry_at;
  if (s.failed) return std::nullopt;
  std::optional<SteadyTime> next;
  for (const Stream& st : s.streams)
    if (!st.ready.empty() && st.in_flight == 0) {
      SteadyTime due = st.ready_since + options_.flush_interval;
      next = next ? std::min(*next, due) : due;
    }
  return next;
}

void AwslogsDriver::handleInotify() {
  alignas(inotify_event) char buf[16384];
  for (;;) {
    ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) return;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      if (ev->mask & IN_Q_OVERFLOW) {
        for (const auto& [id, s] : sources_) runnable_.insert(id);
      } else if (auto it = by_watch_.find(ev->wd); it != by_watch_.end()) {
        runnable_.insert(it->second);
      }
      p += sizeof(inotify_event) + ev->len;
    }
  }
}

void AwslogsDriver::startSource(const std::string& id, const std::filesystem::path& file, const AwslogsConfig& config) {
  if (sources_.contains(id)) return;
  forgetting_.erase(id);
  auto s = std::make_unique<Source>();
  s->id = id;
  s->path = file;
  s->config = config;
  for (int k : {kStdout, kStderr}) {
    uint64_t mark = store_.sourceOffset(markOf(id, k)).value_or(0);
    s->streams[k].committed = s->streams[k].skip_below = mark;
  }
  s->parsed = std::min(s->streams[0].committed, s->streams[1].committed);
  s->stats.stdout_offset = s->streams[0].committed;
  s->stats.stderr_offset = s->streams[1].committed;
  updateStats(*s);
  runnable_.insert(id);
  sources_.emplace(id, std::move(s));
}

bool AwslogsDriver::openFile(Source& s) {
  if (s.fd >= 0) return true;
  s.fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (s.fd < 0) return false;
  // Watching after opening would miss writes in between; the sweep and the
  // read that follows catch them.
  s.wd = ::inotify_add_watch(inotify_fd_, s.path.c_str(), IN_MODIFY);
  if (s.wd >= 0) by_watch_[s.wd] = s.id;
  return true;
}

void AwslogsDriver::pump(Source& s, SteadyTime now) {
  if (s.failed) {
    if (s.inFlight()) return;
    rewind(s);
  }
  if (s.retry_at) {
    if (now < *s.retry_at) return;
    s.retry_at.reset();
  }
  if (!openFile(s)) {
    // Never created (the container never wrote, or was never started).
    if (s.finishing) {
      s.eof = true;
      maybeComplete(s);
    }
    return;
  }
  for (int round = 0; round < kRoundsPerPump; ++round) {
    if (s.config.mode == LogMode::kNonBlocking && !s.eof) skipBacklog(s);
    flushReady(s, now);
    if (s.failed) return;
    // Read ahead at most one batch beyond what is in flight.
    if (s.readyBytes() >= options_.batch_bytes || s.eof) break;
    if (!readChunk(s)) break;
    if (round + 1 == kRoundsPerPump) runnable_.insert(s.id);  // more to read: come back after the others
  }
  flushReady(s, now);
  maybeComplete(s);
}

// Reads the next chunk and consumes its whole lines; false at EOF.
bool AwslogsDriver::readChunk(Source& s) {
  std::string& buf = read_buf_;
  buf.resize(kReadChunk);
  ssize_t n = ::pread(s.fd, buf.data(), buf.size(), static_cast<off_t>(s.parsed + s.carry.size()));
  if (n < 0) {
    fmt::print(stderr, "berthd: awslogs: {}: read {}: {}\n", s.id, s.path.string(), std::strerror(errno));
    return false;
  }
  if (n == 0) {
    if (s.finishing) {
      // The monitor is gone: a record it could not finish is still a record.
      if (!s.carry.empty()) {
        std::string tail = std::move(s.carry);
        s.carry.clear();
        uint64_t start = s.parsed;
        s.parsed += tail.size();
        consumeLine(s, start, s.parsed, tail);
      }
      for (Stream& st : s.streams)
        if (st.open) closeLine(st);
      s.eof = true;
    }
    return false;
  }
  buf.resize(static_cast<size_t>(n));
  size_t begin = 0;
  for (;;) {
    size_t nl = buf.find('\n', begin);
    if (nl == std::string::npos) break;
    uint64_t start = s.parsed;
    std::string_view rest(buf.data() + begin, nl - begin);
    if (s.carry.empty()) {
      s.parsed += rest.size() + 1;
      consumeLine(s, start, s.parsed, rest);
    } else {
      std::string line = std::move(s.carry);
      s.carry.clear();
      line.append(rest);
      s.parsed += line.size() + 1;
      consumeLine(s, start, s.parsed, line);
    }
    begin = nl + 1;
  }
  s.carry.append(buf, begin, std::string::npos);
  if (s.carry.size() > kMaxCarry) {
    std::string line = std::move(s.carry);
    s.carry.clear();
    uint64_t start = s.parsed;
    s.parsed += line.size();
    consumeLine(s, start, s.parsed, line);
  }
  return true;
}

void AwslogsDriver::consumeLine(Source& s, uint64_t start, uint64_t end, std::string_view line) {
  runtime::LogRecordView r;
  if (!runtime::parseLogRecord(line, r)) {
    ++s.stats.malformed_lines;
    return;
  }
  Stream& st = s.streams[r.stream == "stderr" ? kStderr : kStdout];
  if (start < st.skip_below) return;  // committed before
  if (r.time != s.time_text) {
    if (auto ms = parseTimeMillis(r.time)) {
      s.time_text.assign(r.time);
      s.time_ms = *ms;
      s.last_time = *ms;
    }
  } else {
    s.last_time = s.time_ms;
  }
  int64_t time = s.last_time;
  if (!st.open && !r.partial) {
    addLine(st, time, r.text, end);  // a line in one record, as most are: no copy but into the batch
    return;
  }
  if (st.open && st.open_text.size() + r.text.size() > kMaxLineBytes) closeLine(st);
  if (!st.open) {
    st.open = true;
    st.open_start = start;
    st.open_time = time;
    st.open_text.clear();
  }
  st.open_text += r.text;
  st.open_end = end;
  if (!r.partial) closeLine(st);
}

void AwslogsDriver::closeLine(Stream& st) {
  st.open = false;
  addLine(st, st.open_time, st.open_text, st.open_end);
  st.open_text.clear();
}

void AwslogsDriver::addLine(Stream& st, int64_t time, std::string_view raw, uint64_t end) {
  std::string_view text = validUtf8(raw, utf8_scratch_);
  if (text.empty()) return;
  size_t count = 0;
  for (size_t pos = 0; pos < text.size(); pos = eventEnd(text, pos)) ++count;
  size_t bytes = text.size() + count * logs::kEventOverheadBytes;
  if (st.ready.empty()) st.ready_since = std::chrono::steady_clock::now();
  if (st.ready.empty() ||
      (!st.ready.back().events.empty() && (st.ready.back().bytes + bytes > options_.batch_bytes ||
                                           st.ready.back().events.size() + count > options_.batch_events))) {
    // Room for as much as the batch before it held (a busy stream fills
    // every batch), so that it grows without copies.
    size_t events = st.ready.empty() ? st.last_batch_events : st.ready.back().events.size();
    size_t message_bytes = st.ready.empty() ? st.last_batch_bytes : st.ready.back().events.messageBytes();
    st.ready.emplace_back().events.reserve(std::min(options_.batch_events, events + events / 8),
                                           std::min(options_.batch_bytes, message_bytes + message_bytes / 8));
  }
  Batch& batch = st.ready.back();
  for (size_t pos = 0; pos < text.size();) {
    size_t next = eventEnd(text, pos);
    batch.events.add(time, text.substr(pos, next - pos));
    pos = next;
  }
  batch.end = end;
  batch.bytes += bytes;
  st.ready_bytes += bytes;
  st.ready_events += count;
}

// Non-blocking mode: keeps at most max-buffer-size unread.
void AwslogsDriver::skipBacklog(Source& s) {
  struct stat sb;
  if (::fstat(s.fd, &sb) != 0) return;
  uint64_t size = static_cast<uint64_t>(sb.st_size);
  if (size <= s.parsed || size - s.parsed <= s.config.max_buffer_bytes) return;
  uint64_t target = size - s.config.max_buffer_bytes;
  // The first record boundary at or after `target`, counting the lines
  // before it on the way.
  std::string buf(1 << 20, '\0');
  uint64_t lines = 0, pos = s.parsed, boundary = 0;
  while (pos < size && boundary == 0) {
    ssize_t n = ::pread(s.fd, buf.data(), buf.size(), static_cast<off_t>(pos));
    if (n <= 0) return;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[static_cast<size_t>(i)] != '\n') continue;
      ++lines;
      if (pos + static_cast<uint64_t>(i) + 1 >= target) {
        boundary = pos + static_cast<uint64_t>(i) + 1;
        break;
      }
    }
    pos += static_cast<uint64_t>(n);
  }
  if (boundary == 0) return;  // one line longer than the buffer: read it as it comes
  for (Stream& st : s.streams) {
    if (st.open) ++lines;  // its start is skipped with the rest of it
    st.open = false;
    st.open_text.clear();
  }
  s.stats.dropped_lines += lines;
  s.stats.dropped_bytes += boundary - s.parsed;
  s.parsed = boundary;
  s.carry.clear();
  if (!s.warned_drop) {
    s.warned_drop = true;
    fmt::print(stderr,
               "berthd: awslogs: {}: output is faster than log group {} takes it; non-blocking mode dropped {} "
               "lines (max-buffer-size {} bytes); further drops are counted without a warning\n",
               s.id, s.config.group, lines, s.config.max_buffer_bytes);
  }
  updateStats(s);
}

void AwslogsDriver::flushReady(Source& s, SteadyTime now) {
  if (s.failed) return;
  for (int k : {kStdout, kStderr}) {
    Stream& st = s.streams[k];
    if (st.ready.empty()) {
      // A quiet stream's mark would stay far behind the other's, and a
      // restart re-scan everything since: move it with a mark-only append.
      if (st.in_flight == 0 && !st.open && s.parsed > st.committed + kMaxMarkLag) submit(s, k);
      continue;
    }
    // Full batches go as long as fewer than appends_in_flight are; the
    // last, partial one waits for the stream's appends to land (so that it
    // fills meanwhile), or for flush_interval.
    while (!st.ready.empty() && st.in_flight < options_.appends_in_flight) {
      bool full =
          st.ready.size() > 1 || st.ready_bytes >= options_.batch_bytes || st.ready_events >= options_.batch_events;
      bool due = s.finishing || now >= st.ready_since + options_.flush_interval;
      if (!full && !(due && st.in_flight == 0)) break;
      submit(s, k);
    }
  }
}

void AwslogsDriver::submit(Source& s, int k) {
  Stream& st = s.streams[k];
  Batch batch;  // none ready: a mark-only append
  if (!st.ready.empty()) {
    batch = std::move(st.ready.front());
    st.ready.pop_front();
    st.ready_bytes -= batch.bytes;
    st.ready_events -= batch.events.size();
    st.last_batch_events = batch.events.size();
    st.last_batch_bytes = batch.events.messageBytes();
  }
  // Every record of this stream below the mark is in this batch or an
  // earlier one: past the last line taken, or, when all were taken, up to
  // where parsing got (minus an open line, which will be re-read).
  uint64_t end = batch.end;
  uint64_t mark = end;
  if (st.ready.empty()) mark = st.open ? st.open_start : s.parsed;
  mark = std::max({mark, end, st.committed});
  if (!st.ready.empty()) st.ready_since = std::chrono::steady_clock::now();
  size_t count = batch.events.size();
  uint64_t message_bytes = batch.events.messageBytes();
  ++st.in_flight;
  {
    std::lock_guard lock(mu_);
    ++appends_in_flight_;
  }
  store_.append(s.config.group, s.config.stream, std::move(batch.events), logs::SourceMark{markOf(s.id, k), mark},
                [this, id = s.id, k, mark, count, message_bytes](Status status) {
                  std::lock_guard lock(mu_);
                  queue_.push_back([this, id, k, mark, count, message_bytes, status] {
                    onAppended(id, k, mark, count, message_bytes, status);
                  });
                  uint64_t one = 1;
                  (void)!::write(event_fd_, &one, sizeof one);
                  --appends_in_flight_;
                  appends_cv_.notify_all();
                });
}

void AwslogsDriver::onAppended(const std::string& id, int k, uint64_t mark, size_t events, uint64_t bytes,
                               Status status) {
  auto it = sources_.find(id);
  if (it == sources_.end()) {
    if (forgetting_.contains(id)) store_.forgetSource(markOf(id, k));
    return;
  }
  Source& s = *it->second;
  Stream& st = s.streams[k];
  --st.in_flight;
  runnable_.insert(id);
  if (status) {
    st.committed = std::max(st.committed, mark);
    s.failures = 0;
    s.stats.events += events;
    s.stats.bytes += bytes;
  } else {
    ++s.stats.append_errors;
    if (status.error().code == ErrorCode::kNotFound) {
      // The group or stream was deleted under us: the shim logger drops the
      // batch too. Nothing is durable, but these lines are done with (a
      // restart would try them again).
      st.committed = std::max(st.committed, mark);
      s.stats.lost_events += events;
      if (!s.warned_lost) {
        s.warned_lost = true;
        fmt::print(stderr, "berthd: awslogs: {}: log group {} or stream {} is gone; dropping its events: {}\n", id,
                   s.config.group, s.config.stream, status.error().message);
      }
    } else if (s.failed) {
      // An append after the one that failed: it failed with it, or the
      // store refused it for that (kFailedPrecondition, LogStore::append).
      // The rewind re-reads it; one failure counts once.
    } else {
      fmt::print(stderr, "berthd: awslogs: {}: append to {} failed (retrying from the last durable line): {}\n", id,
                 s.config.group, status.error().message);
      s.failed = true;
      ++s.failures;
    }
  }
  s.stats.stdout_offset = s.streams[kStdout].committed;
  s.stats.stderr_offset = s.streams[kStderr].committed;
  updateStats(s);
}

// After a failed append: forget everything not durable and read it again.
void AwslogsDriver::rewind(Source& s) {
  s.failed = false;
  for (int k : {kStdout, kStderr}) store_.resumeSource(markOf(s.id, k));
  for (Stream& st : s.streams) {
    st.skip_below = st.committed;
    st.open = false;
    st.open_text.clear();
    st.ready.clear();
    st.ready_bytes = st.ready_events = 0;
  }
  s.parsed = std::min(s.streams[0].committed, s.streams[1].committed);
  s.carry.clear();
  s.eof = false;
  if (s.finishing && s.failures >= kMaxFinishAttempts) {
    fmt::print(stderr, "berthd: awslogs: {}: giving up on the rest of {} after {} failed appends\n", s.id,
               s.path.string(), s.failures);
    s.eof = true;
    return;
  }
  s.retry_at = std::chrono::steady_clock::now() + options_.retry_after;
}

bool AwslogsDriver::maybeComplete(Source& s) {
  if (!s.finishing || !s.eof || s.inFlight() || s.failed) return false;
  bool gave_up = s.failures >= kMaxFinishAttempts;
  if (!gave_up && (!s.streams[0].ready.empty() || !s.streams[1].ready.empty())) return false;
  if (s.wd >= 0) {
    ::inotify_rm_watch(inotify_fd_, s.wd);
    by_watch_.erase(s.wd);
  }
  if (s.fd >= 0) ::close(s.fd);
  s.stats.finished = true;
  updateStats(s);
  std::vector<std::function<void()>> done = std::move(s.done);
  std::string id = s.id;
  sources_.erase(id);  // `s` is gone from here on
  for (auto& fn : done) fn();
  return true;
}

}  // namespace berth::agent::logging
