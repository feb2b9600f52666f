// Renders task metadata and stats as the ECS task metadata endpoint v4 does:
// member names and order as ECS's agent writes them, optional members left
// out when unset (Go's omitempty), timestamps in Go's RFC 3339 form with
// trailing zeros of the fraction dropped ("2020-10-02T00:43:06.202617Z").
//
// Pure functions; safe on any thread.
#pragma once

#include <optional>

#include <boost/json.hpp>

#include "agent/endpoints/stats_source.h"
#include "agent/endpoints/task_metadata.h"
#include "common/clock.h"

namespace berth::agent::endpoints {

// Go's time.Time JSON form (RFC 3339, nanosecond fraction trimmed).
std::string goTime(WallTime t);
// Docker's "never": "0001-01-01T00:00:00Z".
inline constexpr std::string_view kZeroGoTime = "0001-01-01T00:00:00Z";

// `${ECS_CONTAINER_METADATA_URI_V4}`.
boost::json::object renderContainer(const ContainerMetadata& c);
// `/task` and, with `with_tags`, `/taskWithTags`. `now` stamps ClockDrift's
// ReferenceTimestamp.
boost::json::object renderTask(const TaskMetadata& t, bool with_tags, WallTime now);
// Docker's ContainerStats for one sample, with the previous sample of the
// same container as precpu_stats/preread (zeros without one) and ECS's
// network_rate_stats between the two.
boost::json::object renderStats(const ContainerMetadata& c, const ContainerStatsSample& current,
                                const std::optional<ContainerStatsSample>& previous);

}  // namespace berth::agent::endpoints
