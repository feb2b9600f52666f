// `berth image ls`: the images of every repository, through the ECR API
// (DescribeRepositories, DescribeImages), as a table.
#include <algorithm>
#include <chrono>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "cli/berthd_session.h"
#include "cli/image_cmd.h"
#include "common/json.h"

namespace berth::cli {
namespace {

namespace bj = boost::json;

struct Row {
  std::string repository, tag, digest, size, pushed;
  double pushed_at = 0;
};

// Docker's decimal units: 1.21MB.
std::string humanSize(double bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB"};
  size_t i = 0;
  while (bytes >= 1000 && i + 1 < std::size(kUnits)) bytes /= 1000, ++i;
  return fmt::format("{:.3g}{}", bytes, kUnits[i]);
}

// Every page of `operation`: `collect` gets each response.
template <typename Fn>
Status paginate(EcrClient& ecr, std::string_view operation, bj::object input, Fn collect) {
  for (;;) {
    bj::object out = BERTH_TRY(ecr.call(operation, input));
    collect(out);
    std::string next = json::stringOr(out, "nextToken");
    if (next.empty()) return {};
    input["nextToken"] = next;
  }
}

double numberOr(const bj::object& o, std::string_view key) {
  const bj::value* v = json::find(o, key);
  if (!v) return 0;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  return 0;
}

}  // namespace

Result<std::string> listImages(const Connection& c) {
  auto session = BERTH_TRY(BerthdSession::open(c, defaultRegion()));
  std::vector<std::string> repositories;
  BERTH_TRY(paginate(session->ecr(), "DescribeRepositories", {}, [&](const bj::object& out) {
    if (const auto* repos = json::getArray(out, "repositories"))
      for (const auto& r : *repos)
        if (r.is_object()) repositories.push_back(json::stringOr(r.as_object(), "repositoryName"));
  }));
  std::sort(repositories.begin(), repositories.end());

  std::vector<Row> rows;
  for (const std::string& repo : repositories) {
    std::vector<Row> repo_rows;
    BERTH_TRY(
        paginate(session->ecr(), "DescribeImages", bj::object{{"repositoryName", repo}}, [&](const bj::object& out) {
          const auto* details = json::getArray(out, "imageDetails");
          if (!details) return;
          for (const auto& d : *details) {
            if (!d.is_object()) continue;
            const bj::object& o = d.as_object();
            Row row;
            row.repository = repo;
            std::string digest = json::stringOr(o, "imageDigest");
            row.digest = digest.substr(digest.find(':') == std::string::npos ? 0 : digest.find(':') + 1, 12);
            row.size = humanSize(numberOr(o, "imageSizeInBytes"));
            row.pushed_at = numberOr(o, "imagePushedAt");
            auto pushed = std::chrono::sys_seconds(std::chrono::seconds(static_cast<int64_t>(row.pushed_at)));
            row.pushed = fmt::format("{:%Y-%m-%d %H:%M:%S}", pushed);
            std::vector<std::string> tags = json::stringList(o, "imageTags");
            if (tags.empty()) tags.push_back("<none>");
            std::sort(tags.begin(), tags.end());
            for (const std::string& tag : tags) {
              row.tag = tag;
              repo_rows.push_back(row);
            }
          }
        }));
    // Newest first within a repository, as docker lists them.
    std::stable_sort(repo_rows.begin(), repo_rows.end(),
                     [](const Row& a, const Row& b) { return a.pushed_at > b.pushed_at; });
    rows.insert(rows.end(), repo_rows.begin(), repo_rows.end());
  }

  Row header{"REPOSITORY", "TAG", "DIGEST", "SIZE", "PUSHED"};
  size_t w_repo = header.repository.size(), w_tag = header.tag.size(), w_size = header.size.size();
  for (const Row& r : rows) {
    w_repo = std::max(w_repo, r.repository.size());
    w_tag = std::max(w_tag, r.tag.size());
    w_size = std::max(w_size, r.size.size());
  }
  std::string out;
  auto line = [&](const Row& r) {
    out += fmt::format("{:<{}}   {:<{}}   {:<12}   {:<{}}   {} UTC\n", r.repository, w_repo, r.tag, w_tag, r.digest,
                       r.size, w_size, r.pushed);
  };
  out += fmt::format("{:<{}}   {:<{}}   {:<12}   {:<{}}   {}\n", header.repository, w_repo, header.tag, w_tag,
                     header.digest, header.size, w_size, header.pushed);
  for (const Row& r : rows) line(r);
  return out;
}

}  // namespace berth::cli
