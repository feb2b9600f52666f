// The AWS managed policies berth knows, with the documents of their current
// default versions (AWS's managed policy reference, as of 2026): those the
// seed attaches and a few common ones. Older versions are not kept: each
// policy has only its default version, under its real version id.
#pragma once

#include <span>
#include <string_view>

namespace berth::iam {

struct AwsManagedPolicy {
  std::string_view name;
  std::string_view path;  // "/" or "/service-role/"
  std::string_view description;
  std::string_view version_id;  // the default version
  double created;               // epoch seconds
  double updated;
  std::string_view document;
};

std::span<const AwsManagedPolicy> awsManagedPolicies();

}  // namespace berth::iam
