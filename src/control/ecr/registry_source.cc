#include "control/ecr/registry_source.h"

#include <unistd.h>

#include <future>

#include <boost/asio/post.hpp>

namespace berth::ecr {
namespace {

// Reads a stored blob through the fd of its BlobReader (which keeps the
// blob readable even if it is garbage-collected meanwhile).
class BlobReaderStream final : public image::ByteStream {
 public:
  explicit BlobReaderStream(std::unique_ptr<registry::BlobReader> reader) : reader_(std::move(reader)) {}

  Result<size_t> read(char* buf, size_t size) override {
    if (offset_ >= reader_->size()) return size_t{0};
    size_t want = static_cast<size_t>(std::min<uint64_t>(size, reader_->size() - offset_));
    for (;;) {
      ssize_t n = ::pread(reader_->fd(), buf, want, static_cast<off_t>(offset_));
      if (n >= 0) {
        offset_ += static_cast<uint64_t>(n);
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) return failErrno("read blob", errno);
    }
  }

 private:
  std::unique_ptr<registry::BlobReader> reader_;
  uint64_t offset_ = 0;
};

}  // namespace

RegistrySource::RegistrySource(Ecr& ecr, registry::BlobStore& blobs, Executor control,
                               std::chrono::milliseconds timeout)
    : ecr_(ecr), blob_store_(blobs), control_(std::move(control)), timeout_(timeout) {}

namespace {

// Runs `fn` on `control` and waits for its result.
template <typename T, typename Fn>
Result<T> onControl(const RegistrySource::Executor& control, std::chrono::milliseconds timeout, Fn fn) {
  if (control.running_in_this_thread()) {
    return fail(ErrorCode::kFailedPrecondition,
                "RegistrySource called on the control executor (it must run on a worker thread)");
  }
  auto promise = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> result = promise->get_future();
  boost::asio::post(control, [promise, fn = std::move(fn)]() mutable { promise->set_value(fn()); });
  if (result.wait_for(timeout) != std::future_status::ready) {
    return fail(ErrorCode::kFailedPrecondition, "the control plane did not answer (berthd stopping?)");
  }
  return result.get();
}

}  // namespace

Result<image::FetchedManifest> RegistrySource::getManifest(std::string_view repository, std::string_view reference) {
  return onControl<image::FetchedManifest>(
      control_, timeout_,
      [this, repo = std::string(repository), ref = std::string(reference)]() -> Result<image::FetchedManifest> {
        StoredManifest m = BERTH_TRY(ecr_.getManifest(repo, ref));
        return image::FetchedManifest{std::move(m.media_type), std::move(m.body)};
      });
}

Result<std::unique_ptr<image::ByteStream>> RegistrySource::openBlob(std::string_view repository,
                                                                    std::string_view digest) {
  BERTH_TRY(onControl<bool>(control_, timeout_, [this, repo = std::string(repository)]() -> Result<bool> {
    BERTH_TRY(ecr_.requireRepository(repo, /*create=*/false));
    return true;
  }));
  std::unique_ptr<registry::BlobReader> reader = BERTH_TRY(blob_store_.openBlob(digest));
  return std::unique_ptr<image::ByteStream>(std::make_unique<BlobReaderStream>(std::move(reader)));
}

}  // namespace berth::ecr
