#include "daemon/dns_zones.h"

namespace berth::daemon {

dns::ZoneSnapshot toZoneSnapshot(const servicediscovery::DnsSnapshot& in) {
  namespace sd = servicediscovery;
  dns::ZoneSnapshot out;
  out.serial = static_cast<uint32_t>(in.revision) + 1;
  for (const sd::DnsZone& z : in.zones) {
    dns::DnsZone zone;
    zone.name = z.name;
    zone.soa_ttl = z.soa_ttl;
    for (const sd::DnsService& s : z.services) {
      dns::DnsService service;
      service.name = s.name;
      service.routing = s.weighted ? dns::RoutingPolicy::kWeighted : dns::RoutingPolicy::kMultivalue;
      for (const sd::DnsRecordConfig& r : s.records) {
        dns::DnsRecordSpec spec;
        spec.ttl = r.ttl;
        switch (r.type) {
          case sd::DnsRecordType::kA: spec.type = dns::DnsRecordSpec::Type::kA; break;
          case sd::DnsRecordType::kAAAA: spec.type = dns::DnsRecordSpec::Type::kAaaa; break;
          case sd::DnsRecordType::kSRV: spec.type = dns::DnsRecordSpec::Type::kSrv; break;
          case sd::DnsRecordType::kCNAME: spec.type = dns::DnsRecordSpec::Type::kCname; break;
        }
        service.records.push_back(spec);
      }
      for (const sd::DnsInstance& i : s.instances)
        service.instances.push_back(dns::DnsInstance{i.id, i.ipv4, i.ipv6, i.port, i.cname, i.healthy});
      zone.services.push_back(std::move(service));
    }
    out.zones.push_back(std::move(zone));
  }
  return out;
}

std::shared_ptr<const dns::ZoneSnapshot> CloudMapZoneSource::snapshot() const {
  auto current = view_.snapshot();
  std::lock_guard lock(mu_);
  if (current != source_ || !converted_) {
    converted_ = std::make_shared<const dns::ZoneSnapshot>(current ? toZoneSnapshot(*current) : dns::ZoneSnapshot{});
    source_ = std::move(current);
  }
  return converted_;
}

}  // namespace berth::daemon
