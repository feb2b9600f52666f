#include "stack/engine.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <unistd.h>

#include <fmt/format.h>

#include "common/json.h"

namespace berth::stack {
namespace {

namespace bj = boost::json;

std::string typeOfAddress(std::string_view address) {
  size_t dot = address.find('.');
  return std::string(address.substr(0, dot));
}

bool isUnknown(const bj::value& v) { return v.is_string() && v.as_string() == kKnownAfterApply; }

bool sameNumber(const bj::value& a, const bj::value& b) {
  if (a.is_double() || b.is_double()) return a.to_number<double>() == b.to_number<double>();
  if (a.is_int64() && b.is_int64()) return a.as_int64() == b.as_int64();
  if (a.is_uint64() && b.is_uint64()) return a.as_uint64() == b.as_uint64();
  const bj::value& i = a.is_int64() ? a : b;
  const bj::value& u = a.is_int64() ? b : a;
  return i.as_int64() >= 0 && static_cast<uint64_t>(i.as_int64()) == u.as_uint64();
}

bool isNumber(const bj::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

// `applied` (may be null): the last-applied value at `path`, for removals.
void diffValue(const std::string& path, const bj::value* before, const bj::value& after, const bj::value* applied,
               bool forces, std::vector<AttributeChange>& out) {
  if (after.is_null()) return;  // "don't care"
  auto changed = [&] {
    out.push_back(AttributeChange{path, before ? std::optional<bj::value>(*before) : std::nullopt, after, forces});
  };
  if (!before || isUnknown(after)) return changed();
  if (before->is_object() && after.is_object()) {
    const bj::object* was = applied && applied->is_object() ? &applied->as_object() : nullptr;
    for (const auto& [k, v] : after.as_object())
      diffValue(path + "." + std::string(k), before->as_object().if_contains(k), v, was ? was->if_contains(k) : nullptr,
                forces, out);
    if (was)
      for (const auto& [k, v] : *was)
        if (!after.as_object().contains(k))
          if (const bj::value* live = before->as_object().if_contains(k))
            if (!v.is_null()) out.push_back(AttributeChange{path + "." + std::string(k), *live, std::nullopt, forces});
    return;
  }
  if (before->is_array() && after.is_array() && before->as_array().size() == after.as_array().size()) {
    const auto& b = before->as_array();
    const auto& a = after.as_array();
    const bj::array* was =
        applied && applied->is_array() && applied->as_array().size() == a.size() ? &applied->as_array() : nullptr;
    for (size_t i = 0; i < a.size(); ++i)
      diffValue(fmt::format("{}[{}]", path, i), &b[i], a[i], was ? &(*was)[i] : nullptr, forces, out);
    return;
  }
  if (isNumber(*before) && isNumber(after)) {
    if (!sameNumber(*before, after)) changed();
    return;
  }
  if (*before != after) changed();
}

void collectReferences(const bj::value& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    std::string_view s = v.as_string();
    for (size_t at = s.find("${"); at != std::string_view::npos; at = s.find("${", at + 2)) {
      size_t end = s.find('}', at);
      if (end == std::string_view::npos) break;
      std::string_view ref = s.substr(at + 2, end - at - 2);
      size_t last = ref.rfind('.');
      if (last == std::string_view::npos || ref.find('.') == last) continue;  // needs type.name.attr
      std::string address(ref.substr(0, last));
      if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(std::move(address));
    }
  } else if (v.is_array()) {
    for (const auto& e : v.as_array()) collectReferences(e, out);
  } else if (v.is_object()) {
    for (const auto& [k, e] : v.as_object()) collectReferences(e, out);
  }
}

std::vector<std::string> dependenciesOf(const ResourceSpec& s) {
  std::vector<std::string> deps = s.depends_on;
  for (auto& r : referencedAddresses(bj::value(s.properties)))
    if (std::find(deps.begin(), deps.end(), r) == deps.end()) deps.push_back(std::move(r));
  return deps;
}

std::string scalarText(const bj::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

std::vector<std::string> topLevelKeys(const std::vector<AttributeChange>& changes) {
  std::vector<std::string> keys;
  for (const auto& c : changes) {
    std::string key = c.path.substr(0, c.path.find_first_of(".["));
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  }
  return keys;
}

// The last-applied properties whose removal counts (see the diff rule):
// without the top-level keys `type` leaves as is when removed. nullopt when
// state does not record them.
std::optional<bj::object> removable(const ResourceType& type, const std::optional<bj::object>& applied) {
  if (!applied) return std::nullopt;
  bj::object out;
  for (const auto& [k, v] : *applied)
    if (type.resetsWhenRemoved(k)) out[k] = v;
  return out;
}

// JSON text for people: doubles as 60 or 0.5 rather than 6E1 or 5E-1.
std::string displayJson(const bj::value& v) {
  if (v.is_double()) return fmt::format("{}", v.as_double());
  if (v.is_array()) {
    std::string out = "[";
    for (const auto& e : v.as_array()) out += (out.size() > 1 ? "," : "") + displayJson(e);
    return out + "]";
  }
  if (v.is_object()) {
    std::string out = "{";
    for (const auto& [k, e] : v.as_object())
      out += (out.size() > 1 ? "," : "") + json::serialize(bj::value(k)) + ":" + displayJson(e);
    return out + "}";
  }
  return json::serialize(v);
}

}  // namespace

const char* actionName(Action a) {
  switch (a) {
    case Action::kNoop:
      return "no-op";
    case Action::kCreate:
      return "create";
    case Action::kUpdate:
      return "update";
    case Action::kReplace:
      return "replace";
    case Action::kDelete:
      return "delete";
  }
  return "?";
}

bool Plan::empty() const {
  return std::all_of(changes.begin(), changes.end(), [](const Change& c) { return c.action == Action::kNoop; });
}

int Plan::count(Action a) const {
  return static_cast<int>(
      std::count_if(changes.begin(), changes.end(), [a](const Change& c) { return c.action == a; }));
}

std::vector<std::string> referencedAddresses(const bj::value& v) {
  std::vector<std::string> out;
  collectReferences(v, out);
  return out;
}

bj::value resolveReferences(const bj::value& v, const std::map<std::string, bj::object>& outputs) {
  auto lookup = [&](std::string_view ref) -> bj::value {
    size_t last = ref.rfind('.');
    if (last == std::string_view::npos) return bj::value(kKnownAfterApply);
    auto it = outputs.find(std::string(ref.substr(0, last)));
    if (it == outputs.end()) return bj::value(kKnownAfterApply);
    const bj::value* out = it->second.if_contains(ref.substr(last + 1));
    return out ? *out : bj::value(kKnownAfterApply);
  };
  if (v.is_string()) {
    std::string_view s = v.as_string();
    size_t at = s.find("${");
    if (at == std::string_view::npos) return v;
    if (at == 0 && s.back() == '}' && s.find('}') == s.size() - 1) return lookup(s.substr(2, s.size() - 3));
    std::string text;
    size_t pos = 0;
    for (; at != std::string_view::npos; at = s.find("${", pos)) {
      size_t end = s.find('}', at);
      if (end == std::string_view::npos) break;
      text += s.substr(pos, at - pos);
      bj::value r = lookup(s.substr(at + 2, end - at - 2));
      if (isUnknown(r)) return r;
      text += scalarText(r);
      pos = end + 1;
    }
    text += s.substr(pos);
    return bj::value(text);
  }
  if (v.is_array()) {
    bj::array a;
    for (const auto& e : v.as_array()) a.push_back(resolveReferences(e, outputs));
    return a;
  }
  if (v.is_object()) {
    bj::object o;
    for (const auto& [k, e] : v.as_object()) o[k] = resolveReferences(e, outputs);
    return o;
  }
  return v;
}

bool containsUnknown(const bj::value& v) {
  if (isUnknown(v)) return true;
  if (v.is_array())
    return std::any_of(v.as_array().begin(), v.as_array().end(), [](const bj::value& e) { return containsUnknown(e); });
  if (v.is_object())
    return std::any_of(v.as_object().begin(), v.as_object().end(),
                       [](const auto& kv) { return containsUnknown(kv.value()); });
  return false;
}

std::vector<AttributeChange> diffProperties(const bj::object& live, const bj::object& desired,
                                            const std::vector<std::string>& ignore,
                                            const std::function<bool(std::string_view)>& forces_replacement,
                                            const bj::object* last_applied) {
  std::vector<AttributeChange> out;
  auto ignored = [&](std::string_view k) { return std::find(ignore.begin(), ignore.end(), k) != ignore.end(); };
  auto forces = [&](std::string_view k) { return forces_replacement && forces_replacement(k); };
  for (const auto& [k, v] : desired) {
    if (ignored(k)) continue;
    diffValue(std::string(k), live.if_contains(k), v, last_applied ? last_applied->if_contains(k) : nullptr, forces(k),
              out);
  }
  if (last_applied)
    for (const auto& [k, v] : *last_applied)
      if (!v.is_null() && !ignored(k) && !desired.contains(k))
        if (const bj::value* now = live.if_contains(k))
          out.push_back(AttributeChange{std::string(k), *now, std::nullopt, forces(k)});
  return out;
}

Result<std::vector<const ResourceSpec*>> orderByDependencies(const std::vector<ResourceSpec>& specs) {
  std::map<std::string, const ResourceSpec*> by_address;
  for (const auto& s : specs)
    if (!by_address.emplace(s.address(), &s).second)
      return fail(ErrorCode::kInvalidArgument, fmt::format("resource {} is declared twice", s.address()));
  enum Mark { kNone, kVisiting, kDone };
  std::map<std::string, Mark> mark;
  std::vector<std::string> stack;
  std::vector<const ResourceSpec*> order;
  std::function<Status(const ResourceSpec&)> visit = [&](const ResourceSpec& s) -> Status {
    std::string a = s.address();
    if (mark[a] == kDone) return {};
    if (mark[a] == kVisiting) {
      auto from = std::find(stack.begin(), stack.end(), a);
      std::string cycle;
      for (auto it = from; it != stack.end(); ++it) cycle += *it + " -> ";
      return fail(ErrorCode::kInvalidArgument, fmt::format("dependency cycle: {}{}", cycle, a));
    }
    mark[a] = kVisiting;
    stack.push_back(a);
    for (const auto& dep : dependenciesOf(s)) {
      auto it = by_address.find(dep);
      if (it == by_address.end())
        return fail(ErrorCode::kInvalidArgument, fmt::format("{} refers to undeclared resource {}", a, dep));
      BERTH_TRY(visit(*it->second));
    }
    stack.pop_back();
    mark[a] = kDone;
    order.push_back(&s);
    return {};
  };
  for (const auto& s : specs) BERTH_TRY(visit(s));
  return order;
}

Engine::Engine(AwsApi& api, std::string state_path, ResourceTypes types)
    : api_(api), state_path_(std::move(state_path)), types_(std::move(types)) {}

Result<ResourceType*> Engine::typeOf(std::string_view address) const {
  auto it = types_.find(typeOfAddress(address));
  if (it == types_.end()) return fail(ErrorCode::kInvalidArgument, fmt::format("{}: unknown resource type", address));
  return it->second.get();
}

Result<Engine::State> Engine::loadState() const {
  State state;
  std::ifstream in(state_path_);
  if (!in) return state;
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = json::parse(ss.str());
  const bj::object* resources = doc && doc->is_object() ? json::getObject(doc->as_object(), "resources") : nullptr;
  if (!resources) return fail(ErrorCode::kInvalidArgument, fmt::format("{}: not a berth state file", state_path_));
  for (const auto& [address, v] : *resources) {
    if (!v.is_object()) continue;
    const bj::object& o = v.as_object();
    StateEntry e{json::stringOr(o, "id"), {}, json::stringList(o, "depends_on")};
    if (const bj::object* outputs = json::getObject(o, "outputs")) e.outputs = *outputs;
    if (const bj::object* applied = json::getObject(o, "properties")) e.applied = *applied;
    state.emplace(std::string(address), std::move(e));
  }
  return state;
}

Status Engine::saveState(const State& state) const {
  bj::object resources;
  for (const auto& [address, e] : state) {
    bj::array deps;
    for (const auto& d : e.depends_on) deps.push_back(bj::value(d));
    bj::object entry{{"id", e.id}, {"outputs", e.outputs}, {"depends_on", std::move(deps)}};
    if (e.applied) entry["properties"] = *e.applied;
    resources[address] = std::move(entry);
  }
  std::string text = json::serialize(bj::object{{"version", 1}, {"resources", std::move(resources)}}) + "\n";
  std::filesystem::path path(state_path_);
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  std::string tmp = state_path_ + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return failErrno("open " + tmp, errno);
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fflush(f) == 0 && ok;
  ok = ::fsync(fileno(f)) == 0 && ok;
  int err = errno;
  std::fclose(f);
  if (!ok) return failErrno("write " + tmp, err);
  if (std::rename(tmp.c_str(), state_path_.c_str()) != 0) return failErrno("rename " + tmp, errno);
  return {};
}

Result<std::vector<std::string>> Engine::managed() const {
  State state = BERTH_TRY(loadState());
  std::vector<std::string> out;
  for (const auto& [a, e] : state) out.push_back(a);
  return out;
}

std::vector<std::string> Engine::deletionOrder(const State& state, const std::vector<std::string>& subset) const {
  std::set<std::string> in_subset(subset.begin(), subset.end()), done;
  std::vector<std::string> order;
  std::function<void(const std::string&)> visit = [&](const std::string& a) {
    if (!done.insert(a).second) return;
    for (const auto& [b, e] : state)  // dependents go first
      if (in_subset.contains(b) && std::find(e.depends_on.begin(), e.depends_on.end(), a) != e.depends_on.end())
        visit(b);
    order.push_back(a);
  };
  for (const auto& a : subset) visit(a);
  return order;
}

Result<Plan> Engine::plan(const std::vector<ResourceSpec>& desired) {
  std::vector<const ResourceSpec*> order = BERTH_TRY(orderByDependencies(desired));
  State state = BERTH_TRY(loadState());
  Plan plan;

  std::set<std::string> wanted;
  for (const auto& s : desired) wanted.insert(s.address());
  std::vector<std::string> orphans;
  for (const auto& [a, e] : state)
    if (!wanted.contains(a)) orphans.push_back(a);
  for (const auto& a : deletionOrder(state, orphans)) {
    ResourceType* type = BERTH_TRY(typeOf(a));
    const StateEntry& e = state.at(a);
    auto live = BERTH_TRY(type->read(api_, a.substr(a.find('.') + 1), e.id, nullptr));
    if (live) plan.changes.push_back(Change{a, Action::kDelete, {}});
  }

  std::map<std::string, bj::object> outputs;  // known at plan time
  for (const ResourceSpec* s : order) {
    std::string a = s->address();
    ResourceType* type = BERTH_TRY(typeOf(a));
    bj::object props = resolveReferences(s->properties, outputs).as_object();
    auto st = state.find(a);
    auto live = BERTH_TRY(type->read(api_, s->name, st == state.end() ? std::string() : st->second.id, &props));
    Change c{a, Action::kNoop, {}};
    if (!live) {
      c.action = Action::kCreate;
      outputs[a] = type->plannedOutputs(s->name, props);
      for (const auto& [k, v] : props)
        if (!v.is_null()) c.attributes.push_back(AttributeChange{std::string(k), std::nullopt, v, false});
    } else {
      auto applied = st == state.end() ? std::nullopt : removable(*type, st->second.applied);
      c.attributes = diffProperties(
          live->properties, props, s->ignore_changes, [type](std::string_view k) { return type->forcesReplacement(k); },
          applied ? &*applied : nullptr);
      bool replace = std::any_of(c.attributes.begin(), c.attributes.end(),
                                 [](const AttributeChange& x) { return x.forces_replacement; });
      c.action = c.attributes.empty() ? Action::kNoop : replace ? Action::kReplace : Action::kUpdate;
      if (c.action == Action::kReplace) outputs[a] = type->plannedOutputs(s->name, props);
      if (c.action == Action::kNoop || c.action == Action::kUpdate) {
        bj::object known = live->outputs;
        if (c.action == Action::kUpdate) {
          for (auto it = known.begin(); it != known.end();) {
            if (type->outputChangesOnUpdate(it->key())) {
              it = known.erase(it);
            } else {
              ++it;
            }
          }
        }
        outputs[a] = std::move(known);
      }
    }
    plan.changes.push_back(std::move(c));
  }
  return plan;
}

Result<Plan> Engine::planDestroy(const std::vector<std::string>& targets) {
  State state = BERTH_TRY(loadState());
  std::vector<std::string> subset;
  if (targets.empty()) {
    for (const auto& [a, e] : state) subset.push_back(a);
  } else {
    for (const auto& t : targets)
      if (!state.contains(t)) return fail(ErrorCode::kNotFound, fmt::format("{} is not managed by berth", t));
    // The targets and, transitively, what depends on them.
    std::set<std::string> all(targets.begin(), targets.end());
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& [a, e] : state)
        for (const auto& d : e.depends_on)
          if (all.contains(d) && all.insert(a).second) grew = true;
    }
    subset.assign(all.begin(), all.end());
  }
  Plan plan;
  for (const auto& a : deletionOrder(state, subset)) {
    ResourceType* type = BERTH_TRY(typeOf(a));
    auto live = BERTH_TRY(type->read(api_, a.substr(a.find('.') + 1), state.at(a).id, nullptr));
    if (live) plan.changes.push_back(Change{a, Action::kDelete, {}});
  }
  return plan;
}

Status Engine::apply(const Plan& plan, const std::vector<ResourceSpec>& desired, const ProgressFn& progress) {
  State state = BERTH_TRY(loadState());
  std::map<std::string, const ResourceSpec*> specs;
  for (const auto& s : desired) specs[s.address()] = &s;
  std::map<std::string, bj::object> outputs;
  for (const auto& [a, e] : state) outputs[a] = e.outputs;
  auto report = [&](const Change& c, std::string_view phase) {
    if (progress) progress(c.address, c.action, phase);
  };
  // `props`: the resolved properties just applied.
  auto record = [&](const std::string& a, const ResourceSpec& s, const LiveResource& live,
                    const bj::object& props) -> Status {
    state[a] = StateEntry{live.id, live.outputs, dependenciesOf(s), props};
    outputs[a] = live.outputs;
    return saveState(state);
  };

  // Removes the resource `c` names; `props` (may be null) to find one not in state.
  auto removeOne = [&](const Change& c, ResourceType* type, const bj::object* props) -> Status {
    std::string name = c.address.substr(c.address.find('.') + 1);
    auto st = state.find(c.address);
    LiveResource live{
        st == state.end() ? std::string() : st->second.id, {}, st == state.end() ? bj::object() : st->second.outputs};
    if (live.id.empty()) {
      auto found = BERTH_TRY(type->read(api_, name, "", props));
      if (!found) return {};
      live = std::move(*found);
    }
    BERTH_TRY(type->remove(api_, live));
    state.erase(c.address);
    outputs.erase(c.address);
    return saveState(state);
  };

  // 1. Undesired resources, dependents first (the plan's order).
  for (const Change& c : plan.changes) {
    if (c.action != Action::kDelete) continue;
    ResourceType* type = BERTH_TRY(typeOf(c.address));
    report(c, "started");
    BERTH_TRY(removeOne(c, type, nullptr));
    report(c, "done");
  }
  // 2. The old halves of replacements, in reverse dependency order, so that
  // nothing is deleted while a replaced dependent still uses it.
  for (auto it = plan.changes.rbegin(); it != plan.changes.rend(); ++it) {
    if (it->action != Action::kReplace) continue;
    ResourceType* type = BERTH_TRY(typeOf(it->address));
    auto sit = specs.find(it->address);
    bj::object old_props;
    if (sit != specs.end()) old_props = resolveReferences(sit->second->properties, outputs).as_object();
    report(*it, "started");
    BERTH_TRY(removeOne(*it, type, sit != specs.end() ? &old_props : nullptr));
  }
  // 3. Creates, updates and the new halves of replacements, dependencies first.
  for (const Change& c : plan.changes) {
    if (c.action == Action::kDelete) continue;
    ResourceType* type = BERTH_TRY(typeOf(c.address));
    std::string name = c.address.substr(c.address.find('.') + 1);
    auto sit = specs.find(c.address);
    if (sit == specs.end())
      return fail(ErrorCode::kInvalidArgument, fmt::format("{} is in the plan but not desired", c.address));
    const ResourceSpec& s = *sit->second;
    bj::object props = resolveReferences(s.properties, outputs).as_object();
    if (containsUnknown(props))
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("{}: a reference could not be resolved: {}", c.address, json::serialize(props)));
    auto st = state.find(c.address);
    std::string id = st == state.end() ? std::string() : st->second.id;
    if (c.action == Action::kNoop) {
      if (st != state.end()) {
        // Live matches: what is desired now is what is applied (and state
        // written before properties were recorded gets them here).
        if (st->second.applied != props) {
          st->second.applied = props;
          BERTH_TRY(saveState(state));
        }
        continue;
      }
      auto live = BERTH_TRY(type->read(api_, name, id, &props));  // adopted: record it
      if (live) BERTH_TRY(record(c.address, s, *live, props));
      continue;
    }
    if (c.action != Action::kReplace) report(c, "started");
    std::optional<LiveResource> live;
    if (c.action != Action::kCreate) live = BERTH_TRY(type->read(api_, name, id, &props));
    LiveResource result;
    if (!live) {
      result = BERTH_TRY(type->create(api_, name, props));
    } else {
      auto applied = st == state.end() ? std::nullopt : removable(*type, st->second.applied);
      auto changes = diffProperties(live->properties, props, s.ignore_changes, {}, applied ? &*applied : nullptr);
      result = changes.empty() ? *live : BERTH_TRY(type->update(api_, name, *live, props, topLevelKeys(changes)));
    }
    BERTH_TRY(record(c.address, s, result, props));
    report(c, "done");
  }
  return {};
}

std::string renderPlan(const Plan& plan, bool color) {
  auto paint = [color](std::string_view code, std::string_view text) {
    return color ? fmt::format("\033[{}m{}\033[0m", code, text) : std::string(text);
  };
  auto value = [](const std::optional<bj::value>& v) -> std::string {
    if (!v) return "(none)";
    if (isUnknown(*v)) return std::string(kKnownAfterApply);
    return displayJson(*v);
  };
  if (plan.empty()) return "No changes. Your infrastructure matches the configuration.\n";
  std::string out = "berth will perform the following actions:\n\n";
  for (const Change& c : plan.changes) {
    switch (c.action) {
      case Action::kNoop:
        continue;
      case Action::kCreate:
        out += fmt::format("  {} {} will be created\n", paint("32", "+"), c.address);
        for (const auto& a : c.attributes)
          out += fmt::format("      {} {}: {}\n", paint("32", "+"), a.path, value(a.after));
        break;
      case Action::kUpdate:
        out += fmt::format("  {} {} will be updated in-place\n", paint("33", "~"), c.address);
        break;
      case Action::kReplace:
        out += fmt::format("  {} {} must be replaced\n", paint("31", "-/+"), c.address);
        break;
      case Action::kDelete:
        out += fmt::format("  {} {} will be destroyed\n", paint("31", "-"), c.address);
        break;
    }
    if (c.action == Action::kUpdate || c.action == Action::kReplace) {
      for (const auto& a : c.attributes) {
        std::string forces = a.forces_replacement ? paint("31", " # forces replacement") : "";
        if (!a.after) {  // removed from the stack file
          out += fmt::format("      {} {}: {}{}\n", paint("31", "-"), a.path, value(a.before), forces);
        } else {
          out += fmt::format("      {} {}: {} -> {}{}\n", paint("33", "~"), a.path, value(a.before), value(a.after),
                             forces);
        }
      }
    }
  }
  int add = plan.count(Action::kCreate) + plan.count(Action::kReplace);
  int change = plan.count(Action::kUpdate);
  int destroy = plan.count(Action::kDelete) + plan.count(Action::kReplace);
  out += fmt::format("\nPlan: {} to add, {} to change, {} to destroy.\n", add, change, destroy);
  return out;
}

}  // namespace berth::stack
