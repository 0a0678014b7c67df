#include "tokenstorm/operator/scale_target.h"

#include <algorithm>
#include <cmath>

#include "tokenstorm/kube/credentials.h"
#include "tokenstorm/kube/object.h"

namespace tokenstorm::op {
namespace {

using nlohmann::json;

std::string typeName(const json& v) {
  return v.type_name();
}

std::string pathText(std::initializer_list<const char*> path) {
  std::string out;
  for (const char* p : path) {
    out += out.empty() ? p : std::string(".") + p;
  }
  return out;
}

class Reader {
 public:
  Reader(const json& object, std::vector<std::string>& errors) : object_(object), errors_(errors) {
    std::string kind = object.is_object() ? kube::stringAt(object, {"kind"}) : "";
    std::string name = object.is_object() ? kube::stringAt(object, {"metadata", "name"}) : "";
    label_ = (kind.empty() ? "object" : kind) + (name.empty() ? "" : " " + name);
  }

  // A non-negative integer count; absent when missing, an error when of another type.
  std::optional<int64_t> count(std::initializer_list<const char*> path) {
    const json* v = kube::findAt(object_, path);
    if (v == nullptr || v->is_null()) {
      return std::nullopt;
    }
    if (!v->is_number_integer()) {
      error(path, "expected an integer, got " + typeName(*v));
      return std::nullopt;
    }
    int64_t n = v->get<int64_t>();
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      error(path, "out of range");
      return std::nullopt;
    }
    if (n < 0) {
      error(path, "negative (" + std::to_string(n) + ")");
      return std::nullopt;
    }
    return n;
  }

  // As count(), but a missing field reads as 0 (fields the API server omits when zero).
  std::optional<int64_t> countOrZero(std::initializer_list<const char*> path) {
    const json* v = kube::findAt(object_, path);
    if (v == nullptr || v->is_null()) {
      return 0;
    }
    return count(path);
  }

  // An object member that must be an object when present.
  bool objectOrAbsent(const char* key) {
    const json& v = kube::member(object_, key);
    if (v.is_null() || v.is_object()) {
      return v.is_object();
    }
    error({key}, "expected an object, got " + typeName(v));
    return false;
  }

  std::vector<ConditionSeen> conditions() {
    std::vector<ConditionSeen> out;
    const json* v = kube::findAt(object_, {"status", "conditions"});
    if (v == nullptr || v->is_null()) {
      return out;
    }
    if (!v->is_array()) {
      error({"status", "conditions"}, "expected an array, got " + typeName(*v));
      return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      const json& c = (*v)[i];
      if (!c.is_object() || !c.contains("type") || !c["type"].is_string()) {
        errors_.push_back(label_ + ": status.conditions[" + std::to_string(i) +
                          "]: expected an object with a type");
        continue;
      }
      out.push_back(ConditionSeen{kube::stringAt(c, {"type"}), kube::stringAt(c, {"status"}),
                                  kube::stringAt(c, {"reason"}), kube::stringAt(c, {"message"})});
    }
    return out;
  }

  void error(std::initializer_list<const char*> path, const std::string& what) {
    errors_.push_back(label_ + ": " + pathText(path) + ": " + what);
  }
  const std::string& label() const { return label_; }

 private:
  const json& object_;
  std::vector<std::string>& errors_;
  std::string label_;
};

// A Kubernetes quantity ("250m", "12", "1.5Gi") as a number; nullopt when not one.
std::optional<double> quantityValue(const json& v) {
  if (v.is_number()) {
    return v.get<double>();
  }
  if (!v.is_string()) {
    return std::nullopt;
  }
  const std::string& full = v.get_ref<const std::string&>();
  std::string_view text = full;
  static const std::pair<const char*, double> kSuffixes[] = {
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"m", 1e-3},    {"k", 1e3},        {"M", 1e6},           {"G", 1e9},
      {"T", 1e12},
  };
  double scale = 1;
  for (const auto& [suffix, factor] : kSuffixes) {
    std::string_view sv(suffix);
    if (text.size() > sv.size() && text.ends_with(sv)) {
      scale = factor;
      text.remove_suffix(sv.size());
      break;
    }
  }
  if (text.empty() || text.size() > 64 ||
      text.find_first_not_of("0123456789.+-eE") != std::string_view::npos) {
    return std::nullopt;
  }
  std::string number(text);
  char* end = nullptr;
  double d = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(d)) {
    return std::nullopt;
  }
  return d * scale;
}

void readHpaMetrics(const json& object, double tS, Reader& r, ScaleObservation& out) {
  const json* list = kube::findAt(object, {"status", "currentMetrics"});
  if (list == nullptr || list->is_null()) {
    return;
  }
  if (!list->is_array()) {
    r.error({"status", "currentMetrics"}, "expected an array, got " + typeName(*list));
    return;
  }
  for (const json& m : *list) {
    std::string type = kube::stringAt(m, {"type"});
    // autoscaling/v2: {type: Resource, resource: {name, current}}, {type: Pods, pods: {metric: {name},
    // current}}, Object, External and ContainerResource alike.
    std::string key =
        type.empty() ? "" : std::string(1, static_cast<char>(std::tolower(type[0]))) + type.substr(1);
    const json& body = kube::member(m, key.c_str());
    std::string name = kube::stringAt(body, {"name"});
    if (name.empty()) {
      name = kube::stringAt(body, {"metric", "name"});
    }
    const json& current = kube::member(body, "current");
    std::optional<double> value;
    for (const char* field : {"averageUtilization", "averageValue", "value"}) {
      if (current.is_object() && current.contains(field)) {
        value = quantityValue(current[field]);
        break;
      }
    }
    if (type.empty() || name.empty() || !value) {
      r.error({"status", "currentMetrics"}, "an entry without type, metric name or readable current value");
      continue;
    }
    out.metrics.push_back(core::ServerMetricSample{tS, "hpa:" + type + ":" + name, *value});
  }
}

std::optional<double> secondsSince(const std::string& text, std::chrono::system_clock::time_point start) {
  auto t = kube::parseRfc3339(text);
  if (!t) {
    return std::nullopt;
  }
  return std::chrono::duration<double>(*t - start).count();
}

}  // namespace

ScaleObservation readScaleTarget(const json& object, double tS) {
  ScaleObservation out;
  Reader r(object, out.errors);
  if (!object.is_object()) {
    out.errors.push_back("scale target: expected an object, got " + typeName(object));
    return out;
  }
  r.objectOrAbsent("spec");
  bool has_status = r.objectOrAbsent("status");
  out.conditions = r.conditions();
  std::string kind = kube::stringAt(object, {"kind"});
  core::ReplicaSample s;
  s.tS = tS;
  if (kind == "Deployment" || kind == "StatefulSet") {
    s.desired = r.count({"spec", "replicas"});
    if (has_status) {
      // omitempty: a zero count is left out of the status (see the header); a count of a wrong type
      // stays unknown.
      s.current = r.countOrZero({"status", "replicas"});
      s.ready = r.countOrZero({"status", "readyReplicas"});
      s.available = r.countOrZero({"status", "availableReplicas"});
    }
  } else if (kind == "HorizontalPodAutoscaler") {
    s.desired = r.count({"status", "desiredReplicas"});
    s.current = r.count({"status", "currentReplicas"});
    readHpaMetrics(object, tS, r, out);
  } else {
    s.desired = r.count({"status", "desiredReplicas"});
    if (!s.desired) {
      s.desired = r.count({"spec", "replicas"});
    }
    s.current = r.count({"status", "currentReplicas"});
    if (!s.current) {
      s.current = r.count({"status", "replicas"});
    }
    s.ready = r.count({"status", "readyReplicas"});
    s.available = r.count({"status", "availableReplicas"});
  }
  if (s.desired || s.current || s.ready || s.available) {
    out.sample = s;
  }
  return out;
}

std::optional<core::PodEvent> readPod(const json& pod, std::chrono::system_clock::time_point test_start,
                                      std::string* error) {
  std::string name = pod.is_object() ? kube::stringAt(pod, {"metadata", "name"}) : "";
  if (name.empty()) {
    *error = "Pod: metadata.name: missing or not a string";
    return std::nullopt;
  }
  core::PodEvent e;
  e.pod = name;
  auto created = secondsSince(kube::stringAt(pod, {"metadata", "creationTimestamp"}), test_start);
  if (!created) {
    *error = "Pod " + name + ": metadata.creationTimestamp: missing or not an RFC 3339 time";
    return std::nullopt;
  }
  e.createdS = *created;
  for (const json& c : kube::arrayAt(pod, {"status", "conditions"})) {
    std::string type = kube::stringAt(c, {"type"});
    if (kube::stringAt(c, {"status"}) != "True") {
      continue;
    }
    auto at = secondsSince(kube::stringAt(c, {"lastTransitionTime"}), test_start);
    if (type == "PodScheduled") {
      e.scheduledS = at;
    } else if (type == "Ready") {
      e.readyS = at;
    }
  }
  for (const json& cs : kube::arrayAt(pod, {"status", "containerStatuses"})) {
    auto at = secondsSince(kube::stringAt(cs, {"state", "running", "startedAt"}), test_start);
    if (at && (!e.startedS || *at < *e.startedS)) {
      e.startedS = at;
    }
  }
  return e;
}

std::vector<core::ReplicaSample> readySamplesFromPods(const std::vector<core::PodEvent>& pods) {
  std::vector<double> ready_times;
  for (const auto& p : pods) {
    if (p.readyS && std::isfinite(*p.readyS)) {
      ready_times.push_back(*p.readyS);
    }
  }
  std::sort(ready_times.begin(), ready_times.end());
  std::vector<core::ReplicaSample> out;
  for (size_t i = 0; i < ready_times.size(); ++i) {
    core::ReplicaSample s;
    s.tS = ready_times[i];
    s.ready = static_cast<int64_t>(i + 1);
    out.push_back(s);
  }
  return out;
}

}  // namespace tokenstorm::op
