#include "api/selectors.h"

#include <algorithm>

#include "api/conversion.h"

namespace tokenstorm::kts {
namespace {

bool supportedField(const ResourceType& type, const std::string& field) {
  if (field == "metadata.name" || field == "metadata.namespace") {
    return true;
  }
  if (!type.builtin) {
    return false;
  }
  // By resource, not storage key: the two event groups share storage but not field labels.
  const std::string key = type.group + "/" + type.plural;
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kFields = {
      {"/pods",
       {"spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName",
        "spec.serviceAccountName", "status.podIP", "status.nominatedNodeName", "spec.hostNetwork"}},
      {"/secrets", {"type"}},
      {"/namespaces", {"status.phase"}},
      {"batch/jobs", {"status.successful"}},
      {"/nodes", {"spec.unschedulable"}},
      {"/events",
       {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
        "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
        "reportingComponent", "source", "type"}},
      {"events.k8s.io/events",
       {"regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "regarding.apiVersion",
        "regarding.resourceVersion", "regarding.fieldPath", "reason", "reportingController", "source",
        "type"}},
  };
  for (const auto& [k, fields] : kFields) {
    if (k == key) {
      return std::find(fields.begin(), fields.end(), field) != fields.end();
    }
  }
  return false;
}

// The stored paths a supported field reads (selectors.h): only events' differ from the label.
std::vector<std::string> storedPaths(const ResourceType& type, const std::string& field) {
  const bool events = type.builtin && type.plural == "events" && (type.group.empty() || isEventsV1(type));
  if (!events) {
    return {field};
  }
  if (field == "source") {
    return {"source.component", "reportingComponent"};
  }
  if (!isEventsV1(type)) {
    return {field};
  }
  const std::string regarding = "regarding.";
  if (field.starts_with(regarding)) {
    return {"involvedObject." + field.substr(regarding.size())};
  }
  if (field == "reportingController") {
    return {"reportingComponent"};
  }
  return {field};
}

// A term's value in a stored object: the first non-empty of its paths.
std::string termValue(const nlohmann::json& object, const FieldTerm& term) {
  if (term.paths.empty()) {
    return fieldValue(object, term.field);
  }
  for (const auto& path : term.paths) {
    if (std::string value = fieldValue(object, path); !value.empty()) {
      return value;
    }
  }
  return "";
}

}  // namespace

std::string fieldValue(const nlohmann::json& object, const std::string& field) {
  const nlohmann::json* cur = &object;
  size_t start = 0;
  while (start <= field.size()) {
    size_t dot = field.find('.', start);
    std::string part = field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) {
      return "";
    }
    auto it = cur->find(part);
    if (it == cur->end()) {
      return "";
    }
    cur = &*it;
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  if (cur->is_string()) {
    return cur->get<std::string>();
  }
  if (cur->is_null() || cur->is_object() || cur->is_array()) {
    return "";
  }
  return cur->dump();
}

std::optional<std::vector<FieldTerm>> parseFieldSelector(const std::string& text, std::string* why) {
  std::vector<FieldTerm> terms;
  // Split on unescaped commas, keeping escapes for the value pass.
  std::vector<std::string> parts;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      cur += text[i];
      cur += text[i + 1];
      ++i;
    } else if (text[i] == ',') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += text[i];
    }
  }
  parts.push_back(cur);
  if (parts.size() == 1 && parts[0].find_first_not_of(" \t") == std::string::npos) {
    return terms;
  }
  for (const std::string& part : parts) {
    size_t op = std::string::npos;
    size_t op_len = 0;
    bool equals = true;
    for (size_t i = 0; i < part.size(); ++i) {
      if (part[i] == '\\') {
        ++i;
        continue;
      }
      if (part.compare(i, 2, "!=") == 0) {
        op = i, op_len = 2, equals = false;
      } else if (part.compare(i, 2, "==") == 0) {
        op = i, op_len = 2;
      } else if (part[i] == '=') {
        op = i, op_len = 1;
      }
      if (op != std::string::npos) {
        break;
      }
    }
    if (op == std::string::npos) {
      *why = "invalid selector: '" + text + "'; can't understand '" + part + "'";
      return std::nullopt;
    }
    FieldTerm term;
    term.field = part.substr(0, op);
    term.field.erase(0, term.field.find_first_not_of(" \t"));
    term.field.erase(term.field.find_last_not_of(" \t") + 1);
    term.equals = equals;
    std::string raw = part.substr(op + op_len);
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) {
        term.value += raw[++i];
      } else if (raw[i] == '=' || raw[i] == '\\') {
        *why = "invalid selector: '" + text + "'; invalid field value '" + raw +
               "': '=' and '\\' must be escaped";
        return std::nullopt;
      } else {
        term.value += raw[i];
      }
    }
    if (term.field.empty()) {
      *why = "invalid selector: '" + text + "'; field name is empty in '" + part + "'";
      return std::nullopt;
    }
    terms.push_back(std::move(term));
  }
  return terms;
}

std::optional<ObjectFilter> makeFilter(const ResourceType& type, const std::string& ns,
                                       const std::string& label_selector, const std::string& field_selector,
                                       ApiError* error) {
  auto fail = [&](const std::string& message) -> std::optional<ObjectFilter> {
    if (error != nullptr) {
      *error = ApiError{400, "BadRequest", message, nullptr};
    }
    return std::nullopt;
  };
  ObjectFilter filter;
  filter.ns = type.namespaced ? ns : "";
  kube::SelectorError selector_error;
  auto labels = kube::LabelSelector::parse(label_selector, &selector_error);
  if (!labels) {
    return fail("unable to parse requirement: " + selector_error.message);
  }
  filter.labels = std::move(*labels);
  std::string why;
  auto fields = parseFieldSelector(field_selector, &why);
  if (!fields) {
    return fail(why);
  }
  for (auto& term : *fields) {
    if (!supportedField(type, term.field)) {
      return fail("field label not supported: " + term.field);
    }
    term.paths = storedPaths(type, term.field);
  }
  filter.fields = std::move(*fields);
  return filter;
}

bool ObjectFilter::matches(const nlohmann::json& object) const {
  if (!ns.empty() && fieldValue(object, "metadata.namespace") != ns) {
    return false;
  }
  if (!labels.empty()) {
    kube::Labels l;
    if (object.contains("metadata") && object["metadata"].is_object() &&
        object["metadata"].contains("labels") && object["metadata"]["labels"].is_object()) {
      for (auto it = object["metadata"]["labels"].begin(); it != object["metadata"]["labels"].end(); ++it) {
        if (it.value().is_string()) {
          l[it.key()] = it.value().get<std::string>();
        }
      }
    }
    if (!labels.matches(l)) {
      return false;
    }
  }
  for (const auto& term : fields) {
    if ((termValue(object, term) == term.value) != term.equals) {
      return false;
    }
  }
  return true;
}

}  // namespace tokenstorm::kts
