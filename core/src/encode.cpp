// The encoder: LoadTest types → JSON, along the field descriptions of loadtest_fields.h.
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "tokenstorm/core/loadtest_fields.h"
#include "tokenstorm/core/loadtest_io.h"

namespace tokenstorm::core {
namespace {

using Json = nlohmann::ordered_json;

// Empty strings, lists and maps are omitted (Kubernetes' omitempty); numbers and booleans are always written
// so that a summary's zeros are visible.
class Encoder {
 public:
  explicit Encoder(Json* out) : out_(out) {}

  template <class T>
  void field(const T& value, const F& f) {
    Json j;
    if (encode(value, &j)) {
      (*out_)[std::string(f.name)] = std::move(j);
    }
  }
  void oneOf(std::initializer_list<std::string_view>) {}
  void lenient() {}

  static bool encode(const std::string& v, Json* j) {
    if (v.empty()) {
      return false;
    }
    *j = v;
    return true;
  }
  static bool encode(bool v, Json* j) {
    *j = v;
    return true;
  }
  static bool encode(int64_t v, Json* j) {
    *j = v;
    return true;
  }
  static bool encode(double v, Json* j) {
    *j = v;
    return true;
  }
  static bool encode(const Duration& v, Json* j) {
    *j = v.str();
    return true;
  }
  static bool encode(const Decimal& v, Json* j) {
    *j = v.money();
    return true;
  }
  static bool encode(const Quantity& v, Json* j) {
    *j = v.text;
    return true;
  }
  static bool encode(const Node& v, Json* j) {
    *j = nodeToJson(v);
    return true;
  }
  static bool encode(const ThresholdValue& v, Json* j) {
    if (v.number) {
      *j = *v.number;
    } else if (v.duration) {
      *j = v.duration->str();
    } else {
      return false;
    }
    return true;
  }
  template <class E>
  requires std::is_enum_v<E>
  static bool encode(E v, Json* j) {
    *j = std::string(enumName(v));
    return true;
  }
  template <class T>
  static bool encode(const std::optional<T>& v, Json* j) {
    return v.has_value() && encodeAlways(*v, j);
  }
  template <class T>
  static bool encode(const std::vector<T>& v, Json* j) {
    if (v.empty()) {
      return false;
    }
    *j = Json::array();
    for (const auto& item : v) {
      Json e;
      encodeAlways(item, &e);
      j->push_back(std::move(e));
    }
    return true;
  }
  template <class T>
  static bool encode(const std::map<std::string, T>& v, Json* j) {
    if (v.empty()) {
      return false;
    }
    *j = Json::object();
    for (const auto& [k, item] : v) {
      Json e;
      encodeAlways(item, &e);
      (*j)[k] = std::move(e);
    }
    return true;
  }
  template <class T>
  requires requires(Encoder& e, T& t) { describe(e, t); }
  static bool encode(const T& v, Json* j) {
    *j = Json::object();
    Encoder inner(j);
    // describe() takes a mutable reference because the decoder shares it; the encoder only reads.
    describe(inner, const_cast<T&>(v));
    return true;
  }

  // Inside lists and maps, and for present optionals, an empty value is still a value.
  template <class T>
  static bool encodeAlways(const T& v, Json* j) {
    if (!encode(v, j)) {
      if constexpr (std::is_same_v<T, std::string>) {
        *j = v;
      } else {
        *j = nullptr;
      }
    }
    return true;
  }

 private:
  Json* out_;
};

template <class T>
Json encodeValue(const T& v) {
  Json j = Json::object();
  Encoder::encode(v, &j);
  return j;
}

}  // namespace

Json toJson(const LoadTest& test) {
  return encodeValue(test);
}
Json toJson(const LoadTestSpec& spec) {
  return encodeValue(spec);
}
Json toJson(const LoadTestStatus& status) {
  return encodeValue(status);
}
Json toJson(const Summary& summary) {
  return encodeValue(summary);
}

Node nodeFromJson(const nlohmann::json& json) {
  switch (json.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return Node::scalar(Node::Kind::Null, "");
    case nlohmann::json::value_t::boolean:
      return Node::scalar(Node::Kind::Bool, json.get<bool>() ? "true" : "false");
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return Node::scalar(Node::Kind::Int, json.dump());
    case nlohmann::json::value_t::number_float:
      return Node::scalar(Node::Kind::Float, json.dump());
    case nlohmann::json::value_t::string:
      return Node::scalar(Node::Kind::String, json.get<std::string>());
    case nlohmann::json::value_t::array: {
      Node n = Node::sequence();
      for (const auto& item : json) {
        n.append(nodeFromJson(item));
      }
      return n;
    }
    case nlohmann::json::value_t::object: {
      Node n = Node::mapping();
      for (const auto& [k, v] : json.items()) {
        n.set(k, nodeFromJson(v));
      }
      return n;
    }
    case nlohmann::json::value_t::binary:
      break;
  }
  return Node::scalar(Node::Kind::Null, "");
}

Json nodeToJson(const Node& node) {
  switch (node.kind()) {
    case Node::Kind::Null:
      return nullptr;
    case Node::Kind::Bool: {
      const std::string& t = node.text();
      return t == "true" || t == "True" || t == "TRUE" || t == "yes" || t == "Yes" || t == "YES" ||
             t == "on" || t == "On" || t == "ON" || t == "y" || t == "Y";
    }
    case Node::Kind::Int: {
      std::string t = node.text();
      size_t o = t.find("0o");
      if (o != std::string::npos) {
        t.erase(o + 1, 1);  // YAML's 0o17 is C's 017
      }
      return static_cast<int64_t>(std::strtoll(t.c_str(), nullptr, 0));
    }
    case Node::Kind::Float:
      return std::strtod(node.text().c_str(), nullptr);
    case Node::Kind::String:
      return node.text();
    case Node::Kind::Sequence: {
      Json j = Json::array();
      for (const auto& item : node.items()) {
        j.push_back(nodeToJson(item));
      }
      return j;
    }
    case Node::Kind::Mapping: {
      Json j = Json::object();
      for (const auto& e : node.entries()) {
        j[e.key] = nodeToJson(e.value);
      }
      return j;
    }
  }
  return nullptr;
}

}  // namespace tokenstorm::core
