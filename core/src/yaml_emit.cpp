#include "tokenstorm/core/yaml_emit.h"

#include <nlohmann/json.hpp>

#include "tokenstorm/core/document.h"

namespace tokenstorm::core {
namespace {

using Json = nlohmann::ordered_json;

bool needsQuotes(const std::string& s) {
  if (s.empty() || resolvePlainScalar(s) != Node::Kind::String) {
    return true;
  }
  if (s.front() == ' ' || s.back() == ' ') {
    return true;
  }
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos) {
    return true;
  }
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.back() == ':') {
    return true;
  }
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

std::string scalar(const Json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    // A JSON string literal is a valid YAML double-quoted scalar.
    return needsQuotes(s) ? Json(s).dump() : s;
  }
  if (v.is_null()) {
    return "null";
  }
  return v.dump();
}

bool isEmptyContainer(const Json& v) {
  return (v.is_object() || v.is_array()) && v.empty();
}

void emit(const Json& v, int indent, std::string& out);

void emitMapping(const Json& v, int indent, std::string& out, bool first_inline) {
  bool first = true;
  for (const auto& [k, child] : v.items()) {
    if (!(first && first_inline)) {
      out.append(static_cast<size_t>(indent), ' ');
    }
    first = false;
    out += needsQuotes(k) ? Json(k).dump() : k;
    out += ":";
    if (isEmptyContainer(child)) {
      out += child.is_object() ? " {}\n" : " []\n";
    } else if (child.is_object()) {
      out += "\n";
      emit(child, indent + 2, out);
    } else if (child.is_array()) {
      out += "\n";
      emit(child, indent, out);  // lists at the parent's indent, Kubernetes style
    } else {
      out += " " + scalar(child) + "\n";
    }
  }
}

void emit(const Json& v, int indent, std::string& out) {
  if (v.is_object()) {
    emitMapping(v, indent, out, false);
    return;
  }
  if (v.is_array()) {
    for (const auto& item : v) {
      out.append(static_cast<size_t>(indent), ' ');
      out += "- ";
      if (item.is_object() && !item.empty()) {
        emitMapping(item, indent + 2, out, true);
      } else if (item.is_array() && !item.empty()) {
        out += "\n";
        emit(item, indent + 2, out);
      } else if (isEmptyContainer(item)) {
        out += item.is_object() ? "{}\n" : "[]\n";
      } else {
        out += scalar(item) + "\n";
      }
    }
    return;
  }
  out.append(static_cast<size_t>(indent), ' ');
  out += scalar(v) + "\n";
}

}  // namespace

std::string toYaml(const Json& value) {
  std::string out;
  if (isEmptyContainer(value)) {
    return value.is_object() ? "{}\n" : "[]\n";
  }
  emit(value, 0, out);
  return out;
}

}  // namespace tokenstorm::core
