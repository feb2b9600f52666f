// The names and values a stack file holds (stack_file.h): their syntax as
// AWS accepts it, `${...}` placeholders, image references, and "did you
// mean" suggestions. Pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::stack {

// [a-z][a-z0-9-]*: project, environment and service names.
bool isLowerName(std::string_view s);

// The candidate nearest to `word` within distance 2 (and closer than the
// candidate's own length, so short words suggest nothing); nullopt if none.
std::optional<std::string> closest(std::string_view word, const std::vector<std::string>& candidates);
// "; did you mean 'X'?" for closest(), or "".
std::string suggestion(std::string_view word, const std::vector<std::string>& candidates);

// `s` with every ${name} that `values` has replaced; other ${...} stay.
std::string substitute(std::string_view s, const std::map<std::string, std::string, std::less<>>& values);
// A representative value for each placeholder: templates are checked for
// shape with these substituted.
extern const std::map<std::string, std::string, std::less<>> kSample;

bool validClusterName(std::string_view s);     // [A-Za-z0-9_-]{1,255}
bool validNamespace(std::string_view s);       // lowercase DNS labels
bool validRegion(std::string_view s);          // us-east-1, us-gov-west-1
bool validParameterName(std::string_view s);   // SSM: [A-Za-z0-9_.-/], '/' first if hierarchical
bool validEnvVarName(std::string_view s);      // [A-Za-z_][A-Za-z0-9_]*
bool validRepository(std::string_view s);      // ECR: [a-z0-9]+ components joined by . _ - and /
bool validIamAction(std::string_view action);  // service:Action, wildcards * and ? in the action

// The first path component of an image reference is a registry host when it
// has a '.' or ':' or is "localhost" (as Docker decides).
bool isRegistryHost(std::string_view component);

// The parts of an image reference: [host/]repository[:tag][@digest].
struct ImageParts {
  std::string host, repository, tag, digest;
};
// nullopt when `s` is not a valid reference.
std::optional<ImageParts> splitImage(std::string_view s);

}  // namespace berth::stack
