#include "api/registry/registry.h"

#include <charconv>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "registry/manifest.h"

namespace berth::api::registry {
namespace {

namespace bh = boost::beast::http;
namespace reg = berth::registry;

// ---------------------------------------------------------------- replies

http::Response reply(bh::status status) {
  http::Response r{status, 11};
  r.set("Docker-Distribution-API-Version", "registry/2.0");
  return r;
}

unsigned statusOf(std::string_view code) {
  if (code == "UNAUTHORIZED") return 401;
  if (code == "DENIED") return 403;
  if (code == "NAME_UNKNOWN" || code == "MANIFEST_UNKNOWN" || code == "BLOB_UNKNOWN" ||
      code == "BLOB_UPLOAD_UNKNOWN" || code == "NOT_FOUND")
    return 404;
  if (code == "UNSUPPORTED") return 415;
  if (code == "RANGE_INVALID") return 416;
  if (code == "UNKNOWN") return 500;
  return 400;
}

http::Response errorReply(std::string_view code, std::string_view message, unsigned status = 0) {
  http::Response r = reply(static_cast<bh::status>(status ? status : statusOf(code)));
  r.set(bh::field::content_type, "application/json");
  boost::json::object e{{"code", code}, {"message", message}};
  r.body() = json::serialize(boost::json::object{{"errors", boost::json::array{e}}});
  return r;
}

// The registry's form of an Error from the blob store or the ECR model.
http::Response errorReply(const Error& e) {
  const std::string& t = e.aws_type;
  if (t == "RepositoryNotFoundException") return errorReply("NAME_UNKNOWN", "repository name not known to registry");
  if (t == "ImageNotFoundException") return errorReply("MANIFEST_UNKNOWN", "manifest unknown");
  if (t == "ImageTagAlreadyExistsException") return errorReply("TAG_INVALID", e.message);
  if (t == "LayersNotFoundException" || t == "ReferencedImagesNotFoundException")
    return errorReply("MANIFEST_BLOB_UNKNOWN", e.message);
  if (t == "ImageReferencedByManifestList") return errorReply("DENIED", e.message);
  if (t == "InvalidParameterException") return errorReply("NAME_INVALID", e.message);
  if (t == "SIZE_INVALID" && e.message.starts_with("manifest")) return errorReply(t, e.message, 413);
  if (!t.empty() && t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos)
    return errorReply(t, e.message);
  if (e.code == ErrorCode::kNotFound) return errorReply("NOT_FOUND", e.message);
  if (e.code == ErrorCode::kInvalidArgument) return errorReply("UNSUPPORTED", e.message, 400);
  return errorReply("UNKNOWN", "internal error: " + e.message, 500);
}

http::Response unauthorized(std::string_view message, std::string_view realm) {
  http::Response r = errorReply("UNAUTHORIZED", message);
  r.set(bh::field::www_authenticate, fmt::format("Basic realm=\"{}\"", realm));
  return r;
}

std::string_view headerValue(const http::RequestHeader& h, bh::field f) {
  auto it = h.find(f);
  return it == h.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

std::string uploadLocation(const std::string& name, const std::string& id) {
  return fmt::format("/v2/{}/blobs/uploads/{}", name, id);
}

void setUploadHeaders(http::Response& r, const std::string& name, const std::string& id, uint64_t size) {
  r.set(bh::field::location, uploadLocation(name, id));
  r.set(bh::field::range, fmt::format("0-{}", size == 0 ? 0 : size - 1));
  r.set("Docker-Upload-UUID", id);
  r.set(bh::field::content_length, "0");
}

// Pagination of sorted names: `n` (0: all) entries after `last`.
struct Page {
  std::vector<std::string> items;
  bool more = false;
};

Result<Page> paginate(const std::vector<std::string>& sorted, const Route& route) {
  size_t n = 0;
  if (auto ns = route.param("n"); ns && !ns->empty()) {
    auto [p, ec] = std::from_chars(ns->data(), ns->data() + ns->size(), n);
    if (ec != std::errc() || p != ns->data() + ns->size())
      return fail(ErrorCode::kInvalidArgument, "invalid number of results requested", "PAGINATION_NUMBER_INVALID");
  }
  std::string last = route.param("last").value_or("");
  Page page;
  for (const auto& s : sorted) {
    if (!last.empty() && s <= last) continue;
    if (n > 0 && page.items.size() == n) {
      page.more = true;
      break;
    }
    page.items.push_back(s);
  }
  return page;
}

void setNextLink(http::Response& r, std::string_view path, const Page& page, const Route& route) {
  if (!page.more || page.items.empty()) return;
  r.set(bh::field::link, fmt::format("<{}?n={}&last={}>; rel=\"next\"", path, route.param("n").value_or(""),
                                     page.items.back()));
}

// "bytes=a-b", "bytes=a-", "bytes=-n" against a blob of `size` bytes.
std::optional<std::pair<uint64_t, uint64_t>> parseRange(std::string_view h, uint64_t size) {
  if (!h.starts_with("bytes=")) return std::nullopt;
  h.remove_prefix(6);
  auto dash = h.find('-');
  if (dash == std::string_view::npos || h.find(',') != std::string_view::npos) return std::nullopt;
  auto num = [](std::string_view s, uint64_t* out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
  };
  uint64_t a = 0, b = 0;
  std::string_view first = h.substr(0, dash), second = h.substr(dash + 1);
  if (first.empty()) {
    if (!num(second, &b) || b == 0 || size == 0) return std::nullopt;
    b = std::min(b, size);
    return std::pair(size - b, size - 1);
  }
  if (!num(first, &a) || a >= size) return std::nullopt;
  if (second.empty()) return std::pair(a, size - 1);
  if (!num(second, &b) || b < a) return std::nullopt;
  return std::pair(a, std::min(b, size - 1));
}

// Accepted manifest media types from the Accept headers; "*/*" accepts all.
bool accepts(const http::Request& request, std::string_view media_type) {
  bool any_manifest_type = false;
  for (auto [it, end] = request.equal_range(bh::field::accept); it != end; ++it) {
    std::string_view v(it->value().data(), it->value().size());
    while (!v.empty()) {
      auto comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
      item = item.substr(0, item.find(';'));
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item == "*/*" || item == media_type) return true;
      if (reg::isManifestMediaType(item)) any_manifest_type = true;
    }
  }
  // Clients that name no manifest type at all get what is stored.
  return !any_manifest_type;
}

class BlobSource final : public http::BodySource {
 public:
  explicit BlobSource(std::unique_ptr<reg::BlobReader> reader) : reader_(std::move(reader)) {}
  Result<size_t> read(uint64_t offset, char* out, size_t n) override {
    ssize_t got = ::pread(reader_->fd(), out, n, static_cast<off_t>(offset));
    if (got < 0) return failErrno("read blob", errno);
    return static_cast<size_t>(got);
  }

 private:
  std::unique_ptr<reg::BlobReader> reader_;
};

http::Response blobCreated(const std::string& name, const std::string& digest) {
  http::Response r = reply(bh::status::created);
  r.set(bh::field::location, fmt::format("/v2/{}/blobs/{}", name, digest));
  r.set("Docker-Content-Digest", digest);
  r.set(bh::field::content_length, "0");
  return r;
}

bool validName(std::string_view name) { return ecr::validRepositoryName(name); }

}  // namespace

// ---------------------------------------------------------------- sessions

struct Registry::Session {
  std::string id;
  std::string repo;
  std::unique_ptr<reg::BlobWriter> writer;
  bool busy = false;
  WallTime touched;
};

Registry::Registry(RegistryOptions options, reg::BlobStore& blobs, ecr::Ecr& ecr, boost::asio::any_io_executor control,
                   const Clock& clock)
    : options_(std::move(options)), blobs_(blobs), ecr_(ecr), control_(std::move(control)), clock_(clock) {}

Registry::~Registry() = default;

size_t Registry::uploadSessions() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

void Registry::onControl(std::function<void(ecr::Ecr&)> fn) {
  boost::asio::post(control_, [this, fn = std::move(fn)] { fn(ecr_); });
}

std::string Registry::newSession(const std::string& repo, std::unique_ptr<reg::BlobWriter> writer) {
  auto s = std::make_shared<Session>();
  s->id = randomUuid();
  s->repo = repo;
  s->writer = std::move(writer);
  s->touched = clock_.now();
  std::lock_guard lock(mu_);
  sessions_[s->id] = s;
  return s->id;
}

std::shared_ptr<Registry::Session> Registry::takeSession(const std::string& id, const std::string& repo, Error* error) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second->repo != repo) {
    *error = Error{ErrorCode::kNotFound, "blob upload unknown to registry", "BLOB_UPLOAD_UNKNOWN", 0};
    return nullptr;
  }
  if (it->second->busy) {
    *error = Error{ErrorCode::kFailedPrecondition, "another request is writing to this upload", "BLOB_UPLOAD_INVALID", 0};
    return nullptr;
  }
  it->second->busy = true;
  return it->second;
}

void Registry::releaseSession(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(mu_);
  session->busy = false;
  session->touched = clock_.now();
}

void Registry::dropSession(const std::string& id) {
  std::shared_ptr<Session> doomed;  // its writer (and temp file) goes outside the lock
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  doomed = std::move(it->second);
  sessions_.erase(it);
}

void Registry::expireSessions() {
  std::vector<std::shared_ptr<Session>> doomed;
  std::lock_guard lock(mu_);
  auto now = clock_.now();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (!it->second->busy && now - it->second->touched > options_.upload_idle_timeout) {
      doomed.push_back(std::move(it->second));
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---------------------------------------------------------------- sinks

// Answers a request it refuses without reading its body.
class Registry::FailedSink final : public http::BodySink {
 public:
  explicit FailedSink(http::Response response) : response_(std::move(response)) {}
  Status write(std::string_view) override { return fail(ErrorCode::kFailedPrecondition, "refused"); }
  void finish(Status, http::Respond respond) override { respond(std::move(response_)); }

 private:
  http::Response response_;
};

// A manifest PUT: collects up to 4 MiB.
class Registry::ManifestSink final : public http::BodySink {
 public:
  ManifestSink(Registry& registry, Route route, std::string content_type)
      : registry_(registry), route_(std::move(route)), content_type_(std::move(content_type)) {}
  Status write(std::string_view piece) override {
    if (body_.size() + piece.size() > reg::kMaxManifestSize)
      return fail(ErrorCode::kResourceExhausted, "manifest larger than 4 MiB", "SIZE_INVALID");
    body_.append(piece);
    return {};
  }
  void finish(Status body, http::Respond respond) override {
    if (!body) {
      if (body.error().aws_type == "SIZE_INVALID") return respond(errorReply("SIZE_INVALID", body.error().message, 413));
      return respond(errorReply("MANIFEST_INVALID", "manifest body could not be read"));
    }
    registry_.putManifest(route_, std::move(body_), std::move(content_type_), std::move(respond));
  }

 private:
  Registry& registry_;
  Route route_;
  std::string content_type_;
  std::string body_;
};

// Blob bytes: POST (monolithic with ?digest=, a mount, or a new session),
// PATCH (a chunk) and PUT (the last chunk and the digest).
class Registry::UploadSink final : public http::BodySink {
 public:
  enum class Mode { kStart, kPatch, kPut };
  UploadSink(Registry& registry, Mode mode, Route route, std::shared_ptr<Session> session)
      : registry_(registry), mode_(mode), route_(std::move(route)), session_(std::move(session)) {}

  ~UploadSink() override {
    // Never finished (the connection died first): nothing of it may stay.
    if (session_) registry_.dropSession(session_->id);
  }

  Status write(std::string_view piece) override {
    reg::BlobWriter* w = writer();
    if (!w) return fail(ErrorCode::kIo, "cannot start a blob upload");
    return w->write(piece);
  }

  void finish(Status body, http::Respond respond) override {
    if (!body) {
      // Truncated or failed: the upload is void, its temp file removed.
      if (session_) registry_.dropSession(session_->id);
      session_.reset();
      own_writer_.reset();
      return respond(errorReply("BLOB_UPLOAD_INVALID", "blob upload invalid: " + body.error().message));
    }
    switch (mode_) {
      case Mode::kStart: return finishStart(std::move(respond));
      case Mode::kPatch: return finishPatch(std::move(respond));
      case Mode::kPut: return finishPut(std::move(respond));
    }
  }

 private:
  reg::BlobWriter* writer() {
    if (session_) return session_->writer.get();
    if (!own_writer_) {
      auto w = registry_.blobs_.startWrite();
      if (!w) return nullptr;
      own_writer_ = std::move(*w);
    }
    return own_writer_.get();
  }

  // Commits `writer` as `digest` and answers 201, or the error.
  void commitAndRespond(reg::BlobWriter& writer, const std::optional<std::string>& digest, http::Respond& respond) {
    if (!digest || !reg::isDigest(*digest)) {
      return respond(errorReply("DIGEST_INVALID", digest ? "invalid digest " + *digest : "the digest parameter is required"));
    }
    auto committed = writer.commit(*digest);
    if (!committed) return respond(errorReply(committed.error()));
    respond(blobCreated(route_.name, *committed));
  }

  void finishStart(http::Respond respond) {
    Registry& reg = registry_;
    std::string name = route_.name;
    bool create = reg.options_.create_on_push;
    auto mount = route_.param("mount");
    auto from = route_.param("from");
    auto digest = route_.param("digest");
    bool mountable = mount && reg::isDigest(*mount) && reg.blobs_.exists(*mount);
    if (digest && !mountable) {
      // Monolithic upload: the blob is committed here, on the I/O thread; a
      // repository that turns out not to exist leaves a complete but
      // unreferenced blob, which garbage collection removes.
      if (!writer()) return respond(errorReply("UNKNOWN", "cannot start a blob upload", 500));
      if (!reg::isDigest(*digest)) return respond(errorReply("DIGEST_INVALID", "invalid digest " + *digest));
      auto committed = own_writer_->commit(*digest);
      own_writer_.reset();
      if (!committed) return respond(errorReply(committed.error()));
      return reg.onControl([name, create, digest = *committed, respond = std::move(respond)](ecr::Ecr& ecr) {
        if (auto ok = ecr.requireRepository(name, create); !ok) return respond(errorReply(ok.error()));
        respond(blobCreated(name, digest));
      });
    }
    if (own_writer_ && own_writer_->size() > 0)
      return respond(errorReply("BLOB_UPLOAD_INVALID", "a POST with a body needs the digest parameter"));
    own_writer_.reset();
    reg.onControl([&reg, name, create, mount, from, mountable, respond = std::move(respond)](ecr::Ecr& ecr) {
      if (auto ok = ecr.requireRepository(name, create); !ok) return respond(errorReply(ok.error()));
      // Blobs are shared by all repositories (one account): a mount succeeds
      // whenever the blob is here and `from` exists.
      if (mountable && (!from || ecr.requireRepository(*from, false))) return respond(blobCreated(name, *mount));
      auto started = reg.blobs_.startWrite();
      if (!started) return respond(errorReply(started.error()));
      reg.expireSessions();
      std::string id = reg.newSession(name, std::move(*started));
      http::Response r = reply(bh::status::accepted);
      setUploadHeaders(r, name, id, 0);
      respond(std::move(r));
    });
  }

 private:
  void finishPatch(http::Respond respond) {
    auto session = std::move(session_);
    uint64_t size = session->writer->size();
    registry_.releaseSession(session);
    http::Response r = reply(bh::status::accepted);
    setUploadHeaders(r, route_.name, session->id, size);
    respond(std::move(r));
  }

  void finishPut(http::Respond respond) {
    auto session = std::move(session_);
    commitAndRespond(*session->writer, route_.param("digest"), respond);
    registry_.dropSession(session->id);
  }

  Registry& registry_;
  Mode mode_;
  Route route_;
  std::shared_ptr<Session> session_;
  std::unique_ptr<reg::BlobWriter> own_writer_;
};

// ---------------------------------------------------------------- routing

std::unique_ptr<http::BodySink> Registry::streamBody(const http::RequestHeader& header) {
  bh::verb method = header.method();
  if (method != bh::verb::put && method != bh::verb::patch && method != bh::verb::post) return nullptr;
  auto route = parseRoute(header.target());
  if (!route) return std::make_unique<FailedSink>(errorReply("NOT_FOUND", "no such registry endpoint"));
  if (options_.tokens)
    if (auto ok = options_.tokens->checkBasic(headerValue(header, bh::field::authorization)); !ok)
      return std::make_unique<FailedSink>(unauthorized(ok.error().message, options_.realm));
  if (route->endpoint != Endpoint::kBase && route->endpoint != Endpoint::kCatalog && !validName(route->name))
    return std::make_unique<FailedSink>(errorReply("NAME_INVALID", "invalid repository name"));

  if (route->endpoint == Endpoint::kManifest && method == bh::verb::put) {
    if (auto length = header.find(bh::field::content_length); length != header.end()) {
      uint64_t n = 0;
      std::string_view v(length->value().data(), length->value().size());
      std::from_chars(v.data(), v.data() + v.size(), n);
      if (n > reg::kMaxManifestSize)
        return std::make_unique<FailedSink>(errorReply("SIZE_INVALID", "manifest larger than 4 MiB", 413));
    }
    return std::make_unique<ManifestSink>(*this, std::move(*route),
                                          std::string(headerValue(header, bh::field::content_type)));
  }
  if (route->endpoint == Endpoint::kUploadStart && method == bh::verb::post)
    return std::make_unique<UploadSink>(*this, UploadSink::Mode::kStart, std::move(*route), nullptr);
  if (route->endpoint == Endpoint::kUpload && (method == bh::verb::patch || method == bh::verb::put)) {
    Error error;
    auto session = takeSession(route->reference, route->name, &error);
    if (!session) return std::make_unique<FailedSink>(errorReply(error));
    if (std::string_view range = headerValue(header, bh::field::content_range); !range.empty()) {
      // "<start>-<end>": a chunk must continue where the upload stands.
      uint64_t start = 0;
      auto [p, ec] = std::from_chars(range.data(), range.data() + range.size(), start);
      if (ec != std::errc() || start != session->writer->size()) {
        releaseSession(session);
        http::Response r = errorReply("RANGE_INVALID", "the chunk does not start at the end of the upload", 416);
        setUploadHeaders(r, route->name, session->id, session->writer->size());
        r.set(bh::field::content_length, std::to_string(r.body().size()));
        return std::make_unique<FailedSink>(std::move(r));
      }
    }
    auto mode = method == bh::verb::patch ? UploadSink::Mode::kPatch : UploadSink::Mode::kPut;
    return std::make_unique<UploadSink>(*this, mode, std::move(*route), std::move(session));
  }
  return std::make_unique<FailedSink>(errorReply("UNSUPPORTED", "the operation is unsupported", 405));
}

void Registry::handle(http::Request request, http::Respond respond) {
  auto route = parseRoute(request.target());
  if (!route) return respond(errorReply("NOT_FOUND", "no such registry endpoint"));
  if (options_.tokens)
    if (auto ok = options_.tokens->checkBasic(headerValue(request.base(), bh::field::authorization)); !ok)
      return respond(unauthorized(ok.error().message, options_.realm));
  bh::verb method = request.method();
  bool read = method == bh::verb::get || method == bh::verb::head;
  if (route->endpoint != Endpoint::kBase && route->endpoint != Endpoint::kCatalog && !validName(route->name))
    return respond(errorReply("NAME_INVALID", "invalid repository name"));

  switch (route->endpoint) {
    case Endpoint::kBase: {
      if (!read) break;
      http::Response r = reply(bh::status::ok);
      r.set(bh::field::content_type, "application/json");
      r.body() = "{}";
      return respond(std::move(r));
    }
    case Endpoint::kCatalog: {
      if (method != bh::verb::get) break;
      return onControl([route = *route, respond = std::move(respond)](ecr::Ecr& ecr) {
        auto page = paginate(ecr.repositoryNames(), route);
        if (!page) return respond(errorReply(page.error()));
        http::Response r = reply(bh::status::ok);
        r.set(bh::field::content_type, "application/json");
        r.body() = json::serialize(boost::json::object{{"repositories", boost::json::value_from(page->items)}});
        setNextLink(r, "/v2/_catalog", *page, route);
        respond(std::move(r));
      });
    }
    case Endpoint::kTags: {
      if (method != bh::verb::get) break;
      return onControl([route = *route, respond = std::move(respond)](ecr::Ecr& ecr) {
        auto tags = ecr.tags(route.name);
        if (!tags) return respond(errorReply(tags.error()));
        auto page = paginate(*tags, route);
        if (!page) return respond(errorReply(page.error()));
        http::Response r = reply(bh::status::ok);
        r.set(bh::field::content_type, "application/json");
        r.body() = json::serialize(
            boost::json::object{{"name", route.name}, {"tags", boost::json::value_from(page->items)}});
        setNextLink(r, "/v2/" + route.name + "/tags/list", *page, route);
        respond(std::move(r));
      });
    }
    case Endpoint::kManifest: {
      if (method == bh::verb::put)
        return putManifest(*route, std::move(request.body()),
                           std::string(headerValue(request.base(), bh::field::content_type)), std::move(respond));
      if (method == bh::verb::delete_)
        return onControl([route = *route, respond = std::move(respond)](ecr::Ecr& ecr) {
          if (auto ok = ecr.deleteManifest(route.name, route.reference); !ok) return respond(errorReply(ok.error()));
          http::Response r = reply(bh::status::accepted);
          r.set(bh::field::content_length, "0");
          respond(std::move(r));
        });
      if (!read) break;
      return onControl([route = *route, request = std::move(request), respond = std::move(respond)](ecr::Ecr& ecr) {
        auto m = ecr.getManifest(route.name, route.reference);
        if (!m) return respond(errorReply(m.error()));
        if (!accepts(request, m->media_type))
          return respond(errorReply("MANIFEST_UNKNOWN",
                                    "manifest media type " + m->media_type + " is not in the Accept header"));
        http::Response r = reply(bh::status::ok);
        r.set(bh::field::content_type, m->media_type);
        r.set("Docker-Content-Digest", m->digest);
        r.set(bh::field::etag, "\"" + m->digest + "\"");
        r.set(bh::field::content_length, std::to_string(m->body.size()));
        if (request.method() == bh::verb::get) r.body() = std::move(m->body);
        respond(std::move(r));
      });
    }
    case Endpoint::kBlob: {
      if (method == bh::verb::delete_)
        return respond(errorReply("UNSUPPORTED", "blob deletion is not supported; delete images instead", 405));
      if (!read) break;
      return onControl([this, route = *route, request = std::move(request), respond = std::move(respond)](
                           ecr::Ecr& ecr) mutable {
        if (auto ok = ecr.requireRepository(route.name, false); !ok) return respond(errorReply(ok.error()));
        getBlob(route, request, std::move(respond));
      });
    }
    case Endpoint::kUpload: {
      Error error;
      if (method == bh::verb::get) {
        auto session = takeSession(route->reference, route->name, &error);
        if (!session) return respond(errorReply(error));
        uint64_t size = session->writer->size();
        releaseSession(session);
        http::Response r = reply(bh::status::no_content);
        setUploadHeaders(r, route->name, route->reference, size);
        return respond(std::move(r));
      }
      if (method == bh::verb::delete_) {
        auto session = takeSession(route->reference, route->name, &error);
        if (!session) return respond(errorReply(error));
        dropSession(route->reference);
        http::Response r = reply(bh::status::no_content);
        return respond(std::move(r));
      }
      break;
    }
    case Endpoint::kUploadStart:
      break;
  }
  respond(errorReply("UNSUPPORTED", "the operation is unsupported", 405));
}

void Registry::getBlob(const Route& route, const http::Request& request, http::Respond respond) {
  if (!reg::isDigest(route.reference)) {
    if (route.reference.starts_with("sha256:") || route.reference.find(':') == std::string::npos)
      return respond(errorReply("DIGEST_INVALID", "invalid digest"));
    return respond(errorReply("UNSUPPORTED", "digest algorithm not supported", 400));
  }
  auto reader = blobs_.openBlob(route.reference);
  if (!reader) return respond(errorReply(reader.error()));
  uint64_t size = (*reader)->size();
  uint64_t offset = 0, length = size;
  http::Response r = reply(bh::status::ok);
  r.set(bh::field::content_type, "application/octet-stream");
  r.set("Docker-Content-Digest", route.reference);
  r.set(bh::field::accept_ranges, "bytes");
  r.set(bh::field::etag, "\"" + route.reference + "\"");
  auto range = request.find(bh::field::range);
  if (range != request.end() && request.method() == bh::verb::get) {
    auto parsed = parseRange(std::string_view(range->value().data(), range->value().size()), size);
    if (!parsed) {
      http::Response e = errorReply("RANGE_INVALID", "requested range not satisfiable", 416);
      e.set(bh::field::content_range, fmt::format("bytes */{}", size));
      return respond(std::move(e));
    }
    offset = parsed->first;
    length = parsed->second - parsed->first + 1;
    r.result(bh::status::partial_content);
    r.set(bh::field::content_range, fmt::format("bytes {}-{}/{}", parsed->first, parsed->second, size));
  }
  if (request.method() == bh::verb::head) {
    r.set(bh::field::content_length, std::to_string(size));
    return respond(std::move(r));
  }
  respond.stream(std::move(r), std::make_shared<BlobSource>(std::move(*reader)), offset, length);
}

void Registry::putManifest(const Route& route, std::string body, std::string content_type, http::Respond respond) {
  std::string tag;
  bool by_digest = reg::isDigest(route.reference);
  if (!by_digest) {
    if (route.reference.find(':') != std::string::npos)
      return respond(errorReply("DIGEST_INVALID", "invalid digest " + route.reference));
    if (!ecr::validTag(route.reference)) return respond(errorReply("TAG_INVALID", "manifest tag did not match URI"));
    tag = route.reference;
  }
  auto manifest = reg::parseManifest(body, content_type);
  if (!manifest) return respond(errorReply(manifest.error()));
  if (by_digest && manifest->digest != route.reference)
    return respond(errorReply("DIGEST_INVALID", "the manifest's digest " + manifest->digest +
                                                    " does not match the reference " + route.reference));
  bool create = options_.create_on_push;
  onControl([route, manifest = std::move(*manifest), body = std::move(body), tag, create,
             respond = std::move(respond)](ecr::Ecr& ecr) mutable {
    auto digest = ecr.putManifest(route.name, manifest, std::move(body), tag, create);
    if (!digest) return respond(errorReply(digest.error()));
    http::Response r = reply(bh::status::created);
    r.set(bh::field::location, fmt::format("/v2/{}/manifests/{}", route.name, *digest));
    r.set("Docker-Content-Digest", *digest);
    r.set(bh::field::content_length, "0");
    respond(std::move(r));
  });
}

}  // namespace berth::api::registry
