// Fuzzes the whole request path: raw bytes → Beast's HTTP parser (with the
// server's limits) → the AWS front door (routing, SigV4 parsing, Query and
// JSON decoding) → the ECS control plane on a memory store and fake agent,
// with --auth off so that well-formed requests reach the services. Nothing
// may crash, hang or leak; every request gets exactly one response.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "agent/fake_agent.h"
#include "api/control_service.h"
#include "api/ec2/ec2_api.h"
#include "api/ecs/ecs_api.h"
#include "api/front_door.h"
#include "control/ecs/ecs.h"
#include "control/network.h"
#include "store/store.h"

namespace {

using namespace berth;

struct World {
  std::unique_ptr<store::Store> store = store::makeMemoryStore();
  FakeClock clock;
  control::NetworkInventory network = *control::loadOrCreateNetwork(*store, "us-east-1", "172.31.0.0/16");
  ecs::Ecs ecs{ecs::EcsConfig{}, *store, clock, network};
  std::deque<agent::TaskEvent> events;
  agent::FakeAgent agent{clock, [this](agent::TaskEvent e) { events.push_back(std::move(e)); }};
  api::InlineService ecs_service{"ecs", [this](const api::AwsCall& call) { return api::invokeEcs(ecs, call); }};
  api::InlineService ec2_service{
      "ec2", [this](const api::AwsCall& call) { return api::invokeEc2(network, "000000000000", call); }};
  api::FrontDoor front_door{api::FrontDoorOptions{aws::AuthMode::kOff},
                            [](std::string_view) { return std::optional<aws::Credential>(); }, clock};
  World() {
    (void)ecs.load();
    ecs.attachAgent(&agent);
    front_door.addService(&ecs_service);
    front_door.addService(&ec2_service);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // State carries over between inputs, as in a long-lived daemon, but is
  // renewed now and then so memory stays bounded.
  static World* world = nullptr;
  static unsigned inputs = 0;
  if (inputs++ % 4096 == 0) {
    delete world;
    world = new World();
  }
  namespace bh = boost::beast::http;
  bh::request_parser<bh::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  int responses = 0;
  world->front_door.handle(parser.release(), [&](http::Response) { ++responses; });
  while (!world->events.empty()) {
    auto e = std::move(world->events.front());
    world->events.pop_front();
    world->ecs.onTaskEvent(e);
  }
  if (responses != 1) __builtin_trap();
  return 0;
}
