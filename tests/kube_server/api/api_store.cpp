// ApiStore: the registry, the objects with the one resourceVersion counter and the watch history, and get.
// Writes are in create.cpp, update.cpp and scale.cpp; deletion and garbage collection in delete.cpp; lists
// and watches in watch.cpp; CRD handling in crds.cpp; conversion between served versions and the storage
// form in conversion.cpp; helpers for objects and errors in objects.cpp.
#include "api/api_store.h"

#include <ctime>

#include "api/registry.h"
#include "api/store_impl.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

const char* const kInitialNamespaces[] = {"default", "kube-system", "kube-public", "kube-node-lease"};

}  // namespace

// ---- Impl ----

ApiStore::Impl::Impl(const core::Clock& c, StoreOptions o)
    : clock(c), config(o), types(builtinTypes()), random(std::random_device{}()) {}

const ResourceType* ApiStore::Impl::served(const ResourceType& type) const {
  for (const auto& t : types) {
    if (t.group == type.group && t.version == type.version && t.plural == type.plural) {
      return &t;
    }
  }
  return nullptr;
}

std::string ApiStore::Impl::newUid() {
  static const char* const kHex = "0123456789abcdef";
  std::string uid;
  uint64_t a = random();
  uint64_t b = random();
  for (int i = 0; i < 32; ++i) {
    uint64_t& src = i < 16 ? a : b;
    char c = kHex[src & 0xF];
    src >>= 4;
    if (i == 12) {
      c = '4';  // version 4
    } else if (i == 16) {
      c = kHex[8 + (b & 0x3)];  // variant 10xx
    }
    uid += c;
    if (i == 7 || i == 11 || i == 15 || i == 19) {
      uid += '-';
    }
  }
  return uid;
}

std::string ApiStore::Impl::randomSuffix() {
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";  // kube's: no vowels, no 0/1/3
  std::string s;
  for (int i = 0; i < 5; ++i) {
    s += kAlphabet[random() % (sizeof kAlphabet - 1)];
  }
  return s;
}

std::string ApiStore::Impl::now(int64_t plus_seconds) const {
  auto t = std::chrono::system_clock::to_time_t(clock.wallNow()) + static_cast<std::time_t>(plus_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json* ApiStore::Impl::find(const std::string& key, const std::string& ns, const std::string& name) {
  auto b = objects.find(key);
  if (b == objects.end()) {
    return nullptr;
  }
  auto it = b->second.find({ns, name});
  return it == b->second.end() ? nullptr : &it->second;
}

void ApiStore::Impl::put(const std::string& key, json object, const char* event, json previous) {
  object["metadata"]["resourceVersion"] = rvString(++revision);
  const std::string ns = stringAt(object, "metadata", "namespace");
  const std::string name = stringAt(object, "metadata", "name");
  const std::string uid = stringAt(object, "metadata", "uid");
  objects[key][{ns, name}] = object;
  byUid[uid] = ObjectRef{key, ns, name};
  HistoryEvent e{revision, key, ns, event, std::move(object), std::move(previous)};
  dispatch(e);
  history.push_back(std::move(e));
  while (history.size() > config.historyEvents) {
    compactedRv = history.front().rv;
    history.pop_front();
  }
}

json ApiStore::Impl::erase(const std::string& key, const std::string& ns, const std::string& name,
                           const json* last_state) {
  auto b = objects.find(key);
  auto it = b->second.find({ns, name});
  json previous = std::move(it->second);
  b->second.erase(it);
  byUid.erase(stringAt(previous, "metadata", "uid"));
  json gone = last_state != nullptr ? *last_state : previous;
  gone["metadata"]["resourceVersion"] = rvString(++revision);
  HistoryEvent e{revision, key, ns, "DELETED", gone, std::move(previous)};
  dispatch(e);
  history.push_back(std::move(e));
  while (history.size() > config.historyEvents) {
    compactedRv = history.front().rv;
    history.pop_front();
  }
  return gone;
}

// ---- ApiStore ----

ApiStore::ApiStore(const core::Clock& clock, StoreOptions options)
    : impl_(std::make_unique<Impl>(clock, options)) {
  std::lock_guard lock(impl_->mutex);
  for (const char* ns : kInitialNamespaces) {
    json object = {{"apiVersion", "v1"},
                   {"kind", "Namespace"},
                   {"metadata",
                    {{"name", ns},
                     {"uid", impl_->newUid()},
                     {"creationTimestamp", impl_->now()},
                     {"labels", {{"kubernetes.io/metadata.name", ns}}}}}};
    applyDefaults("/namespaces", object, "");
    impl_->put("/namespaces", std::move(object), "ADDED", nullptr);
  }
  impl_->dispatched->store(impl_->revision);
}

ApiStore::~ApiStore() {
  closeAllWatches();
}

std::vector<ResourceType> ApiStore::types() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->types;
}

std::optional<ResourceType> ApiStore::findType(const std::string& group, const std::string& version,
                                               const std::string& plural) const {
  std::lock_guard lock(impl_->mutex);
  for (const auto& t : impl_->types) {
    if (t.group == group && t.version == version && t.plural == plural) {
      return t;
    }
  }
  return std::nullopt;
}

std::optional<ResourceType> ApiStore::findKind(const std::string& apiVersion, const std::string& kind) const {
  std::lock_guard lock(impl_->mutex);
  for (const auto& t : impl_->types) {
    if (t.apiVersion() == apiVersion && t.kind == kind) {
      return t;
    }
  }
  return std::nullopt;
}

std::string ApiStore::resourceVersion() const {
  std::lock_guard lock(impl_->mutex);
  return rvString(impl_->revision);
}

Result ApiStore::get(const ResourceType& type, const std::string& ns, const std::string& name,
                     Subresource sub) const {
  std::lock_guard lock(impl_->mutex);
  Result r;
  const ResourceType* t = impl_->served(type);
  if (t == nullptr) {
    r.error = notFound(type, name);
    return r;
  }
  json* object = impl_->find(storageKey(*t), t->namespaced ? ns : "", name);
  if (object == nullptr) {
    r.error = notFound(*t, name);
    return r;
  }
  if (sub == Subresource::kScale) {
    if (!t->scaleSubresource) {
      r.error = ApiError{404, "NotFound", "the server could not find the requested resource", nullptr};
      return r;
    }
    r.object = toScale(*t, *object);
    return r;
  }
  r.object = present(*t, *object);
  return r;
}

}  // namespace tokenstorm::kts
