#include "http/table.h"

#include <cstdio>
#include <ctime>
#include <vector>

namespace tokenstorm::kts {

namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

struct Column {
  std::string name;
  std::string type;  // string, integer, number, boolean, date
  std::string format;
  std::string description;
  int64_t priority = 0;
};

std::string str(const json& obj, const std::string& pointer) {
  json::json_pointer p(pointer);
  if (!obj.contains(p) || !obj.at(p).is_string()) {
    return "";
  }
  return obj.at(p).get<std::string>();
}

int64_t num(const json& obj, const std::string& pointer) {
  json::json_pointer p(pointer);
  if (!obj.contains(p) || !obj.at(p).is_number()) {
    return 0;
  }
  return obj.at(p).get<int64_t>();
}

json age(const std::string& timestamp, Clock::time_point now) {
  auto t = parseRfc3339(timestamp);
  if (!t) {
    return timestamp.empty() ? json("<unknown>") : json("<invalid>");
  }
  return humanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

// A CRD column's cell (apiextensions-apiserver's tableconvertor cellForJSONValue).
json cellFor(const std::string& type, const json& value, Clock::time_point now) {
  if (value.is_null()) {
    return nullptr;
  }
  if (type == "string") {
    return value.is_string() ? value.get<std::string>() : value.dump();
  }
  if (type == "integer" && value.is_number()) {
    return value.is_number_float() ? json(static_cast<int64_t>(value.get<double>())) : value;
  }
  if (type == "number" && value.is_number()) {
    return value.get<double>();
  }
  if (type == "boolean" && value.is_boolean()) {
    return value;
  }
  if (type == "date" && value.is_string()) {
    return age(value.get<std::string>(), now);
  }
  return nullptr;
}

std::string podStatus(const json& pod) {
  if (pod.contains("metadata") && pod["metadata"].contains("deletionTimestamp")) {
    return "Terminating";
  }
  std::string reason = str(pod, "/status/phase");
  if (!str(pod, "/status/reason").empty()) {
    reason = str(pod, "/status/reason");
  }
  json::json_pointer statuses("/status/containerStatuses");
  if (pod.contains(statuses) && pod.at(statuses).is_array()) {
    for (const auto& cs : pod.at(statuses)) {
      std::string waiting = str(cs, "/state/waiting/reason");
      std::string terminated = str(cs, "/state/terminated/reason");
      if (!waiting.empty()) {
        reason = waiting;
      } else if (!terminated.empty()) {
        reason = terminated;  // kubectl's printer: "Completed" / "Error" / "OOMKilled" over the phase
      }
    }
  }
  return reason.empty() ? "Pending" : reason;
}

std::string conditionTrue(const json& obj, const std::string& type) {
  json::json_pointer p("/status/conditions");
  if (!obj.contains(p) || !obj.at(p).is_array()) {
    return "";
  }
  for (const auto& c : obj.at(p)) {
    if (c.value("type", "") == type && c.value("status", "") == "True") {
      return type;
    }
  }
  return "";
}

std::vector<Column> builtinColumns(const ResourceType& t) {
  const std::string& p = t.plural;
  if (t.group.empty() && p == "pods") {
    return {{"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic."},
            {"Status", "string", "", "The aggregate status of the containers in this pod."},
            {"Restarts", "string", "", "The number of times the containers in this pod have been restarted."},
            {"Age", "string", "", "CreationTimestamp"},
            {"IP", "string", "", "IP address allocated to the pod.", 1},
            {"Node", "string", "", "Name of the Node this pod is scheduled on.", 1}};
  }
  if (t.group == "batch" && p == "jobs") {
    return {{"Status", "string", "", "Status of the job."},
            {"Completions", "string", "", "The desired number of successfully finished pods."},
            {"Duration", "string", "", "Time required to complete the job."},
            {"Age", "string", "", "CreationTimestamp"}};
  }
  if (t.group.empty() && p == "events") {
    return {{"Last Seen", "string", "", "Time of the last occurrence."},
            {"Type", "string", "", "Type of this event (Normal, Warning)."},
            {"Reason", "string", "", "Why the action was taken."},
            {"Object", "string", "", "The object this Event is about."},
            {"Message", "string", "", "A human-readable description of the status of this operation."}};
  }
  if (t.group.empty() && p == "namespaces") {
    return {{"Status", "string", "", "The status of the namespace"},
            {"Age", "string", "", "CreationTimestamp"}};
  }
  if (t.group.empty() && (p == "configmaps" || p == "secrets")) {
    std::vector<Column> cols;
    if (p == "secrets") {
      cols.push_back({"Type", "string", "", "The type of the secret"});
    }
    cols.push_back({"Data", "string", "", "The number of entries in the data."});
    cols.push_back({"Age", "string", "", "CreationTimestamp"});
    return cols;
  }
  if (t.group == "apps" && (p == "deployments" || p == "statefulsets")) {
    if (p == "statefulsets") {
      return {{"Ready", "string", "", "Number of the pod with ready state"},
              {"Age", "string", "", "CreationTimestamp"}};
    }
    return {{"Ready", "string", "", "Number of the pod with ready state"},
            {"Up-to-date", "string", "", "Total number of non-terminated pods targeted by this deployment."},
            {"Available", "string", "", "Total number of available pods."},
            {"Age", "string", "", "CreationTimestamp"}};
  }
  if (t.group == "apiextensions.k8s.io" && p == "customresourcedefinitions") {
    return {{"Created At", "date", "", "CreationTimestamp"}};
  }
  if (t.group == "coordination.k8s.io" && p == "leases") {
    return {{"Holder", "string", "", "The holder of the lease."}, {"Age", "string", "", "CreationTimestamp"}};
  }
  return {{"Age", "string", "", "CreationTimestamp"}};
}

json builtinCells(const ResourceType& t, const json& obj, Clock::time_point now) {
  const std::string& p = t.plural;
  json created = age(str(obj, "/metadata/creationTimestamp"), now);
  if (t.group.empty() && p == "pods") {
    int64_t total = 0, ready = 0, restarts = 0;
    json::json_pointer containers("/spec/containers"), statuses("/status/containerStatuses");
    if (obj.contains(containers) && obj.at(containers).is_array()) {
      total = static_cast<int64_t>(obj.at(containers).size());
    }
    if (obj.contains(statuses) && obj.at(statuses).is_array()) {
      for (const auto& cs : obj.at(statuses)) {
        ready += cs.value("ready", false) ? 1 : 0;
        restarts += cs.value("restartCount", int64_t{0});
      }
    }
    std::string ip = str(obj, "/status/podIP"), node = str(obj, "/spec/nodeName");
    return {std::to_string(ready) + "/" + std::to_string(total),
            podStatus(obj),
            std::to_string(restarts),
            created,
            ip.empty() ? "<none>" : ip,
            node.empty() ? "<none>" : node};
  }
  if (t.group == "batch" && p == "jobs") {
    std::string status = "Running";
    if (!conditionTrue(obj, "Complete").empty()) {
      status = "Complete";
    } else if (!conditionTrue(obj, "Failed").empty()) {
      status = "Failed";
    } else if (!conditionTrue(obj, "Suspended").empty()) {
      status = "Suspended";
    }
    json::json_pointer completions("/spec/completions");
    std::string of = obj.contains(completions) ? std::to_string(num(obj, "/spec/completions")) : "1";
    auto start = parseRfc3339(str(obj, "/status/startTime"));
    auto end = parseRfc3339(str(obj, "/status/completionTime"));
    std::string duration;
    if (start) {
      duration = humanDuration(std::chrono::duration_cast<std::chrono::seconds>((end ? *end : now) - *start));
    }
    return {status, std::to_string(num(obj, "/status/succeeded")) + "/" + of, duration, created};
  }
  if (t.group.empty() && p == "events") {
    std::string last = str(obj, "/lastTimestamp");
    if (last.empty()) {
      last = str(obj, "/eventTime");
    }
    if (last.empty()) {
      last = str(obj, "/metadata/creationTimestamp");
    }
    std::string kind = str(obj, "/involvedObject/kind");
    for (char& c : kind) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return {age(last, now), str(obj, "/type"), str(obj, "/reason"),
            kind + "/" + str(obj, "/involvedObject/name"), str(obj, "/message")};
  }
  if (t.group.empty() && p == "namespaces") {
    std::string phase = str(obj, "/status/phase");
    return {phase.empty() ? "Active" : phase, created};
  }
  if (t.group.empty() && (p == "configmaps" || p == "secrets")) {
    size_t n = 0;
    for (const char* key : {"data", "binaryData", "stringData"}) {
      if (obj.contains(key) && obj[key].is_object()) {
        n += obj[key].size();
      }
    }
    if (p == "secrets") {
      std::string type = str(obj, "/type");
      return {type.empty() ? "Opaque" : type, static_cast<int64_t>(n), created};
    }
    return {static_cast<int64_t>(n), created};
  }
  if (t.group == "apps" && (p == "deployments" || p == "statefulsets")) {
    std::string ready =
        std::to_string(num(obj, "/status/readyReplicas")) + "/" +
        std::to_string(obj.contains(json::json_pointer("/spec/replicas")) ? num(obj, "/spec/replicas") : 1);
    if (p == "statefulsets") {
      return {ready, created};
    }
    return {ready, num(obj, "/status/updatedReplicas"), num(obj, "/status/availableReplicas"), created};
  }
  if (t.group == "apiextensions.k8s.io" && p == "customresourcedefinitions") {
    return {str(obj, "/metadata/creationTimestamp")};
  }
  if (t.group == "coordination.k8s.io" && p == "leases") {
    return {str(obj, "/spec/holderIdentity"), created};
  }
  return {created};
}

json rowObject(const json& obj, const TableOptions& options) {
  if (options.includeObject == "None") {
    return nullptr;
  }
  if (options.includeObject == "Object") {
    return obj;
  }
  return {{"kind", "PartialObjectMetadata"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", obj.contains("metadata") ? obj["metadata"] : json::object()}};
}

}  // namespace

json toTable(const ResourceType& type, const json& object, Clock::time_point now,
             const TableOptions& options) {
  std::vector<Column> columns;
  std::vector<std::string> paths;  // CRD columns only
  bool custom = !type.builtin;
  if (custom) {
    const json& printer = type.printerColumns;
    if (printer.is_array() && !printer.empty()) {
      for (const auto& c : printer) {
        columns.push_back({c.value("name", ""), c.value("type", "string"), c.value("format", ""),
                           c.value("description", ""), c.value("priority", int64_t{0})});
        paths.push_back(c.value("jsonPath", ""));
      }
    } else {
      columns.push_back({"Age", "date", "", "CreationTimestamp"});
      paths.emplace_back(".metadata.creationTimestamp");
    }
  } else {
    columns = builtinColumns(type);
  }

  // Events print Name last and only with -o wide, as kube-apiserver does; everything else prints it first.
  bool name_last = type.builtin && type.group.empty() && type.plural == "events";
  json table = {{"kind", "Table"}, {"apiVersion", options.apiVersion}, {"metadata", json::object()}};
  if (options.withColumns) {
    json defs = json::array();
    json name_column = {{"name", "Name"},
                        {"type", "string"},
                        {"format", "name"},
                        {"description", "Name must be unique within a namespace."},
                        {"priority", name_last ? 1 : 0}};
    if (!name_last) {
      defs.push_back(name_column);
    }
    for (const auto& c : columns) {
      defs.push_back({{"name", c.name},
                      {"type", c.type == "date" && !custom ? "string" : c.type},
                      {"format", c.format},
                      {"description", c.description},
                      {"priority", c.priority}});
    }
    if (name_last) {
      defs.push_back(name_column);
    }
    table["columnDefinitions"] = defs;
  } else {
    table["columnDefinitions"] = nullptr;
  }

  bool is_list = object.contains("items") && object["items"].is_array();
  if (is_list && object.contains("metadata")) {
    for (const char* key : {"resourceVersion", "continue", "remainingItemCount"}) {
      if (object["metadata"].contains(key)) {
        table["metadata"][key] = object["metadata"][key];
      }
    }
  } else if (!is_list) {
    table["metadata"]["resourceVersion"] = str(object, "/metadata/resourceVersion");
  }

  json rows = json::array();
  auto add_row = [&](const json& obj) {
    json cells = name_last ? json::array() : json::array({str(obj, "/metadata/name")});
    if (custom) {
      for (size_t i = 0; i < columns.size(); ++i) {
        auto value = evalJsonPath(obj, paths[i]);
        cells.push_back(value ? cellFor(columns[i].type, *value, now) : json(nullptr));
      }
    } else {
      for (auto& cell : builtinCells(type, obj, now)) {
        cells.push_back(cell);
      }
    }
    if (name_last) {
      cells.push_back(str(obj, "/metadata/name"));
    }
    json row = {{"cells", cells}};
    json ro = rowObject(obj, options);
    if (!ro.is_null()) {
      row["object"] = ro;
    }
    rows.push_back(row);
  };
  if (is_list) {
    for (const auto& item : object["items"]) {
      add_row(item);
    }
  } else {
    add_row(object);
  }
  table["rows"] = rows;
  return table;
}

std::optional<json> evalJsonPath(const json& object, const std::string& raw_path) {
  std::string path = raw_path;
  if (path.size() >= 2 && path.front() == '{' && path.back() == '}') {
    path = path.substr(1, path.size() - 2);
  }
  const json* cur = &object;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      size_t end = path.find_first_of(".[", i);
      std::string key = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
      i = end == std::string::npos ? path.size() : end;
      if (key.empty()) {
        continue;  // "." alone, or ".." (not supported: treated as ".")
      }
      if (!cur->is_object() || !cur->contains(key)) {
        return std::nullopt;
      }
      cur = &(*cur)[key];
      continue;
    }
    if (path[i] != '[') {
      return std::nullopt;
    }
    size_t close = path.find(']', i);
    if (close == std::string::npos) {
      return std::nullopt;
    }
    std::string inner = path.substr(i + 1, close - i - 1);
    i = close + 1;
    if (!cur->is_array()) {
      return std::nullopt;
    }
    if (inner.rfind("?(@.", 0) == 0 && inner.back() == ')') {
      // ?(@.key=="value") or ?(@.key=='value')
      std::string cond = inner.substr(4, inner.size() - 5);
      size_t eq = cond.find("==");
      if (eq == std::string::npos) {
        return std::nullopt;
      }
      std::string key = cond.substr(0, eq);
      std::string value = cond.substr(eq + 2);
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
          value.back() == value.front()) {
        value = value.substr(1, value.size() - 2);
      }
      const json* found = nullptr;
      for (const auto& item : *cur) {
        if (item.is_object() && item.contains(key) &&
            ((item[key].is_string() && item[key].get<std::string>() == value) ||
             (!item[key].is_string() && item[key].dump() == value))) {
          found = &item;
          break;
        }
      }
      if (found == nullptr) {
        return std::nullopt;
      }
      cur = found;
      continue;
    }
    char* end = nullptr;
    long index = std::strtol(inner.c_str(), &end, 10);
    if (inner.empty() || *end != '\0') {
      return std::nullopt;
    }
    if (index < 0) {
      index += static_cast<long>(cur->size());
    }
    if (index < 0 || static_cast<size_t>(index) >= cur->size()) {
      return std::nullopt;
    }
    cur = &(*cur)[static_cast<size_t>(index)];
  }
  return *cur;
}

std::string humanDuration(std::chrono::seconds d) {
  int64_t seconds = d.count();
  auto fmt = [](int64_t a, const char* ua, int64_t b = 0, const char* ub = nullptr) {
    std::string out = std::to_string(a) + ua;
    if (ub != nullptr && b != 0) {
      out += std::to_string(b) + ub;
    }
    return out;
  };
  if (seconds < -1) {
    return "<invalid>";
  }
  if (seconds < 0) {
    return "0s";
  }
  if (seconds < 120) {
    return fmt(seconds, "s");
  }
  int64_t minutes = seconds / 60;
  if (minutes < 10) {
    return fmt(minutes, "m", seconds % 60, "s");
  }
  if (minutes < 180) {
    return fmt(minutes, "m");
  }
  int64_t hours = seconds / 3600;
  if (hours < 8) {
    return fmt(hours, "h", minutes % 60, "m");
  }
  if (hours < 48) {
    return fmt(hours, "h");
  }
  if (hours < 24 * 8) {
    return fmt(hours / 24, "d", hours % 24, "h");
  }
  if (hours < 24 * 365 * 2) {
    return fmt(hours / 24, "d");
  }
  if (hours < 24 * 365 * 8) {
    return fmt(hours / 24 / 365, "y", (hours / 24) % 365, "d");
  }
  return fmt(hours / 24 / 365, "y");
}

std::optional<Clock::time_point> parseRfc3339(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6) {
    return std::nullopt;
  }
  std::string rest = text.substr(static_cast<size_t>(consumed));
  if (!rest.empty() && rest[0] == '.') {
    size_t k = 1;
    while (k < rest.size() && std::isdigit(static_cast<unsigned char>(rest[k]))) {
      ++k;
    }
    rest = rest.substr(k);
  }
  long offset_s = 0;
  if (rest == "Z" || rest == "z") {
    offset_s = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = std::atoi(rest.substr(1, 2).c_str());
    int om = std::atoi(rest.substr(4, 2).c_str());
    offset_s = (oh * 3600L + om * 60L) * (rest[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  time_t t = timegm(&tm);
  return Clock::from_time_t(t - offset_s);
}

}  // namespace tokenstorm::kts
