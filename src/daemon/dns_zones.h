// The DNS server's view of Cloud Map: adapts servicediscovery::DnsView (the
// snapshots Cloud Map publishes) to dns::ZoneSource (what src/dns/ answers
// from), so the DNS library depends on nothing in the control plane.
//
// Threads: snapshot() from any thread; a new Cloud Map snapshot is converted
// once, by the first caller that sees it, under a short lock.
#pragma once

#include <memory>
#include <mutex>

#include "control/servicediscovery/dns_view.h"
#include "dns/zone_source.h"

namespace berth::daemon {

// Converts one Cloud Map snapshot (exposed for tests).
dns::ZoneSnapshot toZoneSnapshot(const servicediscovery::DnsSnapshot& snapshot);

class CloudMapZoneSource final : public dns::ZoneSource {
 public:
  // `view` must outlive this object.
  explicit CloudMapZoneSource(const servicediscovery::DnsView& view) : view_(view) {}
  std::shared_ptr<const dns::ZoneSnapshot> snapshot() const override;

 private:
  const servicediscovery::DnsView& view_;
  mutable std::mutex mu_;  // guards the two below
  mutable std::shared_ptr<const servicediscovery::DnsSnapshot> source_;
  mutable std::shared_ptr<const dns::ZoneSnapshot> converted_;
};

}  // namespace berth::daemon
