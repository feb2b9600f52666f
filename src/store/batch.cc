#include "store/store.h"

#include <utility>

namespace berth::store {

void Batch::put(std::string kind, std::string key, std::string value) {
  changes_.push_back(Change{Op::kPut, std::move(kind), std::move(key), std::move(value)});
}

void Batch::erase(std::string kind, std::string key) {
  changes_.push_back(Change{Op::kErase, std::move(kind), std::move(key), {}});
}

}  // namespace berth::store
