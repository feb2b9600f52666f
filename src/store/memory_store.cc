// The in-memory Store. It mirrors the SQLite store's observable behaviour,
// including its validation (the SQLite schema's CHECK constraints), so the
// control plane's tests see the same errors either way; the typed suite in
// tests/unit/store/store_test.cc holds the two to that.
#include <map>
#include <mutex>

#include "store/store.h"

namespace berth::store {
namespace {

class MemoryStore final : public Store {
 public:
  Result<std::vector<Record>> loadAll(std::string_view kind) override {
    std::lock_guard lock(mu_);
    std::vector<Record> out;
    auto it = records_.find(kind);
    if (it == records_.end()) return out;
    out.reserve(it->second.size());
    for (const auto& [key, value] : it->second) out.push_back(Record{it->first, key, value});
    return out;
  }

  Result<std::optional<std::string>> get(std::string_view kind, std::string_view key) override {
    std::lock_guard lock(mu_);
    auto it = records_.find(kind);
    if (it == records_.end()) return std::nullopt;
    auto rec = it->second.find(key);
    if (rec == it->second.end()) return std::nullopt;
    return rec->second;
  }

  Status commit(const Batch& batch) override {
    // Validate everything first: applying is then infallible, hence atomic.
    for (const Batch::Change& change : batch.changes()) {
      if (change.kind.empty()) return fail(ErrorCode::kInvalidArgument, "store commit: empty kind");
    }
    std::lock_guard lock(mu_);
    for (const Batch::Change& change : batch.changes()) {
      if (change.op == Batch::Op::kPut) {
        auto kind = records_.try_emplace(change.kind).first;
        kind->second.insert_or_assign(change.key, change.value);
      } else if (auto kind = records_.find(change.kind); kind != records_.end()) {
        kind->second.erase(change.key);
        if (kind->second.empty()) records_.erase(kind);
      }
    }
    return {};
  }

  Result<int64_t> nextSequence(std::string_view name) override {
    if (name.empty()) return fail(ErrorCode::kInvalidArgument, "store sequence: empty name");
    std::lock_guard lock(mu_);
    auto it = sequences_.try_emplace(std::string(name), 0).first;
    return ++it->second;
  }

 private:
  using Kind = std::map<std::string, std::string, std::less<>>;
  std::mutex mu_;
  std::map<std::string, Kind, std::less<>> records_;
  std::map<std::string, int64_t, std::less<>> sequences_;
};

}  // namespace

std::unique_ptr<Store> makeMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace berth::store
