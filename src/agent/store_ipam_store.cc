#include "agent/store_ipam_store.h"

#include "common/json.h"

namespace berth::agent {

namespace bj = boost::json;

Result<std::vector<net::IpamLease>> StoreIpamStore::load() {
  std::vector<net::IpamLease> out;
  for (const auto& record : BERTH_TRY(store_.loadAll(kKind))) {
    auto value = json::parse(record.value);
    if (!value || !value->is_object()) continue;
    const bj::object& o = value->get_object();
    auto subnet = net::Ipv4Prefix::parseNetwork(json::stringOr(o, "subnet"));
    auto address = net::Ipv4Address::parse(json::stringOr(o, "address"));
    auto mac = net::MacAddress::parse(json::stringOr(o, "mac"));
    if (!subnet || !address || !mac) continue;
    out.push_back(net::IpamLease{record.key, *subnet, *address, *mac});
  }
  return out;
}

Status StoreIpamStore::put(const net::IpamLease& lease) {
  store::Batch batch;
  batch.put(
      kKind, lease.owner,
      json::serialize(bj::object{
          {"subnet", lease.subnet.toString()}, {"address", lease.address.toString()}, {"mac", lease.mac.toString()}}));
  return store_.commit(batch);
}

Status StoreIpamStore::erase(const std::string& owner) {
  store::Batch batch;
  batch.erase(kKind, owner);
  return store_.commit(batch);
}

}  // namespace berth::agent
