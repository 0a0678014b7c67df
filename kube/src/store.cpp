#include "tokenstorm/kube/store.h"

#include <charconv>
#include <mutex>

namespace tokenstorm::kube {
namespace {

const nlohmann::json* metadataField(const nlohmann::json& object, const char* field) {
  if (!object.is_object()) {
    return nullptr;
  }
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return nullptr;
  }
  auto it = meta->find(field);
  return it == meta->end() ? nullptr : &*it;
}

std::string stringField(const nlohmann::json& object, const char* field) {
  const nlohmann::json* v = metadataField(object, field);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::optional<uint64_t> numericVersion(const nlohmann::json& object) {
  std::string rv = stringField(object, "resourceVersion");
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), value);
  if (rv.empty() || ec != std::errc() || end != rv.data() + rv.size()) {
    return std::nullopt;
  }
  return value;
}

Labels labelsOf(const nlohmann::json& object) {
  Labels labels;
  const nlohmann::json* l = metadataField(object, "labels");
  if (l != nullptr && l->is_object()) {
    for (const auto& [k, v] : l->items()) {
      if (v.is_string()) {
        labels[k] = v.get<std::string>();
      }
    }
  }
  return labels;
}

}  // namespace

std::string objectKey(const nlohmann::json& object) {
  std::string name = stringField(object, "name");
  if (name.empty()) {
    return {};
  }
  std::string ns = stringField(object, "namespace");
  return ns.empty() ? name : ns + "/" + name;
}

bool Store::apply(const WatcherAction& action) {
  if (const auto* replace = std::get_if<ReplaceAll>(&action)) {
    std::map<std::string, nlohmann::json> fresh;
    for (const auto& object : replace->objects) {
      if (std::string key = objectKey(object); !key.empty()) {
        fresh[key] = object;
      }
    }
    std::unique_lock lock(mutex_);
    bool changed = fresh != objects_;
    objects_ = std::move(fresh);
    return changed;
  }
  if (const auto* upsert = std::get_if<Upsert>(&action)) {
    std::string key = objectKey(upsert->object);
    if (key.empty()) {
      return false;
    }
    std::unique_lock lock(mutex_);
    auto it = objects_.find(key);
    if (it != objects_.end()) {
      auto held = numericVersion(it->second);
      auto incoming = numericVersion(upsert->object);
      if (held && incoming && *incoming < *held) {
        return false;  // a late event for an object we already hold newer
      }
      if (it->second == upsert->object) {
        return false;
      }
      it->second = upsert->object;
      return true;
    }
    objects_.emplace(key, upsert->object);
    return true;
  }
  if (const auto* del = std::get_if<Delete>(&action)) {
    std::unique_lock lock(mutex_);
    return objects_.erase(objectKey(del->object)) > 0;
  }
  return false;  // requests (StartList, StartWatch, WaitUntil) are the caller's, not the cache's
}

std::optional<nlohmann::json> Store::get(const std::string& key) const {
  std::shared_lock lock(mutex_);
  auto it = objects_.find(key);
  if (it == objects_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::vector<nlohmann::json> Store::list(const std::string& ns, const LabelSelector& selector) const {
  std::vector<nlohmann::json> out;
  std::shared_lock lock(mutex_);
  for (const auto& [key, object] : objects_) {
    if (!ns.empty() && stringField(object, "namespace") != ns) {
      continue;
    }
    if (!selector.empty() && !selector.matches(labelsOf(object))) {
      continue;
    }
    out.push_back(object);
  }
  return out;
}

std::vector<std::string> Store::keys() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) {
    out.push_back(key);
  }
  return out;
}

size_t Store::size() const {
  std::shared_lock lock(mutex_);
  return objects_.size();
}

}  // namespace tokenstorm::kube
