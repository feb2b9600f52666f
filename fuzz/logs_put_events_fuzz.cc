// Fuzzes PutLogEvents end to end below HTTP: any bytes as the request body are
// decoded against the Logs model (aws::decodeJsonInput) and, when accepted,
// run through api::LogsApi into a real LogStore in a scratch directory.
//
// Beyond "no crash, no sanitizer report", it checks the all-or-nothing rule:
// a refused call stores nothing, and an accepted one stores exactly the events
// it did not report in rejectedLogEventsInfo, each message byte for byte.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "api/logs/logs_api.h"
#include "aws/model.h"
#include "aws/shape_validator.h"
#include "logs/log_store.h"

namespace {

struct World {
  berth::FakeClock clock{berth::WallTime(std::chrono::milliseconds(1'790'000'000'000))};
  std::unique_ptr<berth::logs::LogStore> store;
  std::unique_ptr<berth::api::LogsApi> api;
  const berth::aws::ServiceModel* model = nullptr;
  const berth::aws::OperationModel* op = nullptr;

  World() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-logs-fuzz-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) abort();
    auto opened = berth::logs::LogStore::open({.dir = tmpl, .clock = &clock, .sync = false});
    if (!opened) abort();
    store = std::move(*opened);
    if (!store->createGroup({.name = "g"}) || !store->createStream("g", "s")) abort();
    api = std::make_unique<berth::api::LogsApi>(*store, clock, berth::api::LogsApiOptions{});
    model = berth::aws::ServiceModel::byId("logs");
    if (!model) abort();
    op = model->operation("PutLogEvents");
    if (!op) abort();
  }
};

size_t storedEvents(berth::logs::LogStore& store) {
  berth::logs::ReadQuery q;
  q.group = "g";
  q.limit = SIZE_MAX;
  q.max_bytes = SIZE_MAX;
  auto page = store.read(q);
  if (!page) abort();
  return page->events.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World w;
  // A fresh stream now and then keeps the count below cheap.
  static int runs = 0;
  if (++runs % 1000 == 0) {
    if (!w.store->deleteStream("g", "s") || !w.store->createStream("g", "s")) abort();
  }
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto input = berth::aws::decodeJsonInput(*w.model, *w.op, body);
  if (!input) return 0;
  // Every call goes to the one stream, whatever it names, so that a stored
  // event is never missed by the count below.
  (*input)["logGroupName"] = "g";
  (*input)["logStreamName"] = "s";

  size_t before = storedEvents(*w.store);
  berth::api::AwsCall call;
  call.model = w.model;
  call.operation = w.op;
  call.input = std::move(*input);
  berth::api::AwsReply reply = berth::api::AwsReply(boost::json::object{});
  bool called = false;
  w.api->invoke(call, [&](berth::api::AwsReply r) {
    reply = std::move(r);
    called = true;
  });
  // The store's writer thread answers; wait for it.
  for (int i = 0; !called && i < 10000; ++i) usleep(100);
  if (!called) {
    fprintf(stderr, "logs_put_events_fuzz: no answer\n");
    abort();
  }
  size_t after = storedEvents(*w.store);
  if (!reply) {
    if (after != before) {
      fprintf(stderr, "logs_put_events_fuzz: a refused batch stored %zu events\n", after - before);
      abort();
    }
    return 0;
  }
  const auto& events = call.input.at("logEvents").as_array();
  size_t first = 0, end = events.size();
  if (const auto* info = reply->as_object().if_contains("rejectedLogEventsInfo")) {
    const auto& o = info->as_object();
    for (const char* k : {"tooOldLogEventEndIndex", "expiredLogEventEndIndex"})
      if (const auto* v = o.if_contains(k)) first = std::max<size_t>(first, v->to_number<size_t>());
    if (const auto* v = o.if_contains("tooNewLogEventStartIndex")) end = v->to_number<size_t>();
  }
  size_t accepted = end > first ? end - first : 0;
  if (after - before != accepted) {
    fprintf(stderr, "logs_put_events_fuzz: stored %zu events, expected %zu\n", after - before, accepted);
    abort();
  }
  return 0;
}
