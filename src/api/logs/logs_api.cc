#include "api/logs/logs_api.h"

#include <algorithm>
#include <array>
#include <charconv>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "aws/crypto.h"
#include "common/json.h"
#include "common/random.h"
#include "logs/filter_pattern.h"
#include "registry/tokens.h"

namespace berth::api {

namespace bj = boost::json;

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kHourMs = 3'600'000;
constexpr size_t kMaxBatchBytes = 1'048'576;
constexpr size_t kMaxEventBytes = 262'144;  // message + 26
constexpr int64_t kMaxFutureMs = 2 * kHourMs;
constexpr int64_t kMaxPastMs = 14 * kDayMs;
constexpr int64_t kMaxBatchSpanMs = 24 * kHourMs;
// FilterLogEvents stops a page after scanning this much, with a nextToken,
// as CloudWatch pages by scanned volume rather than holding the call open.
constexpr uint64_t kFilterScanBudget = 1ull << 30;

// PutRetentionPolicy's allowed values (the model types Days as a plain
// integer; CloudWatch checks the set).
constexpr std::array<int, 22> kRetentionDays = {1,   3,   5,   7,    14,   30,   60,   90,   120,  150,  180,
                                                365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

std::unexpected<Error> invalid(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidParameterException");
}
std::unexpected<Error> groupNotFound() {
  return fail(ErrorCode::kNotFound, "The specified log group does not exist.", "ResourceNotFoundException");
}
std::unexpected<Error> streamNotFound() {
  return fail(ErrorCode::kNotFound, "The specified log stream does not exist.", "ResourceNotFoundException");
}

// The store's errors carry no AWS wording; name them as CloudWatch does.
Error storeError(Error e, bool stream) {
  if (!e.aws_type.empty()) return e;
  switch (e.code) {
    case ErrorCode::kNotFound:
      return stream && e.message.find("group") == std::string::npos ? streamNotFound().error()
                                                                     : groupNotFound().error();
    case ErrorCode::kAlreadyExists:
      return Error{e.code, stream ? "The specified log stream already exists" : "The specified log group already exists",
                   "ResourceAlreadyExistsException", 0};
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      return Error{e.code, "The service cannot complete the request.", "ServiceUnavailableException", e.sys_errno};
    default:
      return e;
  }
}

template <typename T>
Result<T> mapStore(Result<T> r, bool stream) {
  if (r) return r;
  return std::unexpected(storeError(std::move(r).error(), stream));
}
Status mapStore(Status s, bool stream) {
  if (s) return s;
  return std::unexpected(storeError(std::move(s).error(), stream));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::map<std::string, std::string> tagMap(const bj::object& in, std::string_view key) {
  std::map<std::string, std::string> tags;
  if (const auto* o = json::getObject(in, key))
    for (const auto& [k, v] : *o)
      if (v.is_string()) tags[std::string(k)] = std::string(v.get_string());
  return tags;
}

bj::object tagObject(const std::map<std::string, std::string>& tags) {
  bj::object o;
  for (const auto& [k, v] : tags) o[k] = v;
  return o;
}

// Digits of `v`, zero-padded to `width`.
void appendDigits(std::string& out, uint64_t v, int width) { fmt::format_to(std::back_inserter(out), "{:0{}}", v, width); }

bool parseDigits(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

LogsApi::LogsApi(logs::LogStore& store, const Clock& clock, LogsApiOptions options)
    : store_(store), clock_(clock), options_(std::move(options)), token_key_(randomHex(16)) {
  if (options_.live_tail_executor)
    live_tail_ = std::make_unique<LiveTail>(store_, options_.live_tail_executor, options_.live_tail);
}

void LogsApi::stopLiveTails() {
  if (live_tail_) live_tail_->stop();
}

void LogsApi::invoke(const AwsCall& call, AwsDone done) {
  const std::string& op = call.operation->name;
  if (op == "PutLogEvents") return putLogEvents(call, std::move(done));
  if (op == "StartLiveTail") return startLiveTail(call, std::move(done));
  AwsReply reply = [&]() -> AwsReply {
    if (op == "CreateLogGroup") return createLogGroup(call);
    if (op == "DeleteLogGroup") return deleteLogGroup(call);
    if (op == "DescribeLogGroups") return describeLogGroups(call);
    if (op == "PutRetentionPolicy") return putRetentionPolicy(call);
    if (op == "DeleteRetentionPolicy") return deleteRetentionPolicy(call);
    if (op == "CreateLogStream") return createLogStream(call);
    if (op == "DeleteLogStream") return deleteLogStream(call);
    if (op == "DescribeLogStreams") return describeLogStreams(call);
    if (op == "GetLogEvents") return getLogEvents(call);
    if (op == "FilterLogEvents") return filterLogEvents(call);
    if (op == "TagLogGroup") return tagLogGroup(call);
    if (op == "UntagLogGroup") return untagLogGroup(call);
    if (op == "ListTagsLogGroup") return listTagsLogGroup(call);
    if (op == "TagResource") return tagResource(call);
    if (op == "UntagResource") return untagResource(call);
    if (op == "ListTagsForResource") return listTagsForResource(call);
    return fail(ErrorCode::kUnimplemented, fmt::format("berth does not implement {} yet", op),
                "UnknownOperationException");
  }();
  done(std::move(reply));
}

// --- names, ARNs, tokens ---

std::string LogsApi::region(const AwsCall& call) const { return call.region.empty() ? options_.region : call.region; }

std::string LogsApi::groupArn(const AwsCall& call, std::string_view group) const {
  return fmt::format("arn:aws:logs:{}:{}:log-group:{}", region(call), options_.account_id, group);
}

Result<std::string> LogsApi::groupOfArn(std::string_view arn) const {
  // arn:aws:logs:<region>:<account>:log-group:<name>[:*]
  constexpr std::string_view kPrefix = "arn:aws:logs:";
  if (!arn.starts_with(kPrefix)) return invalid(fmt::format("Invalid ARN: {}", arn));
  std::string_view rest = arn.substr(kPrefix.size());
  for (int i = 0; i < 2; ++i) {  // region, account
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return invalid(fmt::format("Invalid ARN: {}", arn));
    rest.remove_prefix(colon + 1);
  }
  if (!rest.starts_with("log-group:")) return invalid(fmt::format("Invalid ARN: {}", arn));
  rest.remove_prefix(std::string_view("log-group:").size());
  if (rest.ends_with(":*")) rest.remove_suffix(2);
  if (rest.empty() || rest.find(':') != std::string_view::npos) return invalid(fmt::format("Invalid ARN: {}", arn));
  return std::string(rest);
}

Result<std::string> LogsApi::groupOf(const AwsCall& call) const {
  auto name = json::getString(call.input, "logGroupName");
  auto ident = json::getString(call.input, "logGroupIdentifier");
  if (name && ident)
    return invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.");
  if (name) return std::string(*name);
  if (ident) {
    if (ident->starts_with("arn:")) return groupOfArn(*ident);
    return std::string(*ident);
  }
  return invalid("Should provide either a log group name or log group ARN.");
}

std::string LogsApi::positionDigits(const logs::Position& p, std::string_view scope) const {
  std::string digits;
  digits.reserve(56);
  appendDigits(digits, static_cast<uint64_t>(std::max<int64_t>(p.timestamp, 0)), 15);
  appendDigits(digits, p.block, 20);
  appendDigits(digits, p.index, 7);
  auto mac = aws::hmacSha256Digest(token_key_, std::string(scope) + '\n' + digits);
  uint64_t m = 0;
  for (int i = 0; i < 8; ++i) m = (m << 8) | mac[i];
  appendDigits(digits, m % 100'000'000'000'000ull, 14);
  return digits;  // 56 digits, like CloudWatch's tokens and event ids
}

Result<logs::Position> LogsApi::parsePositionDigits(std::string_view digits, std::string_view scope) const {
  uint64_t ts = 0, block = 0, index = 0;
  if (digits.size() != 56 || !parseDigits(digits.substr(0, 15), ts) || !parseDigits(digits.substr(15, 20), block) ||
      !parseDigits(digits.substr(35, 7), index))
    return invalid("The specified nextToken is invalid.");
  logs::Position p{static_cast<int64_t>(ts), block, static_cast<uint32_t>(index)};
  if (positionDigits(p, scope) != digits) return invalid("The specified nextToken is invalid.");
  return p;
}

std::string LogsApi::nameToken(std::string_view op, std::string_view last) const {
  std::string payload = fmt::format("{}\n{}", op, last);
  std::string mac = aws::hexEncode(aws::hmacSha256Digest(token_key_, payload)).substr(0, 16);
  return registry::base64Encode(std::string(last) + '\n' + mac);
}

Result<std::string> LogsApi::parseNameToken(std::string_view op, std::string_view token) const {
  auto raw = registry::base64Decode(token);
  if (!raw) return invalid("The specified nextToken is invalid.");
  auto nl = raw->rfind('\n');
  if (nl == std::string::npos) return invalid("The specified nextToken is invalid.");
  std::string last = raw->substr(0, nl);
  if (nameToken(op, last) != token) return invalid("The specified nextToken is invalid.");
  return last;
}

// --- groups ---

AwsReply LogsApi::createLogGroup(const AwsCall& call) {
  logs::GroupInfo g;
  g.name = json::stringOr(call.input, "logGroupName");
  g.creation_time = clock_.epochMillis();
  g.kms_key_id = json::stringOr(call.input, "kmsKeyId");
  g.log_group_class = json::stringOr(call.input, "logGroupClass", "STANDARD");
  g.tags = tagMap(call.input, "tags");
  BERTH_TRY(mapStore(store_.createGroup(g), false));
  return bj::object{};
}

AwsReply LogsApi::deleteLogGroup(const AwsCall& call) {
  BERTH_TRY(mapStore(store_.deleteGroup(json::stringOr(call.input, "logGroupName")), false));
  return bj::object{};
}

AwsReply LogsApi::describeLogGroups(const AwsCall& call) {
  const auto& in = call.input;
  auto prefix = json::getString(in, "logGroupNamePrefix");
  auto pattern = json::getString(in, "logGroupNamePattern");
  if (prefix && pattern)
    return invalid("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.");
  std::vector<std::string> identifiers;
  for (const auto& id : json::stringList(in, "logGroupIdentifiers"))
    identifiers.push_back(id.starts_with("arn:") ? BERTH_TRY(groupOfArn(id)) : id);
  if (!identifiers.empty() && (prefix || pattern))
    return invalid("logGroupIdentifiers cannot be used with logGroupNamePrefix or logGroupNamePattern.");
  auto cls = json::getString(in, "logGroupClass");
  int64_t limit = json::getInt(in, "limit").value_or(50);
  std::string after;
  if (auto token = json::getString(in, "nextToken")) after = BERTH_TRY(parseNameToken("DescribeLogGroups", *token));
  std::string needle = pattern ? lower(*pattern) : std::string();

  bj::array out;
  std::string last;
  bool more = false;
  for (const auto& g : store_.groups()) {
    if (!after.empty() && g.name <= after) continue;
    if (prefix && !g.name.starts_with(*prefix)) continue;
    if (pattern && lower(g.name).find(needle) == std::string::npos) continue;
    if (!identifiers.empty() && std::find(identifiers.begin(), identifiers.end(), g.name) == identifiers.end()) continue;
    if (cls && g.log_group_class != *cls) continue;
    if (static_cast<int64_t>(out.size()) == limit) {
      more = true;
      break;
    }
    bj::object o;
    o["logGroupName"] = g.name;
    o["creationTime"] = g.creation_time;
    if (g.retention_days) o["retentionInDays"] = *g.retention_days;
    o["metricFilterCount"] = 0;
    o["arn"] = groupArn(call, g.name) + ":*";
    o["storedBytes"] = g.stored_bytes;
    if (!g.kms_key_id.empty()) o["kmsKeyId"] = g.kms_key_id;
    o["logGroupClass"] = g.log_group_class;
    o["logGroupArn"] = groupArn(call, g.name);
    out.push_back(std::move(o));
    last = g.name;
  }
  bj::object reply{{"logGroups", std::move(out)}};
  if (more) reply["nextToken"] = nameToken("DescribeLogGroups", last);
  return reply;
}

AwsReply LogsApi::putRetentionPolicy(const AwsCall& call) {
  int64_t days = json::getInt(call.input, "retentionInDays").value_or(0);
  if (std::find(kRetentionDays.begin(), kRetentionDays.end(), days) == kRetentionDays.end()) {
    std::string allowed;
    for (int d : kRetentionDays) allowed += fmt::format("{}{}", allowed.empty() ? "" : ", ", d);
    return invalid(fmt::format(
        "1 validation error detected: Value '{}' at 'retentionInDays' failed to satisfy constraint: Member must "
        "satisfy enum value set: [{}]",
        days, allowed));
  }
  BERTH_TRY(mapStore(store_.setRetention(json::stringOr(call.input, "logGroupName"), static_cast<int>(days)), false));
  return bj::object{};
}

AwsReply LogsApi::deleteRetentionPolicy(const AwsCall& call) {
  BERTH_TRY(mapStore(store_.setRetention(json::stringOr(call.input, "logGroupName"), std::nullopt), false));
  return bj::object{};
}

// --- streams ---

AwsReply LogsApi::createLogStream(const AwsCall& call) {
  BERTH_TRY(mapStore(store_.createStream(json::stringOr(call.input, "logGroupName"),
                                         json::stringOr(call.input, "logStreamName")),
                     true));
  return bj::object{};
}

AwsReply LogsApi::deleteLogStream(const AwsCall& call) {
  BERTH_TRY(mapStore(store_.deleteStream(json::stringOr(call.input, "logGroupName"),
                                         json::stringOr(call.input, "logStreamName")),
                     true));
  return bj::object{};
}

AwsReply LogsApi::describeLogStreams(const AwsCall& call) {
  const auto& in = call.input;
  std::string group = BERTH_TRY(groupOf(call));
  auto prefix = json::getString(in, "logStreamNamePrefix");
  std::string order = json::stringOr(in, "orderBy", "LogStreamName");
  bool descending = json::getBool(in, "descending").value_or(false);
  if (order == "LastEventTime" && prefix) return invalid("Cannot order by LastEventTime with a logStreamNamePrefix.");
  int64_t limit = json::getInt(in, "limit").value_or(50);

  auto streams = BERTH_TRY(mapStore(store_.streams(group), false));
  std::erase_if(streams, [&](const logs::StreamInfo& s) { return prefix && !s.name.starts_with(*prefix); });
  // Sort keys; the token is the position in that order (key, name).
  auto key = [&](const logs::StreamInfo& s) -> std::string {
    if (order == "LastEventTime") return fmt::format("{:020}\n{}", s.last_event_timestamp.value_or(0), s.name);
    return s.name;
  };
  std::sort(streams.begin(), streams.end(), [&](const auto& a, const auto& b) {
    return descending ? key(a) > key(b) : key(a) < key(b);
  });
  std::string op = fmt::format("DescribeLogStreams\n{}\n{}\n{}", group, order, descending);
  std::optional<std::string> after;
  if (auto token = json::getString(in, "nextToken")) after = BERTH_TRY(parseNameToken(op, *token));

  bj::array out;
  std::string last;
  bool more = false;
  for (const auto& s : streams) {
    std::string k = key(s);
    if (after && (descending ? k >= *after : k <= *after)) continue;
    if (static_cast<int64_t>(out.size()) == limit) {
      more = true;
      break;
    }
    bj::object o;
    o["logStreamName"] = s.name;
    o["creationTime"] = s.creation_time;
    if (s.first_event_timestamp) o["firstEventTimestamp"] = *s.first_event_timestamp;
    if (s.last_event_timestamp) o["lastEventTimestamp"] = *s.last_event_timestamp;
    if (s.last_ingestion_time) o["lastIngestionTime"] = *s.last_ingestion_time;
    o["arn"] = fmt::format("{}:log-stream:{}", groupArn(call, group), s.name);
    // CloudWatch has reported 0 here since 2019 (the field is deprecated).
    o["storedBytes"] = 0;
    out.push_back(std::move(o));
    last = k;
  }
  bj::object reply{{"logStreams", std::move(out)}};
  if (more) reply["nextToken"] = nameToken(op, last);
  return reply;
}

// --- events ---

void LogsApi::putLogEvents(const AwsCall& call, AwsDone done) {
  const auto& in = call.input;
  std::string group = json::stringOr(in, "logGroupName");
  std::string stream = json::stringOr(in, "logStreamName");
  const bj::array* events = json::getArray(in, "logEvents");
  if (!events || events->empty()) return done(invalid("logEvents must not be empty"));

  auto info = store_.group(group);
  if (!info) return done(std::unexpected(storeError(std::move(info).error(), false)));

  // The whole batch is checked before anything is stored: a bad batch is
  // refused as a whole.
  struct Item {
    int64_t timestamp;
    std::string_view message;  // in call.input
  };
  std::vector<Item> batch;
  batch.reserve(events->size());
  size_t bytes = 0;
  int64_t prev = INT64_MIN;
  for (const auto& v : *events) {
    const auto* e = v.if_object();
    if (!e) return done(invalid("logEvents must be a list of events"));
    int64_t ts = json::getInt(*e, "timestamp").value_or(0);
    std::string_view msg = json::getString(*e, "message").value_or("");
    if (ts < prev) return done(invalid("Log events in a single PutLogEvents request must be in chronological order."));
    prev = ts;
    size_t size = msg.size() + logs::kEventOverheadBytes;
    if (size > kMaxEventBytes)
      return done(invalid(fmt::format("Log event too large: {} bytes exceeds limit of {}", size, kMaxEventBytes)));
    bytes += size;
    batch.push_back(Item{ts, msg});
  }
  if (bytes > kMaxBatchBytes)
    return done(invalid(fmt::format("Upload too large: {} bytes exceeds limit of {}", bytes, kMaxBatchBytes)));
  if (batch.back().timestamp - batch.front().timestamp > kMaxBatchSpanMs)
    return done(invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours."));

  // Too old, expired and too new events are left out and reported by index;
  // the rest are stored. The batch is sorted, so each kind is a prefix or a
  // suffix.
  int64_t now = clock_.epochMillis();
  int64_t too_old_before = now - kMaxPastMs;
  int64_t expired_before = info->retention_days ? now - *info->retention_days * kDayMs : INT64_MIN;
  int64_t too_new_after = now + kMaxFutureMs;
  size_t first = 0;
  while (first < batch.size() && (batch[first].timestamp < too_old_before || batch[first].timestamp < expired_before))
    ++first;
  size_t end = first;
  while (end < batch.size() && batch[end].timestamp <= too_new_after) ++end;
  bj::object rejected;
  if (first > 0) {
    bool any_expired = batch[first - 1].timestamp < expired_before;
    rejected[any_expired ? "expiredLogEventEndIndex" : "tooOldLogEventEndIndex"] = first;
  }
  if (end < batch.size()) rejected["tooNewLogEventStartIndex"] = end;

  bj::object reply;
  reply["nextSequenceToken"] = positionDigits({now, 0, 0}, "sequence");
  if (!rejected.empty()) reply["rejectedLogEventsInfo"] = std::move(rejected);
  if (first == end) return done(AwsReply(std::move(reply)));

  logs::EventBatch accepted;
  accepted.reserve(end - first, bytes);
  for (size_t i = first; i < end; ++i) accepted.add(batch[i].timestamp, batch[i].message);
  store_.append(group, stream, std::move(accepted), std::nullopt,
                [done = std::move(done), reply = std::move(reply)](Status s) mutable {
                  if (!s) return done(std::unexpected(storeError(std::move(s).error(), true)));
                  done(AwsReply(std::move(reply)));
                });
}

AwsReply LogsApi::getLogEvents(const AwsCall& call) {
  const auto& in = call.input;
  std::string group = BERTH_TRY(groupOf(call));
  std::string stream = json::stringOr(in, "logStreamName");
  // The stream must exist (the store's read would just find no blocks).
  BERTH_TRY(mapStore(store_.stream(group, stream), true));

  std::string scope = fmt::format("{}\n{}", group, stream);
  logs::ReadQuery q;
  q.group = group;
  q.streams = {stream};
  if (auto t = json::getInt(in, "startTime")) q.start_time = *t;
  if (auto t = json::getInt(in, "endTime")) q.end_time = *t;
  q.limit = static_cast<size_t>(json::getInt(in, "limit").value_or(10000));
  std::optional<std::string> token;
  if (auto t = json::getString(in, "nextToken")) token = std::string(*t);
  if (token) {
    if (token->size() != 58 || (!token->starts_with("f/") && !token->starts_with("b/")))
      return invalid("The specified nextToken is invalid.");
    q.backward = token->starts_with("b/");
    q.after = BERTH_TRY(parsePositionDigits(std::string_view(*token).substr(2), scope));
  } else {
    q.backward = !json::getBool(in, "startFromHead").value_or(false);
  }

  auto page = BERTH_TRY(mapStore(store_.read(q), true));
  if (q.backward) std::reverse(page.events.begin(), page.events.end());
  bj::array events;
  for (const auto& e : page.events)
    events.push_back(bj::object{{"timestamp", e.timestamp}, {"message", e.message}, {"ingestionTime", e.ingestion_time}});

  bj::object reply;
  reply["events"] = std::move(events);
  if (page.events.empty()) {
    // At an end: CloudWatch hands back the token it was given (so a
    // follower polls the same place), or one for the stream's start.
    logs::Position here = q.after.value_or(logs::Position{});
    reply["nextForwardToken"] = token ? *token : "f/" + positionDigits(here, scope);
    reply["nextBackwardToken"] = token ? *token : "b/" + positionDigits(here, scope);
  } else {
    reply["nextForwardToken"] = "f/" + positionDigits(page.events.back().position, scope);
    reply["nextBackwardToken"] = "b/" + positionDigits(page.events.front().position, scope);
  }
  return reply;
}

AwsReply LogsApi::filterLogEvents(const AwsCall& call) {
  const auto& in = call.input;
  std::string group = BERTH_TRY(groupOf(call));
  auto names = json::stringList(in, "logStreamNames");
  auto prefix = json::getString(in, "logStreamNamePrefix");
  if (!names.empty() && prefix)
    return invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.");
  auto pattern = BERTH_TRY(logs::FilterPattern::parse(json::stringOr(in, "filterPattern")));

  logs::ReadQuery q;
  q.group = group;
  q.streams = names;
  if (prefix) q.stream_prefix = std::string(*prefix);
  if (auto t = json::getInt(in, "startTime")) q.start_time = *t;
  if (auto t = json::getInt(in, "endTime")) q.end_time = *t;
  q.limit = static_cast<size_t>(json::getInt(in, "limit").value_or(10000));
  q.literal = pattern.requiredLiteral();
  if (!pattern.matchesEverything()) q.match = [&pattern](std::string_view m) { return pattern.matches(m); };
  q.scan_budget_bytes = kFilterScanBudget;
  // The token is tied to the query's group; the position says where to go on.
  std::string scope = fmt::format("filter\n{}", group);
  if (auto t = json::getString(in, "nextToken")) q.after = BERTH_TRY(parsePositionDigits(*t, scope));

  auto page = BERTH_TRY(mapStore(store_.read(q), false));
  bj::array events;
  for (const auto& e : page.events) {
    events.push_back(bj::object{{"logStreamName", e.stream},
                                {"timestamp", e.timestamp},
                                {"message", e.message},
                                {"ingestionTime", e.ingestion_time},
                                {"eventId", positionDigits(e.position, "event")}});
  }
  bj::object reply;
  reply["events"] = std::move(events);
  // searchedLogStreams is deprecated; CloudWatch returns an empty list.
  reply["searchedLogStreams"] = bj::array{};
  if (!page.exhausted && page.last) reply["nextToken"] = positionDigits(*page.last, scope);
  return reply;
}

// --- live tail ---

Result<LiveTailSpec> LogsApi::liveTailSpec(const AwsCall& call) const {
  const auto& in = call.input;
  auto identifiers = json::stringList(in, "logGroupIdentifiers");
  auto names = json::stringList(in, "logStreamNames");
  auto prefixes = json::stringList(in, "logStreamNamePrefixes");
  if (identifiers.empty() || identifiers.size() > 10)
    return invalid(fmt::format(
        "1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must have "
        "length less than or equal to 10 and greater than or equal to 1 (got {})",
        identifiers.size()));
  if (!names.empty() && !prefixes.empty())
    return invalid("logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.");
  if ((!names.empty() || !prefixes.empty()) && identifiers.size() != 1)
    return invalid("logStreamNames or logStreamNamePrefixes can only be used with exactly one log group.");
  if (names.size() > 100 || prefixes.size() > 100)
    return invalid("At most 100 logStreamNames or logStreamNamePrefixes are allowed.");

  LiveTailSpec spec;
  for (const auto& id : identifiers) {
    std::string name = id;
    if (id.starts_with("arn:")) {
      if (id.ends_with(":*") || id.ends_with("*"))
        return invalid(fmt::format("Log group ARN must not end with an asterisk: {}", id));
      name = BERTH_TRY(groupOfArn(id));
    }
    for (const auto& g : spec.groups)
      if (g.name == name) return invalid(fmt::format("Duplicate log group identifier: {}", id));
    BERTH_TRY(mapStore(store_.group(name), false));
    spec.groups.push_back(LiveTailSpec::Group{name, id});
  }
  spec.stream_names = std::move(names);
  spec.stream_prefixes = std::move(prefixes);
  spec.pattern = BERTH_TRY(logs::FilterPattern::parse(json::stringOr(in, "logEventFilterPattern")));
  return spec;
}

void LogsApi::startLiveTail(const AwsCall& call, AwsDone done) {
  auto spec = liveTailSpec(call);
  if (!spec) return done(std::unexpected(std::move(spec).error()));
  if (!live_tail_ || !call.open_event_stream)
    return done(
        fail(ErrorCode::kUnimplemented, "Live Tail is not available on this endpoint.", "InvalidOperationException"));
  live_tail_->start(std::move(*spec), call.request_id, call.open_event_stream);
}

// --- tags ---

AwsReply LogsApi::tagLogGroup(const AwsCall& call) {
  BERTH_TRY(mapStore(store_.tagGroup(json::stringOr(call.input, "logGroupName"), tagMap(call.input, "tags")), false));
  return bj::object{};
}

AwsReply LogsApi::untagLogGroup(const AwsCall& call) {
  BERTH_TRY(mapStore(store_.untagGroup(json::stringOr(call.input, "logGroupName"), json::stringList(call.input, "tags")),
                     false));
  return bj::object{};
}

AwsReply LogsApi::listTagsLogGroup(const AwsCall& call) {
  auto g = BERTH_TRY(mapStore(store_.group(json::stringOr(call.input, "logGroupName")), false));
  return bj::object{{"tags", tagObject(g.tags)}};
}

AwsReply LogsApi::tagResource(const AwsCall& call) {
  std::string group = BERTH_TRY(groupOfArn(json::stringOr(call.input, "resourceArn")));
  BERTH_TRY(mapStore(store_.tagGroup(group, tagMap(call.input, "tags")), false));
  return bj::object{};
}

AwsReply LogsApi::untagResource(const AwsCall& call) {
  std::string group = BERTH_TRY(groupOfArn(json::stringOr(call.input, "resourceArn")));
  BERTH_TRY(mapStore(store_.untagGroup(group, json::stringList(call.input, "tagKeys")), false));
  return bj::object{};
}

AwsReply LogsApi::listTagsForResource(const AwsCall& call) {
  std::string group = BERTH_TRY(groupOfArn(json::stringOr(call.input, "resourceArn")));
  auto g = BERTH_TRY(mapStore(store_.group(group), false));
  return bj::object{{"tags", tagObject(g.tags)}};
}

void LogsService::call(AwsCall call, AwsDone done) {
  boost::asio::post(executor_, [this, call = std::move(call), done = std::move(done)]() mutable {
    api_.invoke(call, std::move(done));
  });
}

}  // namespace berth::api
