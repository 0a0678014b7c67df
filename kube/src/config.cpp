#include "tokenstorm/kube/config.h"

#include "tokenstorm/core/base64.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace tokenstorm::kube {
namespace {

constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

Expected<std::string> readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail("cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string folderOf(const std::string& path) {
  std::filesystem::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

std::string resolve(const std::string& folder, const std::string& path) {
  if (path.empty() || path.front() == '/') {
    return path;
  }
  return (std::filesystem::path(folder) / path).lexically_normal().string();
}

// One named entry of clusters/users/contexts, with where it came from.
struct Entry {
  YAML::Node body;    // the "cluster"/"user"/"context" mapping
  std::string file;   // the kubeconfig that defined it
  std::string field;  // "clusters[2].cluster"
};

struct Merged {
  std::map<std::string, Entry> clusters, users, contexts;
  std::string currentContext;
  std::string currentContextFile;
};

// Error helper: "kubeconfig FILE: FIELD: MESSAGE".
Failure<std::string> error(const std::string& file, const std::string& field, const std::string& message) {
  return fail("kubeconfig " + file + ": " + (field.empty() ? "" : field + ": ") + message);
}

std::string describe(const YAML::Node& node) {
  if (node.IsMap()) {
    return "a mapping";
  }
  if (node.IsSequence()) {
    return "a list";
  }
  if (node.IsNull()) {
    return "null";
  }
  return "\"" + node.Scalar() + "\"";
}

// A string field: absent/null is "", a scalar is its text, anything else an error.
Expected<std::string> stringField(const YAML::Node& map, const char* key, const std::string& file,
                                  const std::string& field) {
  YAML::Node value = map[key];
  if (!value || value.IsNull()) {
    return std::string();
  }
  if (!value.IsScalar()) {
    return error(file, field + "." + key, "expected a string, found " + describe(value));
  }
  return value.Scalar();
}

Expected<bool> boolField(const YAML::Node& map, const char* key, const std::string& file,
                         const std::string& field) {
  YAML::Node value = map[key];
  if (!value || value.IsNull()) {
    return false;
  }
  if (value.IsScalar()) {
    const std::string& s = value.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      return false;
    }
  }
  return error(file, field + "." + key, "expected true or false, found " + describe(value));
}

// Reads one kubeconfig document into `merged`, keeping entries already there (first file wins).
Expected<Ok> mergeDocument(const std::string& yaml, const std::string& file, Merged* merged) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return error(file, "",
                 "line " + std::to_string(e.mark.line + 1) + " column " + std::to_string(e.mark.column + 1) +
                     ": " + e.msg);
  }
  if (!root || root.IsNull()) {
    return Ok{};  // an empty file adds nothing, as kubectl treats it
  }
  if (!root.IsMap()) {
    return error(file, "", "expected a mapping, found " + describe(root));
  }
  const std::array<std::pair<const char*, const char*>, 3> lists = {
      {{"clusters", "cluster"}, {"users", "user"}, {"contexts", "context"}}};
  for (const auto& [list, item] : lists) {
    YAML::Node entries = root[list];
    if (!entries || entries.IsNull()) {
      continue;
    }
    if (!entries.IsSequence()) {
      return error(file, list, "expected a list, found " + describe(entries));
    }
    auto& target = std::string(list) == "clusters" ? merged->clusters
                   : std::string(list) == "users"  ? merged->users
                                                   : merged->contexts;
    for (size_t i = 0; i < entries.size(); ++i) {
      std::string field = std::string(list) + "[" + std::to_string(i) + "]";
      YAML::Node entry = entries[i];
      if (!entry.IsMap()) {
        return error(file, field, "expected a mapping, found " + describe(entry));
      }
      auto name = stringField(entry, "name", file, field);
      if (!name) {
        return fail(name.error());
      }
      if (name->empty()) {
        return error(file, field + ".name", "missing");
      }
      YAML::Node body = entry[item];
      if (body && !body.IsNull() && !body.IsMap()) {
        return error(file, field + "." + item, "expected a mapping, found " + describe(body));
      }
      target.emplace(*name, Entry{body ? body : YAML::Node(YAML::NodeType::Map), file, field + "." + item});
    }
  }
  auto current = stringField(root, "current-context", file, "");
  if (!current) {
    return fail(current.error());
  }
  if (merged->currentContext.empty() && !current->empty()) {
    merged->currentContext = *current;
    merged->currentContextFile = file;
  }
  return Ok{};
}

// A PEM (or token) given as base64 data or as a file; data wins, as in client-go.
Expected<std::string> dataOrFile(const Entry& e, const char* data_key, const char* file_key) {
  auto data = stringField(e.body, data_key, e.file, e.field);
  if (!data) {
    return fail(data.error());
  }
  if (!data->empty()) {
    auto decoded = core::decodeBase64(*data);
    if (!decoded) {
      return error(e.file, e.field + "." + data_key, "not base64");
    }
    return *decoded;
  }
  auto path = stringField(e.body, file_key, e.file, e.field);
  if (!path) {
    return fail(path.error());
  }
  if (path->empty()) {
    return std::string();
  }
  auto content = readWholeFile(resolve(folderOf(e.file), *path));
  if (!content) {
    return error(e.file, e.field + "." + file_key, content.error());
  }
  return *content;
}

Expected<ExecConfig> readExec(const Entry& user, const YAML::Node& exec) {
  std::string field = user.field + ".exec";
  const std::string& file = user.file;
  if (!exec.IsMap()) {
    return error(file, field, "expected a mapping, found " + describe(exec));
  }
  ExecConfig out;
  auto api = stringField(exec, "apiVersion", file, field);
  auto command = stringField(exec, "command", file, field);
  auto hint = stringField(exec, "installHint", file, field);
  auto cluster_info = boolField(exec, "provideClusterInfo", file, field);
  for (const auto* r : {&api, &command, &hint}) {
    if (!*r) {
      return fail(r->error());
    }
  }
  if (!cluster_info) {
    return fail(cluster_info.error());
  }
  if (*api != "client.authentication.k8s.io/v1" && *api != "client.authentication.k8s.io/v1beta1") {
    return error(
        file, field + ".apiVersion",
        api->empty() ? "missing" : "\"" + *api + "\" is not supported (use client.authentication.k8s.io/v1)");
  }
  if (command->empty()) {
    return error(file, field + ".command", "missing");
  }
  out.apiVersion = *api;
  // A command with a slash but not absolute is relative to the kubeconfig (client-go's rule); a bare name
  // is looked up on PATH.
  out.command = command->find('/') == std::string::npos ? *command : resolve(folderOf(file), *command);
  out.installHint = *hint;
  out.provideClusterInfo = *cluster_info;
  if (YAML::Node args = exec["args"]; args && !args.IsNull()) {
    if (!args.IsSequence()) {
      return error(file, field + ".args", "expected a list, found " + describe(args));
    }
    for (size_t i = 0; i < args.size(); ++i) {
      if (!args[i].IsScalar()) {
        return error(file, field + ".args[" + std::to_string(i) + "]",
                     "expected a string, found " + describe(args[i]));
      }
      out.args.push_back(args[i].Scalar());
    }
  }
  if (YAML::Node env = exec["env"]; env && !env.IsNull()) {
    if (!env.IsSequence()) {
      return error(file, field + ".env", "expected a list, found " + describe(env));
    }
    for (size_t i = 0; i < env.size(); ++i) {
      std::string item = field + ".env[" + std::to_string(i) + "]";
      if (!env[i].IsMap()) {
        return error(file, item, "expected a mapping, found " + describe(env[i]));
      }
      auto name = stringField(env[i], "name", file, item);
      auto value = stringField(env[i], "value", file, item);
      if (!name) {
        return fail(name.error());
      }
      if (!value) {
        return fail(value.error());
      }
      if (name->empty()) {
        return error(file, item + ".name", "missing");
      }
      out.env.emplace_back(*name, *value);
    }
  }
  return out;
}

Expected<Ok> applyUser(const Entry& user, ClusterConfig* config) {
  for (const char* refused : {"username", "password", "auth-provider", "as", "as-groups", "as-uid"}) {
    if (YAML::Node n = user.body[refused]; n && !n.IsNull()) {
      return error(user.file, user.field + "." + refused,
                   "not supported (use a token, a client certificate or exec)");
    }
  }
  auto token = stringField(user.body, "token", user.file, user.field);
  auto token_file = stringField(user.body, "tokenFile", user.file, user.field);
  if (!token) {
    return fail(token.error());
  }
  if (!token_file) {
    return fail(token_file.error());
  }
  config->bearerToken = *token;
  config->tokenFile = resolve(folderOf(user.file), *token_file);
  auto cert = dataOrFile(user, "client-certificate-data", "client-certificate");
  if (!cert) {
    return fail(cert.error());
  }
  auto key = dataOrFile(user, "client-key-data", "client-key");
  if (!key) {
    return fail(key.error());
  }
  if (cert->empty() != key->empty()) {
    return error(
        user.file, user.field,
        cert->empty() ? "client-key without client-certificate" : "client-certificate without client-key");
  }
  config->clientCertPem = *cert;
  config->clientKeyPem = *key;
  if (YAML::Node exec = user.body["exec"]; exec && !exec.IsNull()) {
    auto parsed = readExec(user, exec);
    if (!parsed) {
      return fail(parsed.error());
    }
    config->exec = std::move(*parsed);
  }
  return Ok{};
}

Expected<ClusterConfig> resolveContext(const Merged& merged, const std::string& files,
                                       const std::string& wanted) {
  std::string name = wanted.empty() ? merged.currentContext : wanted;
  if (name.empty()) {
    return error(files, "", "current-context is not set and no context was named");
  }
  auto ctx = merged.contexts.find(name);
  if (ctx == merged.contexts.end()) {
    return error(wanted.empty() ? merged.currentContextFile : files, wanted.empty() ? "current-context" : "",
                 "context \"" + name + "\" not found");
  }
  const Entry& c = ctx->second;
  auto cluster_name = stringField(c.body, "cluster", c.file, c.field);
  auto user_name = stringField(c.body, "user", c.file, c.field);
  auto ns = stringField(c.body, "namespace", c.file, c.field);
  for (const auto* r : {&cluster_name, &user_name, &ns}) {
    if (!*r) {
      return fail(r->error());
    }
  }
  if (cluster_name->empty()) {
    return error(c.file, c.field + ".cluster", "missing");
  }
  auto cluster = merged.clusters.find(*cluster_name);
  if (cluster == merged.clusters.end()) {
    return error(c.file, c.field + ".cluster", "cluster \"" + *cluster_name + "\" not found");
  }
  ClusterConfig config;
  config.source = "kubeconfig " + files + " context " + name;
  config.ns = ns->empty() ? "default" : *ns;
  const Entry& k = cluster->second;
  auto server = stringField(k.body, "server", k.file, k.field);
  if (!server) {
    return fail(server.error());
  }
  if (server->empty()) {
    return error(k.file, k.field + ".server", "missing");
  }
  if (server->rfind("https://", 0) != 0 && server->rfind("http://", 0) != 0) {
    return error(k.file, k.field + ".server", "\"" + *server + "\" is not an http:// or https:// URL");
  }
  config.server = *server;
  while (config.server.size() > 8 && config.server.back() == '/') {
    config.server.pop_back();
  }
  auto ca = dataOrFile(k, "certificate-authority-data", "certificate-authority");
  if (!ca) {
    return fail(ca.error());
  }
  config.caPem = *ca;
  auto insecure = boolField(k.body, "insecure-skip-tls-verify", k.file, k.field);
  if (!insecure) {
    return fail(insecure.error());
  }
  config.insecureSkipTlsVerify = *insecure;
  if (!user_name->empty()) {
    auto user = merged.users.find(*user_name);
    if (user == merged.users.end()) {
      return error(c.file, c.field + ".user", "user \"" + *user_name + "\" not found");
    }
    auto applied = applyUser(user->second, &config);
    if (!applied) {
      return fail(applied.error());
    }
  }
  return config;
}

std::string joinPaths(const std::vector<std::string>& paths) {
  std::string out;
  for (const auto& p : paths) {
    out += (out.empty() ? "" : ":") + p;
  }
  return out;
}

}  // namespace

EnvLookup processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
      return std::nullopt;
    }
    return std::string(value);
  };
}

Expected<ClusterConfig> parseKubeconfig(const std::string& yaml, const std::string& path,
                                        const std::string& context) {
  Merged merged;
  auto ok = mergeDocument(yaml, path, &merged);
  if (!ok) {
    return fail(ok.error());
  }
  return resolveContext(merged, path, context);
}

Expected<ClusterConfig> loadKubeconfigFiles(const std::vector<std::string>& paths,
                                            const std::string& context) {
  Merged merged;
  std::vector<std::string> read;
  for (const auto& path : paths) {
    if (path.empty()) {
      continue;
    }
    std::error_code ec;
    if (paths.size() > 1 && !std::filesystem::exists(path, ec)) {
      continue;  // kubectl skips missing files of a KUBECONFIG list
    }
    auto text = readWholeFile(path);
    if (!text) {
      return fail("kubeconfig " + text.error());
    }
    auto ok = mergeDocument(*text, path, &merged);
    if (!ok) {
      return fail(ok.error());
    }
    read.push_back(path);
  }
  if (read.empty()) {
    return fail("kubeconfig: none of " + joinPaths(paths) + " exists");
  }
  return resolveContext(merged, joinPaths(read), context);
}

Expected<ClusterConfig> loadKubeconfig(const EnvLookup& env, const std::string& context) {
  if (auto list = env("KUBECONFIG"); list && !list->empty()) {
    std::vector<std::string> paths;
    std::stringstream in(*list);
    for (std::string item; std::getline(in, item, ':');) {
      if (!item.empty()) {
        paths.push_back(item);
      }
    }
    return loadKubeconfigFiles(paths, context);
  }
  auto home = env("HOME");
  if (!home || home->empty()) {
    return fail("kubeconfig: KUBECONFIG and HOME are both unset");
  }
  return loadKubeconfigFiles({*home + "/.kube/config"}, context);
}

Expected<ClusterConfig> loadInCluster(const EnvLookup& env) {
  auto host = env("KUBERNETES_SERVICE_HOST");
  auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return fail("in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  std::string dir = env("KTS_ROOT").value_or("") + kServiceAccountDir;
  ClusterConfig config;
  config.source = "in-cluster";
  bool v6 = host->find(':') != std::string::npos && host->front() != '[';
  config.server = "https://" + (v6 ? "[" + *host + "]" : *host) + ":" + *port;
  config.tokenFile = dir + "/token";
  auto token = readWholeFile(config.tokenFile);
  if (!token) {
    return fail("in-cluster: token: " + token.error());
  }
  auto ca = readWholeFile(dir + "/ca.crt");
  if (!ca) {
    return fail("in-cluster: ca.crt: " + ca.error());
  }
  config.caPem = *ca;
  if (auto ns = readWholeFile(dir + "/namespace"); ns && !ns->empty()) {
    config.ns = *ns;
    while (!config.ns.empty() && (config.ns.back() == '\n' || config.ns.back() == ' ')) {
      config.ns.pop_back();
    }
  }
  return config;
}

Expected<ClusterConfig> loadDefaultConfig(const EnvLookup& env, const std::string& context) {
  if (auto list = env("KUBECONFIG"); list && !list->empty()) {
    return loadKubeconfig(env, context);
  }
  if (auto host = env("KUBERNETES_SERVICE_HOST"); host && !host->empty()) {
    return loadInCluster(env);
  }
  return loadKubeconfig(env, context);
}

}  // namespace tokenstorm::kube
