#include "http/protobuf.h"
#include "tokenstorm/core/base64.h"

#include <cstdint>
#include <ctime>
#include <string_view>
#include <vector>

#include "http/certs.h"

namespace tokenstorm::kts {

namespace {

using nlohmann::json;

constexpr int kMaxDepth = 16;
constexpr std::string_view kMagic("k8s\0", 4);

enum class T { kString, kBytes, kInt64, kBool, kMessage, kStringMap, kBytesMap, kTime };

struct Schema;
struct Field {
  uint32_t number;
  const char* name;
  T type;
  bool repeated = false;
  const Schema* message = nullptr;
};
struct Schema {
  std::vector<Field> fields;
};

// k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto and k8s.io/api/core/v1/generated.proto.
const Schema kOwnerReference{{{1, "kind", T::kString},
                              {3, "name", T::kString},
                              {4, "uid", T::kString},
                              {5, "apiVersion", T::kString},
                              {6, "controller", T::kBool},
                              {7, "blockOwnerDeletion", T::kBool}}};
const Schema kObjectMeta{{{1, "name", T::kString},
                          {2, "generateName", T::kString},
                          {3, "namespace", T::kString},
                          {5, "uid", T::kString},
                          {6, "resourceVersion", T::kString},
                          {7, "generation", T::kInt64},
                          {8, "creationTimestamp", T::kTime},
                          {9, "deletionTimestamp", T::kTime},
                          {10, "deletionGracePeriodSeconds", T::kInt64},
                          {11, "labels", T::kStringMap},
                          {12, "annotations", T::kStringMap},
                          {13, "ownerReferences", T::kMessage, true, &kOwnerReference},
                          {14, "finalizers", T::kString, true}}};
const Schema kNamespaceSpec{{{1, "finalizers", T::kString, true}}};
const Schema kNamespaceStatus{{{1, "phase", T::kString}}};
const Schema kNamespace{{{1, "metadata", T::kMessage, false, &kObjectMeta},
                         {2, "spec", T::kMessage, false, &kNamespaceSpec},
                         {3, "status", T::kMessage, false, &kNamespaceStatus}}};
const Schema kConfigMap{{{1, "metadata", T::kMessage, false, &kObjectMeta},
                         {2, "data", T::kStringMap},
                         {3, "binaryData", T::kBytesMap},
                         {4, "immutable", T::kBool}}};
const Schema kSecret{{{1, "metadata", T::kMessage, false, &kObjectMeta},
                      {2, "data", T::kBytesMap},
                      {3, "type", T::kString},
                      {4, "stringData", T::kStringMap},
                      {5, "immutable", T::kBool}}};
const Schema kObjectReference{{{1, "kind", T::kString},
                               {2, "namespace", T::kString},
                               {3, "name", T::kString},
                               {4, "uid", T::kString},
                               {5, "apiVersion", T::kString},
                               {6, "resourceVersion", T::kString},
                               {7, "fieldPath", T::kString}}};
const Schema kLocalObjectReference{{{1, "name", T::kString}}};
const Schema kServiceAccount{{{1, "metadata", T::kMessage, false, &kObjectMeta},
                              {2, "secrets", T::kMessage, true, &kObjectReference},
                              {3, "imagePullSecrets", T::kMessage, true, &kLocalObjectReference},
                              {4, "automountServiceAccountToken", T::kBool}}};

struct Reader {
  std::string_view data;

  bool varint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (data.empty()) {
        return false;
      }
      auto byte = static_cast<uint8_t>(data.front());
      data.remove_prefix(1);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;
  }
  bool bytes(std::string_view* out) {
    uint64_t n = 0;
    if (!varint(&n) || n > data.size()) {
      return false;
    }
    *out = data.substr(0, n);
    data.remove_prefix(n);
    return true;
  }
  bool skip(uint32_t wire_type) {
    uint64_t ignored = 0;
    std::string_view ignored_bytes;
    switch (wire_type) {
      case 0:
        return varint(&ignored);
      case 1:
        return data.size() >= 8 ? (data.remove_prefix(8), true) : false;
      case 2:
        return bytes(&ignored_bytes);
      case 5:
        return data.size() >= 4 ? (data.remove_prefix(4), true) : false;
      default:
        return false;  // groups (3, 4) are not used by Kubernetes
    }
  }
};

std::string rfc3339(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool decodeMessage(std::string_view data, const Schema& schema, int depth, json* out, std::string* error);

bool decodeField(Reader& r, const Field& f, uint32_t wire_type, int depth, json* out, std::string* error) {
  auto bad = [&](const std::string& what) {
    *error = std::string("field ") + f.name + ": " + what;
    return false;
  };
  bool varint_type = f.type == T::kInt64 || f.type == T::kBool;
  if (wire_type != (varint_type ? 0u : 2u)) {
    return bad("unexpected wire type " + std::to_string(wire_type));
  }
  json value;
  if (varint_type) {
    uint64_t v = 0;
    if (!r.varint(&v)) {
      return bad("truncated varint");
    }
    if (f.type == T::kBool) {
      value = v != 0;
    } else if (v == 0 && !f.repeated) {
      return true;  // omitempty
    } else {
      value = static_cast<int64_t>(v);
    }
  } else {
    std::string_view bytes;
    if (!r.bytes(&bytes)) {
      return bad("truncated length-delimited value");
    }
    switch (f.type) {
      case T::kString:
        if (bytes.empty() && !f.repeated) {
          return true;  // omitempty
        }
        value = std::string(bytes);
        break;
      case T::kBytes:
        value = core::encodeBase64(std::string(bytes));
        break;
      case T::kMessage:
        if (depth >= kMaxDepth) {
          return bad("nested too deeply");
        }
        if (!decodeMessage(bytes, *f.message, depth + 1, &value, error)) {
          return false;
        }
        break;
      case T::kTime: {
        Reader t{bytes};
        int64_t seconds = 0;
        while (!t.data.empty()) {
          uint64_t key = 0, v = 0;
          if (!t.varint(&key)) {
            return bad("truncated time");
          }
          if (key == (1 << 3)) {
            if (!t.varint(&v)) {
              return bad("truncated time");
            }
            seconds = static_cast<int64_t>(v);
          } else if (!t.skip(static_cast<uint32_t>(key & 7))) {
            return bad("malformed time");
          }
        }
        if (seconds == 0) {
          return true;  // the zero time is omitted in JSON
        }
        value = rfc3339(seconds);
        break;
      }
      case T::kStringMap:
      case T::kBytesMap: {
        Reader e{bytes};
        std::string key, val;
        while (!e.data.empty()) {
          uint64_t tag = 0;
          std::string_view part;
          if (!e.varint(&tag) || (tag & 7) != 2 || !e.bytes(&part)) {
            return bad("malformed map entry");
          }
          if ((tag >> 3) == 1) {
            key = std::string(part);
          } else if ((tag >> 3) == 2) {
            val = f.type == T::kBytesMap ? core::encodeBase64(std::string(part)) : std::string(part);
          }
        }
        if (!out->contains(f.name)) {
          (*out)[f.name] = json::object();
        }
        (*out)[f.name][key] = val;
        return true;
      }
      default:
        return bad("unexpected type");
    }
  }
  if (f.repeated) {
    if (!out->contains(f.name)) {
      (*out)[f.name] = json::array();
    }
    (*out)[f.name].push_back(std::move(value));
  } else {
    (*out)[f.name] = std::move(value);
  }
  return true;
}

bool decodeMessage(std::string_view data, const Schema& schema, int depth, json* out, std::string* error) {
  *out = json::object();
  Reader r{data};
  while (!r.data.empty()) {
    uint64_t key = 0;
    if (!r.varint(&key)) {
      *error = "truncated field key";
      return false;
    }
    auto number = static_cast<uint32_t>(key >> 3);
    auto wire_type = static_cast<uint32_t>(key & 7);
    const Field* field = nullptr;
    for (const auto& f : schema.fields) {
      if (f.number == number) {
        field = &f;
      }
    }
    if (field == nullptr) {
      if (!r.skip(wire_type)) {
        *error = "malformed field " + std::to_string(number);
        return false;
      }
      continue;
    }
    if (!decodeField(r, *field, wire_type, depth, out, error)) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<json> decodeKubernetesProtobuf(const std::string& body, std::string* error) {
  if (body.compare(0, kMagic.size(), kMagic) != 0) {
    *error = "the protobuf body does not start with the Kubernetes magic bytes \"k8s\\0\"";
    return std::nullopt;
  }
  Reader r{std::string_view(body).substr(kMagic.size())};
  std::string api_version, kind;
  std::string_view raw;
  while (!r.data.empty()) {
    uint64_t key = 0;
    std::string_view part;
    if (!r.varint(&key)) {
      *error = "malformed protobuf envelope";
      return std::nullopt;
    }
    if ((key & 7) == 2 && ((key >> 3) == 1 || (key >> 3) == 2)) {
      if (!r.bytes(&part)) {
        *error = "malformed protobuf envelope";
        return std::nullopt;
      }
      if ((key >> 3) == 2) {
        raw = part;
        continue;
      }
      Reader tm{part};
      while (!tm.data.empty()) {
        uint64_t k = 0;
        std::string_view s;
        if (!tm.varint(&k) || (k & 7) != 2 || !tm.bytes(&s)) {
          *error = "malformed protobuf typeMeta";
          return std::nullopt;
        }
        ((k >> 3) == 1 ? api_version : kind) = std::string(s);
      }
    } else if (!r.skip(static_cast<uint32_t>(key & 7))) {
      *error = "malformed protobuf envelope";
      return std::nullopt;
    }
  }
  const Schema* schema = nullptr;
  if (api_version == "v1" && kind == "Namespace") {
    schema = &kNamespace;
  } else if (api_version == "v1" && kind == "ConfigMap") {
    schema = &kConfigMap;
  } else if (api_version == "v1" && kind == "Secret") {
    schema = &kSecret;
  } else if (api_version == "v1" && kind == "ServiceAccount") {
    schema = &kServiceAccount;
  } else {
    *error =
        "kube-test-server decodes protobuf bodies only for v1 Namespace, ConfigMap, Secret and "
        "ServiceAccount, not " +
        api_version + " " + kind + "; send application/json";
    return std::nullopt;
  }
  json object;
  if (!decodeMessage(raw, *schema, 0, &object, error)) {
    *error = "malformed protobuf " + kind + ": " + *error;
    return std::nullopt;
  }
  json out = {{"apiVersion", api_version}, {"kind", kind}};
  out.update(object);
  return out;
}

}  // namespace tokenstorm::kts
