// The resource engine under `berth plan/apply/destroy`: desired resources
// (ResourceSpecs, rendered from the stack file) against live AWS state, a
// Terraform-like diff, and applying it through the AWS APIs (AwsApi), so the
// same code drives berthd and AWS.
//
// Addresses are "type.name". A property value may refer to another
// resource's output with "${type.name.attr}" (whole string or embedded);
// the referring resource must list the address in depends_on (references
// add it implicitly). At plan time a reference resolves from live state, or
// is "(known after apply)" when its resource will be created or replaced (or
// updated, for outputs the type says change on update, such as a task
// definition's arn); at apply time from the outputs of what was just applied.
//
// State (JSON, written atomically after every step): the addresses berth
// manages with their ids, outputs, dependencies and the properties last
// applied ("properties": the desired properties after reference resolution,
// i.e. what was sent, recorded after every create, update, adoption and
// no-op apply). Resources not in state are looked up by name and adopted
// when they exist. Managed addresses no longer desired are destroyed,
// dependents first. State written before properties were recorded still
// loads; such entries detect no removals until their next apply records them.
//
// Diff rule: every attribute present in the desired properties is compared
// with the live one, recursively through objects and equal-length arrays
// (arrays of different lengths, e.g. with an element removed, differ as a
// whole). Attributes only the live side has are ignored (defaults AWS fills
// in), except removals: an attribute present in the last-applied properties
// and in the live ones but absent from the desired ones (at any depth
// reachable through objects and equal-length arrays) is a change with no
// `after` ("- name: value" in the plan), forcing replacement when its
// top-level property does. A top-level removal counts only when the type
// resets that property when it is removed (ResourceType::resetsWhenRemoved);
// apply then passes the removed keys in `changed` to update(), whose `props`
// lack them. Types may normalize both sides (e.g. sort sets) in read().
//
// Thread rules: one thread at a time; the Engine borrows the AwsApi.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "common/result.h"
#include "stack/aws_api.h"

namespace berth::stack {

struct ResourceSpec {
  std::string type;  // ecr_repository, log_group, iam_role, ...
  std::string name;  // unique within type
  boost::json::object properties;
  std::vector<std::string> depends_on;  // addresses
  // Top-level property names not diffed (used at create only), e.g.
  // {"desiredCount"} for a service under autoscaling.
  std::vector<std::string> ignore_changes;

  std::string address() const { return type + "." + name; }
};

enum class Action { kNoop, kCreate, kUpdate, kReplace, kDelete };
const char* actionName(Action a);

struct AttributeChange {
  std::string path;                                 // "memory", "containerDefinitions[0].environment[1].value"
  std::optional<boost::json::value> before, after;  // nullopt: absent
  bool forces_replacement = false;
};

struct Change {
  std::string address;
  Action action = Action::kNoop;
  std::vector<AttributeChange> attributes;
};

// In apply order: deletes of undesired resources (dependents first), then
// every desired resource in dependency order (noops included).
struct Plan {
  std::vector<Change> changes;
  bool empty() const;
  int count(Action a) const;
};

// The sentinel value of a reference not known until apply.
inline constexpr std::string_view kKnownAfterApply = "(known after apply)";

// A resource as it exists: its id (what state stores), its properties in the
// type's normalized form, and its outputs (what "${...}" can refer to).
struct LiveResource {
  std::string id;
  boost::json::object properties;
  boost::json::object outputs;
};

// One resource type's AWS calls. `props` are the resolved desired properties.
class ResourceType {
 public:
  virtual ~ResourceType() = default;
  virtual std::string_view type() const = 0;
  // The live resource: by `id` when non-empty, else found by the desired
  // properties (`props`, may be null for a managed resource no longer
  // desired). nullopt when it does not exist.
  virtual Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                                   const boost::json::object* props) = 0;
  virtual Result<LiveResource> create(AwsApi& api, const std::string& name, const boost::json::object& props) = 0;
  // `changed`: the top-level properties that differ.
  virtual Result<LiveResource> update(AwsApi& api, const std::string& name, const LiveResource& live,
                                      const boost::json::object& props, const std::vector<std::string>& changed) = 0;
  virtual Status remove(AwsApi& api, const LiveResource& live) = 0;
  // Whether a change of the top-level property `key` needs a new resource.
  virtual bool forcesReplacement(std::string_view key) const = 0;
  // Whether removing the top-level property `key` from the stack file is
  // applied, i.e. update() resets it (to the create-time default) when it is
  // in `changed` but absent from `props`. When false, its live value is left
  // as is and the removal is no change.
  virtual bool resetsWhenRemoved(std::string_view /*key*/) const { return true; }
  // Whether output `attr` changes when the resource is updated in place.
  virtual bool outputChangesOnUpdate(std::string_view /*attr*/) const { return false; }
  // The outputs known before a create or replacement (names taken from the
  // properties), so that plans show fewer "(known after apply)".
  virtual boost::json::object plannedOutputs(const std::string& /*name*/, const boost::json::object& /*props*/) const {
    return {};
  }
};

using ResourceTypes = std::map<std::string, std::unique_ptr<ResourceType>, std::less<>>;
// The eleven AWS types (resource_*.cc).
ResourceTypes awsResourceTypes();

// What apply reports as it goes: address, action, and "started"/"done".
using ProgressFn = std::function<void(const std::string& address, Action action, std::string_view phase)>;

// --- Pure helpers (exposed for tests) ---

// Desired order: every resource after its dependencies (explicit and by
// reference). InvalidArgument naming the cycle, an unknown address or a
// duplicate.
Result<std::vector<const ResourceSpec*>> orderByDependencies(const std::vector<ResourceSpec>& specs);
// The addresses "${a.b.c}" in `v` refers to ("a.b"), deduplicated.
std::vector<std::string> referencedAddresses(const boost::json::value& v);
// `v` with references replaced: whole-string references by the output's
// value (any JSON type), embedded ones by its text. `outputs` maps an address
// to its outputs; a missing address or attribute yields kKnownAfterApply.
boost::json::value resolveReferences(const boost::json::value& v,
                                     const std::map<std::string, boost::json::object>& outputs);
bool containsUnknown(const boost::json::value& v);
// The attribute changes from `live` to `desired`, per the diff rule above;
// `last_applied` (may be null: no removals) is what was applied before,
// already without the top-level keys whose removal the type does not reset.
std::vector<AttributeChange> diffProperties(const boost::json::object& live, const boost::json::object& desired,
                                            const std::vector<std::string>& ignore,
                                            const std::function<bool(std::string_view)>& forces_replacement,
                                            const boost::json::object* last_applied = nullptr);

// --- Paging helpers for the resource types (resource_*.cc) ---

// Calls a JSON-protocol list/describe operation page after page: `token_key`
// ("nextToken" for Logs, ECR, ECS; "NextToken" for Cloud Map, SSM,
// Application Auto Scaling) is copied from each answer into the next input
// until an answer has none. `page` sees each answer and returns false to stop
// early (e.g. when it found what it looks for). An error when a page fails or
// a token repeats (a server that would loop forever).
Status forEachJsonPage(AwsApi& api, std::string_view service, std::string_view operation, boost::json::object input,
                       std::string_view token_key, const std::function<bool(const boost::json::object&)>& page);
// The same for the Query protocol's Marker paging (IAM): `page` sees each
// answer's <ActionResult> element; while its IsTruncated is "true", the next
// request carries its Marker.
Status forEachQueryPage(AwsApi& api, std::string_view service, std::string_view action, QueryParams params,
                        const std::function<bool(const XmlElement&)>& page);

class Engine {
 public:
  // `types` defaults to awsResourceTypes().
  Engine(AwsApi& api, std::string state_path, ResourceTypes types = awsResourceTypes());

  // Reads the live state of every desired and every managed resource.
  Result<Plan> plan(const std::vector<ResourceSpec>& desired);
  // Carries out `plan` (from plan() or planDestroy() with the same
  // `desired`); stops at the first failure, with state saved up to it.
  Status apply(const Plan& plan, const std::vector<ResourceSpec>& desired, const ProgressFn& progress = {});
  // Deletes of the managed `targets` (addresses; empty: all managed) that
  // still exist, dependents first. Apply it with any `desired` (unused).
  Result<Plan> planDestroy(const std::vector<std::string>& targets = {});

  // The managed addresses (from the state file).
  Result<std::vector<std::string>> managed() const;

 private:
  struct StateEntry {
    std::string id;
    boost::json::object outputs;
    std::vector<std::string> depends_on;
    std::optional<boost::json::object> applied;  // last-applied properties; nullopt in old state files
  };
  using State = std::map<std::string, StateEntry>;
  Result<State> loadState() const;
  Status saveState(const State& state) const;
  Result<ResourceType*> typeOf(std::string_view address) const;
  // Managed addresses in deletion order (dependents first).
  std::vector<std::string> deletionOrder(const State& state, const std::vector<std::string>& subset) const;

  AwsApi& api_;
  std::string state_path_;
  ResourceTypes types_;
};

// Terraform-like text of the plan; ANSI colors when `color`.
std::string renderPlan(const Plan& plan, bool color);

}  // namespace berth::stack
