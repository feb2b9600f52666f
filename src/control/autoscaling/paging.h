// Paging for Application Auto Scaling's Describe* calls: MaxResults (1-50,
// default 50) and an opaque NextToken.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "common/json.h"
#include "common/result.h"
#include "control/autoscaling/errors.h"
#include "control/cloudwatch/request.h"

namespace berth::autoscaling {

struct PageRequest {
  int64_t offset = 0;
  int64_t size = 50;
};

inline Result<PageRequest> pageRequest(const boost::json::object& in) {
  PageRequest page;
  page.size = json::getInt(in, "MaxResults").value_or(50);
  if (page.size < 1 || page.size > 50) return validation("MaxResults must be between 1 and 50");
  if (auto token = json::getString(in, "NextToken")) {
    auto parsed = cloudwatch::parseToken(*token);
    if (!parsed) return invalidNextToken("Invalid NextToken");
    page.offset = *parsed;
  }
  return page;
}

// Whether `doc` passes a Describe call's filters: its `name_key` among the
// call's `names_member` list (when given), and its ResourceId and
// ScalableDimension the call's (when given).
inline bool passesFilters(const boost::json::object& doc, const boost::json::object& in, std::string_view names_member,
                          std::string_view name_key) {
  auto names = json::stringList(in, names_member);
  if (!names.empty() && std::find(names.begin(), names.end(), json::stringOr(doc, name_key)) == names.end())
    return false;
  for (std::string_view k : {"ResourceId", "ScalableDimension"})
    if (auto want = json::getString(in, k); want && json::stringOr(doc, k) != *want) return false;
  return true;
}

// Oldest first, as AWS lists policies and scheduled actions; ties by ARN.
inline void sortByCreation(std::vector<const boost::json::object*>& docs, std::string_view arn_key) {
  auto key = [arn_key](const boost::json::object* d) {
    const boost::json::value* created = json::find(*d, "CreationTime");
    return std::pair(created && created->is_number() ? created->to_number<double>() : 0.0, json::stringOr(*d, arn_key));
  };
  std::sort(docs.begin(), docs.end(), [&](const auto* a, const auto* b) { return key(a) < key(b); });
}

// {member: the page of `items` asked for, NextToken: when more follow}.
inline boost::json::object pageOf(const std::vector<const boost::json::object*>& items, const PageRequest& page,
                                  std::string_view member) {
  boost::json::array out;
  auto count = static_cast<int64_t>(items.size());
  for (int64_t i = page.offset; i < count && static_cast<int64_t>(out.size()) < page.size; ++i)
    out.push_back(*items[static_cast<size_t>(i)]);
  boost::json::object result{{member, std::move(out)}};
  if (page.offset + page.size < count) result["NextToken"] = cloudwatch::makeToken(page.offset + page.size);
  return result;
}

}  // namespace berth::autoscaling
