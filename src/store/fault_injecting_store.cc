#include <cerrno>
#include <string>

#include "store/store.h"

namespace berth::store {
namespace {

std::unexpected<Error> injected(std::string what) {
  return std::unexpected(Error{ErrorCode::kIo, "injected fault: " + what, {}, EIO});
}

}  // namespace

FaultInjectingStore::FaultInjectingStore(std::unique_ptr<Store> inner)
    : owned_(std::move(inner)), inner_(owned_.get()) {}

FaultInjectingStore::FaultInjectingStore(Store& inner) : inner_(&inner) {}

Result<std::vector<Record>> FaultInjectingStore::loadAll(std::string_view kind) { return inner_->loadAll(kind); }

Result<std::optional<std::string>> FaultInjectingStore::get(std::string_view kind, std::string_view key) {
  return inner_->get(kind, key);
}

bool FaultInjectingStore::shouldFailLocked(const Batch& batch) {
  if (fail_from_ != 0 && commit_calls_ >= fail_from_) return true;
  return fail_pred_ && fail_pred_(batch);
}

Status FaultInjectingStore::commit(const Batch& batch) {
  {
    std::lock_guard lock(mu_);
    ++commit_calls_;
    if (shouldFailLocked(batch)) {
      ++failed_commits_;
      return injected("commit " + std::to_string(commit_calls_));
    }
  }
  return inner_->commit(batch);
}

Result<int64_t> FaultInjectingStore::nextSequence(std::string_view name) {
  {
    std::lock_guard lock(mu_);
    if (fail_sequences_) return injected("sequence " + std::string(name));
  }
  return inner_->nextSequence(name);
}

void FaultInjectingStore::failCommitsFrom(uint64_t n) {
  std::lock_guard lock(mu_);
  fail_from_ = n == 0 ? 1 : n;
}

void FaultInjectingStore::failCommitsIf(std::function<bool(const Batch&)> pred) {
  std::lock_guard lock(mu_);
  fail_pred_ = std::move(pred);
}

void FaultInjectingStore::failSequences(bool fail) {
  std::lock_guard lock(mu_);
  fail_sequences_ = fail;
}

void FaultInjectingStore::clearFaults() {
  std::lock_guard lock(mu_);
  fail_from_ = 0;
  fail_pred_ = nullptr;
  fail_sequences_ = false;
}

uint64_t FaultInjectingStore::commitCalls() const {
  std::lock_guard lock(mu_);
  return commit_calls_;
}

uint64_t FaultInjectingStore::failedCommits() const {
  std::lock_guard lock(mu_);
  return failed_commits_;
}

}  // namespace berth::store
