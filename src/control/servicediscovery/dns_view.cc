#include "control/servicediscovery/dns_view.h"

#include <cctype>

namespace berth::servicediscovery {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

void DnsSnapshot::index() {
  zones_by_name_.clear();
  names_.clear();
  instance_names_.clear();
  // Instance names first, all of them, so that the views below stay valid.
  for (const auto& z : zones)
    for (const auto& s : z.services)
      for (const auto& i : s.instances) instance_names_.push_back(lower(i.id) + "." + s.fqdn);
  size_t next_instance = 0;
  for (const auto& z : zones) {
    zones_by_name_.emplace(z.name, &z);
    names_.emplace(z.name, DnsLookup{&z, nullptr, nullptr, true});
    for (const auto& s : z.services) {
      names_[s.fqdn] = DnsLookup{&z, &s, nullptr, s.fqdn == z.name};
      for (const auto& i : s.instances) names_.emplace(instance_names_[next_instance++], DnsLookup{&z, &s, &i, false});
    }
  }
}

const DnsZone* DnsSnapshot::findZone(std::string_view name) const {
  while (true) {
    if (auto it = zones_by_name_.find(name); it != zones_by_name_.end()) return it->second;
    auto dot = name.find('.');
    if (dot == std::string_view::npos) return nullptr;
    name.remove_prefix(dot + 1);
  }
}

std::optional<DnsLookup> DnsSnapshot::lookup(std::string_view name) const {
  if (auto it = names_.find(name); it != names_.end()) return it->second;
  const DnsZone* zone = findZone(name);
  if (!zone) return std::nullopt;
  return DnsLookup{zone, nullptr, nullptr, false};
}

}  // namespace berth::servicediscovery
