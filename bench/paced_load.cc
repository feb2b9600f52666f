// paced_load: sends one pre-built HTTP/1.1 request at a fixed rate and
// reports the latency distribution, free of coordinated omission.
//
// wrk sends as fast as the server answers, so a slow response delays the
// requests behind it and those delays never show up in its percentiles. Here
// request k is *scheduled* at start + k / rate, whatever happened before it.
// It goes out on the first idle keep-alive connection; if none is idle it
// waits in a queue. Its latency is measured from the scheduled time, so time
// spent waiting behind a slow response counts (as it would for a client
// that needed the answer at that moment). The time from the actual send is
// reported too ("service"), and the lag between schedule and send, so that a
// late load generator can be told apart from a slow server.
//
// The request is read from a file as raw bytes (request line, headers, body);
// bench/api_bench.py writes it with a SigV4 signature that stays valid for
// five minutes. Responses must carry Content-Length (no chunked encoding, no
// pipelining). A response with `Connection: close` is honoured by
// reconnecting, as a client would.
//
// Output: one JSON object on stdout; a one-line summary on stderr.
//
// Threads: one; epoll over the sockets plus a timerfd for the schedule.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

int64_t nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string request_file;
  double rate = 1000;
  double duration_s = 10;
  double warmup_s = 2;
  int connections = 4;
  double drain_timeout_s = 10;
};

enum class ConnState { kConnecting, kIdle, kBusy, kClosed };

struct Connection {
  int fd = -1;
  ConnState state = ConnState::kClosed;
  std::string in;         // bytes of the response being read
  size_t out_offset = 0;  // bytes of the request already written
  int64_t scheduled_ns = 0;
  int64_t sent_ns = 0;
  bool recorded = false;  // false for warm-up requests
  bool waiting_writable = false;
};

struct Sample {
  int64_t latency_ns;  // completion - scheduled
  int64_t service_ns;  // completion - first byte written
  int64_t lag_ns;      // first byte written - scheduled
};

// A parsed response head; `complete` once the whole body is in the buffer.
struct ResponseHead {
  bool complete = false;
  bool bad = false;
  int status = 0;
  bool close = false;
  size_t total = 0;
};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

ResponseHead parseResponse(std::string_view buf) {
  ResponseHead head;
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return head;
  std::string_view headers = buf.substr(0, end);
  size_t line_end = headers.find("\r\n");
  std::string_view status_line = headers.substr(0, line_end);
  // "HTTP/1.1 200 OK"
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) {
    head.bad = true;
    return head;
  }
  bool http10 = status_line[7] == '0';
  head.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  head.close = http10;
  long content_length = -1;
  size_t pos = line_end == std::string_view::npos ? headers.size() : line_end + 2;
  while (pos < headers.size()) {
    size_t next = headers.find("\r\n", pos);
    if (next == std::string_view::npos) next = headers.size();
    std::string_view line = headers.substr(pos, next - pos);
    pos = next + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    if (equalsIgnoreCase(name, "content-length")) content_length = std::atol(std::string(value).c_str());
    if (equalsIgnoreCase(name, "connection")) head.close = equalsIgnoreCase(value, "close");
    if (equalsIgnoreCase(name, "transfer-encoding")) head.bad = true;  // chunked: not supported
  }
  if (content_length < 0) head.bad = true;
  if (head.bad) return head;
  head.total = end + 4 + static_cast<size_t>(content_length);
  head.complete = buf.size() >= head.total;
  return head;
}

class PacedLoad {
 public:
  PacedLoad(Options options, std::string request) : o_(std::move(options)), request_(std::move(request)) {}

  int run() {
    if (!resolve()) return 2;
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epoll_ < 0 || timer_ < 0) return perror("epoll/timerfd"), 2;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimerTag;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, timer_, &ev);

    conns_.resize(static_cast<size_t>(o_.connections));
    for (size_t i = 0; i < conns_.size(); ++i) openConnection(i);

    warmup_count_ = static_cast<int64_t>(std::llround(o_.warmup_s * o_.rate));
    total_count_ = warmup_count_ + static_cast<int64_t>(std::llround(o_.duration_s * o_.rate));
    start_ns_ = nowNs() + 100'000'000;  // let the connections establish first
    armTimer();

    int64_t drain_deadline = 0;
    std::vector<epoll_event> events(64);
    while (true) {
      bool all_scheduled = next_index_ >= total_count_;
      if (all_scheduled && queue_.empty() && busyCount() == 0) break;
      if (all_scheduled && drain_deadline == 0)
        drain_deadline = scheduledAt(total_count_) + static_cast<int64_t>(o_.drain_timeout_s * 1e9);
      int timeout_ms = -1;
      if (drain_deadline != 0) {
        int64_t left = drain_deadline - nowNs();
        if (left <= 0) break;
        timeout_ms = static_cast<int>(left / 1'000'000) + 1;
      }
      int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), timeout_ms);
      if (n < 0 && errno != EINTR) return perror("epoll_wait"), 2;
      for (int i = 0; i < n; ++i) {
        if (events[static_cast<size_t>(i)].data.u64 == kTimerTag) {
          onTimer();
        } else {
          onSocket(static_cast<size_t>(events[static_cast<size_t>(i)].data.u64), events[static_cast<size_t>(i)].events);
        }
      }
      dispatch();
    }
    report();
    return 0;
  }

 private:
  static constexpr uint64_t kTimerTag = ~uint64_t{0};

  bool resolve() {
    addr_.sin_family = AF_INET;
    addr_.sin_port = htons(static_cast<uint16_t>(o_.port));
    if (inet_pton(AF_INET, o_.host.c_str(), &addr_.sin_addr) != 1) {
      fprintf(stderr, "paced_load: --host must be an IPv4 address\n");
      return false;
    }
    return true;
  }

  int64_t scheduledAt(int64_t k) const {
    return start_ns_ + static_cast<int64_t>(static_cast<double>(k) * 1e9 / o_.rate);
  }

  void armTimer() {
    if (next_index_ >= total_count_) return;
    int64_t at = scheduledAt(next_index_);
    itimerspec spec{};
    spec.it_value.tv_sec = at / 1'000'000'000;
    spec.it_value.tv_nsec = at % 1'000'000'000;
    timerfd_settime(timer_, TFD_TIMER_ABSTIME, &spec, nullptr);
  }

  void onTimer() {
    uint64_t expirations;
    while (read(timer_, &expirations, sizeof expirations) > 0) {
    }
    int64_t now = nowNs();
    while (next_index_ < total_count_ && scheduledAt(next_index_) <= now) {
      queue_.push_back(next_index_);
      ++next_index_;
    }
    armTimer();
  }

  void openConnection(size_t i) {
    Connection& c = conns_[i];
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.in.clear();
    c.out_offset = 0;
    c.waiting_writable = false;
    int rc = connect(c.fd, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_);
    c.state = (rc == 0) ? ConnState::kIdle : ConnState::kConnecting;
    if (rc != 0 && errno != EINPROGRESS) {
      ++connect_errors_;
      close(c.fd);
      c.fd = -1;
      c.state = ConnState::kClosed;
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (c.state == ConnState::kConnecting ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
    ++connects_;
  }

  // Level-triggered epoll: EPOLLOUT is watched only while there is something
  // to wait for (a connect in progress, a partly written request).
  void watchWritable(size_t i, bool on) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0u);
    ev.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, conns_[i].fd, &ev);
  }

  void closeConnection(size_t i) {
    Connection& c = conns_[i];
    if (c.fd >= 0) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
    }
    c.fd = -1;
    c.state = ConnState::kClosed;
  }

  // A request in flight on a connection that broke: it counts as an error.
  void failInFlight(size_t i) {
    Connection& c = conns_[i];
    if (c.state == ConnState::kBusy && c.recorded) ++io_errors_;
    closeConnection(i);
    openConnection(i);
  }

  size_t busyCount() const {
    return static_cast<size_t>(
        std::count_if(conns_.begin(), conns_.end(), [](const Connection& c) { return c.state == ConnState::kBusy; }));
  }

  void dispatch() {
    for (size_t i = 0; i < conns_.size() && !queue_.empty(); ++i) {
      Connection& c = conns_[i];
      if (c.state == ConnState::kClosed) openConnection(i);
      if (c.state != ConnState::kIdle) continue;
      int64_t k = queue_.front();
      queue_.pop_front();
      c.state = ConnState::kBusy;
      c.scheduled_ns = scheduledAt(k);
      c.recorded = k >= warmup_count_;
      c.sent_ns = nowNs();
      c.out_offset = 0;
      c.in.clear();
      writeSome(i);
    }
  }

  void writeSome(size_t i) {
    Connection& c = conns_[i];
    while (c.out_offset < request_.size()) {
      ssize_t n = send(c.fd, request_.data() + c.out_offset, request_.size() - c.out_offset, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_offset += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        c.waiting_writable = true;
        return watchWritable(i, true);
      } else {
        return failInFlight(i);
      }
    }
    if (c.waiting_writable) {
      c.waiting_writable = false;
      watchWritable(i, false);
    }
  }

  void onSocket(size_t i, uint32_t events) {
    Connection& c = conns_[i];
    if (c.fd < 0) return;
    if (c.state == ConnState::kConnecting) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        ++connect_errors_;
        closeConnection(i);
        return;
      }
      c.state = ConnState::kIdle;
      watchWritable(i, false);
      return;
    }
    if ((events & EPOLLOUT) && c.state == ConnState::kBusy && c.out_offset < request_.size()) writeSome(i);
    if (c.fd < 0) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readSome(i);
  }

  void readSome(size_t i) {
    Connection& c = conns_[i];
    char buf[16384];
    while (true) {
      ssize_t n = recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        if (c.state != ConnState::kBusy) {  // bytes nobody asked for
          ++protocol_errors_;
          closeConnection(i);
          return;
        }
        c.in.append(buf, static_cast<size_t>(n));
        ResponseHead head = parseResponse(c.in);
        if (head.bad || (head.complete && c.in.size() > head.total)) {
          ++protocol_errors_;
          return failInFlight(i);
        }
        if (head.complete) {
          complete(i, head.status);
          if (head.close) {
            closeConnection(i);
            ++server_closes_;
            return;
          }
        }
        continue;
      }
      if (n == 0) {  // peer closed
        if (c.state == ConnState::kBusy) return failInFlight(i);
        closeConnection(i);
        return;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      return failInFlight(i);
    }
  }

  void complete(size_t i, int status) {
    Connection& c = conns_[i];
    int64_t now = nowNs();
    if (c.recorded) {
      samples_.push_back(Sample{now - c.scheduled_ns, now - c.sent_ns, c.sent_ns - c.scheduled_ns});
      if (status >= 200 && status < 300)
        ++ok_;
      else
        ++non2xx_;
      last_completion_ns_ = now;
    }
    c.state = ConnState::kIdle;
    c.in.clear();
    c.out_offset = 0;
  }

  static double percentileMs(const std::vector<int64_t>& sorted, double p) {
    if (sorted.empty()) return NAN;
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
    rank = std::clamp<size_t>(rank, 1, sorted.size());
    return static_cast<double>(sorted[rank - 1]) / 1e6;
  }

  // A JSON number, or null when there were no samples.
  static std::string num(double v) {
    if (std::isnan(v)) return "null";
    char buf[64];
    snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
  }

  static std::string distribution(const std::vector<int64_t>& sorted) {
    return "{\"p50\":" + num(percentileMs(sorted, 50)) + ",\"p90\":" + num(percentileMs(sorted, 90)) +
           ",\"p99\":" + num(percentileMs(sorted, 99)) + ",\"p999\":" + num(percentileMs(sorted, 99.9)) +
           ",\"max\":" + num(percentileMs(sorted, 100)) + "}";
  }

  void report() {
    std::vector<int64_t> latency, service, lag;
    for (const Sample& s : samples_) {
      latency.push_back(s.latency_ns);
      service.push_back(s.service_ns);
      lag.push_back(s.lag_ns);
    }
    std::sort(latency.begin(), latency.end());
    std::sort(service.begin(), service.end());
    std::sort(lag.begin(), lag.end());
    int64_t intended = total_count_ - warmup_count_;
    int64_t completed = static_cast<int64_t>(samples_.size());
    int64_t unanswered = intended - completed - io_errors_;
    // Achieved rate: completions over the span from the first measured
    // request's scheduled time to the last completion.
    int64_t window_start = scheduledAt(warmup_count_);
    double span_s =
        last_completion_ns_ > window_start ? static_cast<double>(last_completion_ns_ - window_start) / 1e9 : 0;
    double achieved = span_s > 0 ? static_cast<double>(completed) / span_s : 0;

    printf("{\"target_rate\":%s,\"duration_s\":%s,\"warmup_s\":%s,\"connections\":%d,\"intended\":%" PRId64
           ",\"completed\":%" PRId64 ",\"ok\":%" PRId64 ",\"non2xx\":%" PRId64 ",\"io_errors\":%" PRId64
           ",\"protocol_errors\":%" PRId64 ",\"connect_errors\":%" PRId64 ",\"unanswered\":%" PRId64
           ",\"connects\":%" PRId64 ",\"server_closes\":%" PRId64
           ",\"achieved_rate\":%s,\"latency_ms\":%s,\"service_ms\":%s,\"send_lag_ms\":%s}\n",
           num(o_.rate).c_str(), num(o_.duration_s).c_str(), num(o_.warmup_s).c_str(), o_.connections, intended,
           completed, ok_, non2xx_, io_errors_, protocol_errors_, connect_errors_, unanswered, connects_,
           server_closes_, num(achieved).c_str(), distribution(latency).c_str(), distribution(service).c_str(),
           distribution(lag).c_str());
    fprintf(stderr,
            "paced_load: %.0f req/s target, %.1f achieved, %" PRId64 " completed (%" PRId64 " non-2xx, %" PRId64
            " errors, %" PRId64 " unanswered); latency p50 %.3f p90 %.3f p99 %.3f max %.3f ms\n",
            o_.rate, achieved, completed, non2xx_, io_errors_ + protocol_errors_, unanswered, percentileMs(latency, 50),
            percentileMs(latency, 90), percentileMs(latency, 99), percentileMs(latency, 100));
  }

  Options o_;
  std::string request_;
  sockaddr_in addr_{};
  int epoll_ = -1;
  int timer_ = -1;
  std::vector<Connection> conns_;
  std::deque<int64_t> queue_;  // indices of scheduled requests not yet sent
  int64_t start_ns_ = 0;
  int64_t next_index_ = 0;
  int64_t warmup_count_ = 0;
  int64_t total_count_ = 0;
  std::vector<Sample> samples_;
  int64_t ok_ = 0, non2xx_ = 0, io_errors_ = 0, protocol_errors_ = 0, connect_errors_ = 0;
  int64_t connects_ = 0, server_closes_ = 0;
  int64_t last_completion_ns_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"paced_load: one HTTP request at a fixed rate; latency from the scheduled send time"};
  app.add_option("--host", o.host, "IPv4 address of the server")->capture_default_str();
  app.add_option("--port", o.port, "TCP port of the server")->required();
  app.add_option("--request", o.request_file, "file with the raw HTTP/1.1 request to send")->required();
  app.add_option("--rate", o.rate, "requests per second")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--duration", o.duration_s, "measured seconds")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup_s, "seconds at the same rate before measuring")->capture_default_str();
  app.add_option("--connections", o.connections, "keep-alive connections")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--drain-timeout", o.drain_timeout_s, "seconds to wait for answers after the last send")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(o.request_file, std::ios::binary);
  if (!in) {
    fprintf(stderr, "paced_load: cannot read %s\n", o.request_file.c_str());
    return 2;
  }
  std::string request((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return PacedLoad(o, std::move(request)).run();
}
