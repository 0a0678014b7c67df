#include "pod_setup.h"
#include "tokenstorm/core/base64.h"

#include <fstream>
#include <system_error>

#include "util.h"

namespace tokenstorm::kts {

namespace fs = std::filesystem;

namespace {

bool optionalFlag(const nlohmann::json& ref) {
  return member(ref, "optional").is_boolean() && ref["optional"].get<bool>();
}

void put(EnvList& env, const std::string& name, const std::string& value) {
  for (auto& [key, existing] : env) {
    if (key == name) {
      existing = value;
      return;
    }
  }
  env.emplace_back(name, value);
}

std::string kindNoun(const std::string& kind) {
  return kind == "Secret" ? "secret" : "configmap";
}

// The value of `key` in a ConfigMap (data, binaryData) or Secret (data base64, stringData).
std::optional<std::string> keyValue(const std::string& kind, const nlohmann::json& obj,
                                    const std::string& key) {
  const auto& data = member(obj, "data");
  if (data.is_object() && data.contains(key) && data[key].is_string()) {
    if (kind == "Secret") {
      return core::decodeBase64(data[key].get<std::string>());
    }
    return data[key].get<std::string>();
  }
  const char* other = kind == "Secret" ? "stringData" : "binaryData";
  const auto& more = member(obj, other);
  if (more.is_object() && more.contains(key) && more[key].is_string()) {
    if (kind == "Secret") {
      return more[key].get<std::string>();
    }
    return core::decodeBase64(more[key].get<std::string>());
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> allKeys(const std::string& kind, const nlohmann::json& obj) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* field : {"data", kind == "Secret" ? "stringData" : "binaryData"}) {
    const auto& data = member(obj, field);
    if (!data.is_object()) {
      continue;
    }
    for (const auto& [key, value] : data.items()) {
      if (auto decoded = keyValue(kind, obj, key)) {
        out.emplace_back(key, *decoded);
      }
    }
  }
  return out;
}

// A path inside a volume or the pod root: relative, no "..", no empty parts that escape.
bool safeRelative(const std::string& path) {
  if (path.empty() || path.front() == '/') {
    return false;
  }
  for (const auto& part : fs::path(path)) {
    if (part == "..") {
      return false;
    }
  }
  return true;
}

std::optional<SetupError> writeFile(const fs::path& path, const std::string& content) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) {
    return SetupError{"CreateContainerConfigError", "cannot write " + path.string()};
  }
  return std::nullopt;
}

SetupError mountError(const std::string& volume, const std::string& message) {
  return {"ContainerCreating", "MountVolume.SetUp failed for volume \"" + volume + "\" : " + message};
}

// Writes a ConfigMap's or Secret's keys (all, or `items`) into `dir`.
std::optional<SetupError> writeKeys(const std::string& volume, const std::string& kind, const std::string& ns,
                                    const std::string& name, const nlohmann::json& items, bool optional,
                                    const fs::path& dir, const ObjectLookup& lookup) {
  std::optional<nlohmann::json> obj = lookup(kind, ns, name);
  if (!obj) {
    if (optional) {
      return std::nullopt;
    }
    return mountError(volume, kindNoun(kind) + " \"" + name + "\" not found");
  }
  if (!items.is_array() || items.empty()) {
    for (const auto& [key, value] : allKeys(kind, *obj)) {
      if (!safeRelative(key)) {
        continue;
      }
      if (auto error = writeFile(dir / key, value)) {
        return error;
      }
    }
    return std::nullopt;
  }
  for (const auto& item : items) {
    const std::string key = stringAt(item, {"key"});
    const std::string path = stringAt(item, {"path"}).empty() ? key : stringAt(item, {"path"});
    if (!safeRelative(path)) {
      return mountError(volume, "invalid path \"" + path + "\"");
    }
    auto value = keyValue(kind, *obj, key);
    if (!value) {
      if (optional) {
        continue;
      }
      return mountError(volume, "configmap references non-existent config key: " + key);
    }
    if (auto error = writeFile(dir / path, *value)) {
      return error;
    }
  }
  return std::nullopt;
}

std::optional<SetupError> writeDownwardApi(const std::string& volume, const nlohmann::json& pod,
                                           const nlohmann::json& items, const fs::path& dir,
                                           const std::string& node_name) {
  for (const auto& item : items.is_array() ? items : nlohmann::json::array()) {
    const std::string path = stringAt(item, {"path"});
    if (!safeRelative(path)) {
      return mountError(volume, "invalid path \"" + path + "\"");
    }
    std::string value;
    if (item.contains("fieldRef")) {
      const std::string fieldPath = stringAt(item, {"fieldRef", "fieldPath"});
      if (fieldPath == "metadata.labels" || fieldPath == "metadata.annotations") {
        const auto& map =
            member(member(pod, "metadata"), fieldPath == "metadata.labels" ? "labels" : "annotations");
        if (map.is_object()) {
          for (const auto& [key, v] : map.items()) {  // nlohmann keeps keys sorted
            value +=
                key + "=" + nlohmann::json(v.is_string() ? v.get<std::string>() : v.dump()).dump() + "\n";
          }
        }
      } else if (auto field = podFieldValue(pod, fieldPath, node_name)) {
        value = *field;
      } else {
        return mountError(volume, "unsupported fieldPath \"" + fieldPath + "\"");
      }
    }
    if (auto error = writeFile(dir / path, value)) {
      return error;
    }
  }
  return std::nullopt;
}

// Replaces whatever is at `link` by a symlink to `target` (parents created).
void linkInto(const fs::path& link, const fs::path& target) {
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  if (fs::is_symlink(fs::symlink_status(link, ec))) {
    fs::remove(link, ec);
  } else if (fs::exists(link, ec)) {
    return;  // a directory made by a deeper mount: leave it
  }
  fs::create_directory_symlink(target, link, ec);
}

}  // namespace

fs::path podDirectory(const fs::path& data_dir, const std::string& uid) {
  return data_dir / "pods" / uid;
}

fs::path containerLogPath(const fs::path& data_dir, const std::string& uid, const std::string& container,
                          int64_t restart_count) {
  return podDirectory(data_dir, uid) / "logs" / container / (std::to_string(restart_count) + ".log");
}

std::optional<std::string> podFieldValue(const nlohmann::json& pod, const std::string& field_path,
                                         const std::string& node_name) {
  const auto& metadata = member(pod, "metadata");
  if (field_path == "metadata.name") {
    return stringAt(metadata, {"name"});
  }
  if (field_path == "metadata.namespace") {
    return stringAt(metadata, {"namespace"});
  }
  if (field_path == "metadata.uid") {
    return stringAt(metadata, {"uid"});
  }
  if (field_path == "spec.nodeName") {
    const std::string bound = stringAt(pod, {"spec", "nodeName"});
    return bound.empty() ? node_name : bound;
  }
  if (field_path == "spec.serviceAccountName") {
    const std::string account = stringAt(pod, {"spec", "serviceAccountName"});
    return account.empty() ? "default" : account;
  }
  if (field_path == "status.podIP" || field_path == "status.hostIP" || field_path == "status.podIPs" ||
      field_path == "status.hostIPs") {
    return "127.0.0.1";
  }
  for (const char* map : {"labels", "annotations"}) {
    const std::string prefix = std::string("metadata.") + map + "[";
    if (field_path.rfind(prefix, 0) == 0 && field_path.size() > prefix.size() + 3 &&
        field_path.back() == ']') {
      const char quote = field_path[prefix.size()];
      const size_t end = field_path.size() - 2;
      if ((quote != '\'' && quote != '"') || field_path[end] != quote) {
        return std::nullopt;
      }
      const std::string key = field_path.substr(prefix.size() + 1, end - prefix.size() - 1);
      return stringAt(metadata, {map, key.c_str()});
    }
  }
  return std::nullopt;
}

std::string expandReferences(const std::string& text, const EnvList& env) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i++];
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (text[i + 1] == '(') {
      const size_t close = text.find(')', i + 2);
      if (close != std::string::npos) {
        const std::string name = text.substr(i + 2, close - i - 2);
        const std::string* value = nullptr;
        for (const auto& [key, v] : env) {
          if (key == name) {
            value = &v;
          }
        }
        if (value != nullptr) {
          out += *value;
          i = close + 1;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

std::pair<std::string, std::string> serverHostPort(const std::string& url) {
  std::string rest = url;
  std::string port = "443";
  if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
    port = "80";
  } else if (rest.rfind("https://", 0) == 0) {
    rest = rest.substr(8);
  }
  rest = rest.substr(0, rest.find('/'));
  std::string host = rest;
  if (!rest.empty() && rest.front() == '[') {  // [::1]:6443
    const size_t close = rest.find(']');
    host = rest.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < rest.size() && rest[close + 1] == ':') {
      port = rest.substr(close + 2);
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  return {host, port};
}

nlohmann::json podKubeconfig(const PodContext& context, const std::string& ns) {
  nlohmann::json cluster = {{"server", context.serverUrl}};
  if (!context.caPem.empty()) {
    cluster["certificate-authority-data"] = core::encodeBase64(context.caPem);
  }
  return {{"apiVersion", "v1"},
          {"kind", "Config"},
          {"clusters", nlohmann::json::array({{{"name", "kts"}, {"cluster", cluster}}})},
          {"users", nlohmann::json::array({{{"name", "kts"}, {"user", {{"token", context.token}}}}})},
          {"contexts",
           nlohmann::json::array(
               {{{"name", "kts"}, {"context", {{"cluster", "kts"}, {"user", "kts"}, {"namespace", ns}}}}})},
          {"current-context", "kts"},
          {"preferences", nlohmann::json::object()}};
}

std::optional<SetupError> buildEnvironment(const nlohmann::json& pod, const nlohmann::json& container,
                                           const fs::path& pod_dir, const PodContext& context,
                                           const ObjectLookup& lookup, EnvList* env) {
  const std::string ns = stringAt(pod, {"metadata", "namespace"});
  EnvList out = context.hostEnv;
  const std::string hostname = stringAt(pod, {"spec", "hostname"});
  put(out, "HOSTNAME", hostname.empty() ? stringAt(pod, {"metadata", "name"}) : hostname);
  put(out, "HOME", (pod_dir / "work").string());
  put(out, "TMPDIR", (pod_dir / "tmp").string());
  put(out, "KTS_ROOT", (pod_dir / "root").string());
  put(out, "KTS_POD_DIR", pod_dir.string());
  put(out, "KUBECONFIG", (pod_dir / "kubeconfig").string());
  const auto [host, port] = serverHostPort(context.serverUrl);
  put(out, "KUBERNETES_SERVICE_HOST", host);
  put(out, "KUBERNETES_SERVICE_PORT", port);
  put(out, "KUBERNETES_SERVICE_PORT_HTTPS", port);
  put(out, "KUBERNETES_PORT", "tcp://" + host + ":" + port);

  for (const auto& from : arrayAt(container, {"envFrom"})) {
    const std::string prefix = stringAt(from, {"prefix"});
    for (const char* refKey : {"configMapRef", "secretRef"}) {
      const auto& ref = member(from, refKey);
      if (!ref.is_object()) {
        continue;
      }
      const std::string kind = std::string(refKey) == "secretRef" ? "Secret" : "ConfigMap";
      const std::string name = stringAt(ref, {"name"});
      std::optional<nlohmann::json> obj = lookup(kind, ns, name);
      if (!obj) {
        if (optionalFlag(ref)) {
          continue;
        }
        return SetupError{"CreateContainerConfigError", kindNoun(kind) + " \"" + name + "\" not found"};
      }
      for (const auto& [key, value] : allKeys(kind, *obj)) {
        put(out, prefix + key, value);
      }
    }
  }

  for (const auto& var : arrayAt(container, {"env"})) {
    const std::string name = stringAt(var, {"name"});
    if (name.empty()) {
      continue;
    }
    if (!var.contains("valueFrom")) {
      put(out, name, expandReferences(stringAt(var, {"value"}), out));
      continue;
    }
    const auto& from = var["valueFrom"];
    if (from.contains("fieldRef")) {
      const std::string fieldPath = stringAt(from, {"fieldRef", "fieldPath"});
      auto value = podFieldValue(pod, fieldPath, context.nodeName);
      if (!value) {
        return SetupError{"CreateContainerConfigError",
                          "env " + name + ": unsupported fieldPath \"" + fieldPath + "\""};
      }
      put(out, name, *value);
      continue;
    }
    if (from.contains("resourceFieldRef")) {
      // The quantity as written in the container's limits (or requests); "0" when unset. Divisors are
      // not applied.
      const std::string resource = stringAt(from, {"resourceFieldRef", "resource"});
      const size_t dot = resource.find('.');
      std::string value;
      if (dot != std::string::npos) {
        const std::string section = resource.substr(0, dot);
        const std::string key = resource.substr(dot + 1);
        value = stringAt(container, {"resources", section.c_str(), key.c_str()});
      }
      put(out, name, value.empty() ? "0" : value);
      continue;
    }
    for (const char* refKey : {"configMapKeyRef", "secretKeyRef"}) {
      const auto& ref = member(from, refKey);
      if (!ref.is_object()) {
        continue;
      }
      const std::string kind = std::string(refKey) == "secretKeyRef" ? "Secret" : "ConfigMap";
      const std::string objName = stringAt(ref, {"name"});
      const std::string key = stringAt(ref, {"key"});
      std::optional<nlohmann::json> obj = lookup(kind, ns, objName);
      if (!obj) {
        if (optionalFlag(ref)) {
          break;
        }
        return SetupError{"CreateContainerConfigError", kindNoun(kind) + " \"" + objName + "\" not found"};
      }
      auto value = keyValue(kind, *obj, key);
      if (!value) {
        if (optionalFlag(ref)) {
          break;
        }
        return SetupError{"CreateContainerConfigError",
                          "couldn't find key " + key + " in " + kind + " " + ns + "/" + objName};
      }
      put(out, name, *value);
    }
  }
  *env = std::move(out);
  return std::nullopt;
}

std::optional<SetupError> preparePodFiles(const nlohmann::json& pod, const fs::path& pod_dir,
                                          const PodContext& context, const ObjectLookup& lookup) {
  const std::string ns = stringAt(pod, {"metadata", "namespace"});
  std::error_code ec;
  for (const char* dir : {"root", "volumes", "work", "tmp", "logs"}) {
    fs::create_directories(pod_dir / dir, ec);
    if (ec) {
      return SetupError{"CreateContainerConfigError",
                        "cannot create " + (pod_dir / dir).string() + ": " + ec.message()};
    }
  }
  if (auto error = writeFile(pod_dir / "kubeconfig", podKubeconfig(context, ns).dump(2) + "\n")) {
    return error;
  }

  const auto& spec = member(pod, "spec");
  for (const auto& volume : arrayAt(spec, {"volumes"})) {
    const std::string name = stringAt(volume, {"name"});
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      continue;
    }
    const fs::path dir = pod_dir / "volumes" / name;
    fs::create_directories(dir, ec);
    std::optional<SetupError> error;
    if (const auto& cm = member(volume, "configMap"); cm.is_object()) {
      error = writeKeys(name, "ConfigMap", ns, stringAt(cm, {"name"}), member(cm, "items"), optionalFlag(cm),
                        dir, lookup);
    } else if (const auto& secret = member(volume, "secret"); secret.is_object()) {
      error = writeKeys(name, "Secret", ns, stringAt(secret, {"secretName"}), member(secret, "items"),
                        optionalFlag(secret), dir, lookup);
    } else if (const auto& downward = member(volume, "downwardAPI"); downward.is_object()) {
      error = writeDownwardApi(name, pod, member(downward, "items"), dir, context.nodeName);
    } else if (const auto& projected = member(volume, "projected"); projected.is_object()) {
      for (const auto& source : arrayAt(projected, {"sources"})) {
        if (const auto& s = member(source, "configMap"); s.is_object()) {
          error = writeKeys(name, "ConfigMap", ns, stringAt(s, {"name"}), member(s, "items"), optionalFlag(s),
                            dir, lookup);
        } else if (const auto& s2 = member(source, "secret"); s2.is_object()) {
          error = writeKeys(name, "Secret", ns, stringAt(s2, {"name"}), member(s2, "items"), optionalFlag(s2),
                            dir, lookup);
        } else if (const auto& s3 = member(source, "downwardAPI"); s3.is_object()) {
          error = writeDownwardApi(name, pod, member(s3, "items"), dir, context.nodeName);
        } else if (const auto& s4 = member(source, "serviceAccountToken"); s4.is_object()) {
          const std::string path = stringAt(s4, {"path"}).empty() ? "token" : stringAt(s4, {"path"});
          error = safeRelative(path) ? writeFile(dir / path, context.token)
                                     : mountError(name, "invalid path \"" + path + "\"");
        }
        if (error) {
          break;
        }
      }
    }
    if (error) {
      return error;
    }
  }

  const auto& automount = member(spec, "automountServiceAccountToken");
  if (!(automount.is_boolean() && !automount.get<bool>())) {
    const fs::path dir = pod_dir / "volumes" / "kube-api-access";
    for (const auto& [file, content] : {std::pair<const char*, std::string>{"token", context.token},
                                        {"ca.crt", context.caPem},
                                        {"namespace", ns}}) {
      if (auto error = writeFile(dir / file, content)) {
        return error;
      }
    }
    linkInto(pod_dir / "root/var/run/secrets/kubernetes.io/serviceaccount", dir);
  }

  for (const char* list : {"initContainers", "containers"}) {
    for (const auto& container : arrayAt(spec, {list})) {
      for (const auto& mount : arrayAt(container, {"volumeMounts"})) {
        const std::string name = stringAt(mount, {"name"});
        std::string mountPath = stringAt(mount, {"mountPath"});
        const std::string subPath = stringAt(mount, {"subPath"});
        while (!mountPath.empty() && mountPath.front() == '/') {
          mountPath.erase(0, 1);
        }
        if (!safeRelative(mountPath) || name.empty() || name.find('/') != std::string::npos ||
            (!subPath.empty() && !safeRelative(subPath))) {
          continue;
        }
        fs::path target = pod_dir / "volumes" / name;
        fs::create_directories(target, ec);
        if (!subPath.empty()) {
          target /= subPath;
        }
        linkInto(pod_dir / "root" / mountPath, target);
      }
    }
  }
  return std::nullopt;
}

}  // namespace tokenstorm::kts
