#include "image/reference.h"

#include <cctype>
#include <vector>

#include "image/digest.h"

namespace berth::image {
namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: alnum runs separated by '.', '_', '__' or one or more '-'.
bool isValidComponent(std::string_view s) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  for (size_t i = 0; i < s.size();) {
    if (isLowerAlnum(s[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !isLowerAlnum(s[j])) ++j;
    std::string_view sep = s.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" || sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;
  }
  return true;
}

bool isValidTag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(t[0])) return false;
  for (char c : t) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool isValidDomain(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  for (char c : d) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']') {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

bool allDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "<12 digits>.dkr.ecr.<region>.amazonaws.com" -> account and region.
bool parseEcrDomain(std::string_view domain, std::string* account, std::string* region) {
  auto parts = split(domain, '.');
  if (parts.size() != 6 || parts[1] != "dkr" || parts[2] != "ecr" || parts[4] != "amazonaws" ||
      parts[5] != "com") {
    return false;
  }
  if (parts[0].size() != 12 || !allDigits(parts[0]) || parts[3].empty()) return false;
  *account = parts[0];
  *region = parts[3];
  return true;
}

bool isLocalDomain(std::string_view domain) {
  std::string_view host = domain.substr(0, domain.find(':'));
  if (host != "localhost" && host != "127.0.0.1") return false;
  size_t colon = domain.find(':');
  return colon == std::string_view::npos || allDigits(domain.substr(colon + 1));
}

std::unexpected<Error> invalid(std::string_view text) {
  return fail(ErrorCode::kInvalidArgument, "invalid reference format: " + std::string(text.substr(0, 300)));
}

}  // namespace

std::string ImageReference::str() const {
  std::string s = domain + "/" + repository;
  if (!tag.empty() && (digest.empty() || tag != "latest")) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string ImageReference::localRepository() const {
  if (kind != RegistryKind::kExternal) return repository;
  if (domain == "docker.io") {
    if (repository.starts_with("library/")) return repository.substr(8);
    return repository;
  }
  return domain + "/" + repository;
}

Result<ImageReference> parseImageReference(std::string_view text) {
  if (text.empty() || text.size() > 1024) return invalid(text);
  ImageReference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = rest.substr(at + 1);
    if (!isValidDigest(ref.digest)) return invalid(text);
    rest = rest.substr(0, at);
  }
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (last_slash == std::string_view::npos || colon > last_slash)) {
    ref.tag = rest.substr(colon + 1);
    if (!isValidTag(ref.tag)) return invalid(text);
    rest = rest.substr(0, colon);
  }
  std::string_view path = rest;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost") {
      if (!isValidDomain(first)) return invalid(text);
      ref.domain = first;
      path = rest.substr(slash + 1);
    }
  }
  if (ref.domain.empty()) ref.domain = "docker.io";
  if (path.empty() || path.size() > 256) return invalid(text);
  for (std::string_view component : split(path, '/')) {
    if (!isValidComponent(component)) return invalid(text);
  }
  ref.repository = path;
  if (ref.domain == "index.docker.io") ref.domain = "docker.io";
  if (ref.domain == "docker.io" && ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }
  if (parseEcrDomain(ref.domain, &ref.account_id, &ref.region)) {
    ref.kind = RegistryKind::kEcr;
  } else if (isLocalDomain(ref.domain)) {
    ref.kind = RegistryKind::kLocal;
  } else {
    ref.kind = RegistryKind::kExternal;
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

Error cannotPullError(const ImageReference& ref, std::string_view detail) {
  return Error{ErrorCode::kNotFound,
               "pull image manifest has been retried 5 time(s): failed to resolve ref " + ref.str() + ": " +
                   std::string(detail),
               std::string(kCannotPullContainerError), 0};
}

std::string offlineDetail(const ImageReference& ref) {
  std::string host = ref.domain == "docker.io" ? "registry-1.docker.io" : ref.domain;
  return "failed to do request: Head \"https://" + host + "/v2/" + ref.repository + "/manifests/" +
         ref.reference() + "\": dial tcp: lookup " + host.substr(0, host.find(':')) +
         ": no such host (berth is offline: push the image to berthd or load it with `berth image load`, "
         "then it resolves as " + ref.localRepository() + ")";
}

}  // namespace berth::image
