#include "tokenstorm/kube/credentials.h"

#include "tokenstorm/core/base64.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

extern char** environ;

namespace tokenstorm::kube {

TokenSource::TokenSource(std::string path, const core::Clock& clock, core::MonoNanos refresh_ns)
    : path_(std::move(path)), clock_(clock), refresh_ns_(refresh_ns) {}

Expected<std::string> TokenSource::token() {
  std::lock_guard<std::mutex> lock(mutex_);
  core::MonoNanos now = clock_.monotonicNanos();
  if (token_ && !stale_ && now - read_at_ < refresh_ns_) {
    return *token_;
  }
  std::ifstream in(path_, std::ios::binary);
  std::ostringstream text;
  if (in) {
    text << in.rdbuf();
  }
  std::string value = text.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
    value.pop_back();
  }
  ++reads_;
  if (!in || value.empty()) {
    if (token_) {
      return *token_;  // keep the last good token; the file may be mid-rotation
    }
    return fail("token file " + path_ + ": " + (in ? "empty" : std::strerror(errno)));
  }
  token_ = value;
  read_at_ = now;
  stale_ = false;
  return value;
}

void TokenSource::invalidate() {
  std::lock_guard<std::mutex> lock(mutex_);
  stale_ = true;
}

uint64_t TokenSource::reads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return reads_;
}

Expected<std::string> TokenFileAuth::authorization() {
  auto token = source_.token();
  if (!token) {
    return fail(token.error());
  }
  return "Bearer " + *token;
}

std::optional<std::chrono::system_clock::time_point> parseRfc3339(const std::string& text) {
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) {
    return std::nullopt;
  }
  int64_t nanos = 0;
  if (*rest == '.') {
    ++rest;
    int64_t scale = 100'000'000;
    if (!std::isdigit(static_cast<unsigned char>(*rest))) {
      return std::nullopt;
    }
    while (std::isdigit(static_cast<unsigned char>(*rest))) {
      nanos += (*rest - '0') * scale;
      scale /= 10;
      ++rest;
    }
  }
  int64_t offset_s = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int sign = *rest == '-' ? -1 : 1;
    int hh = 0;
    int mm = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2) {
      return std::nullopt;
    }
    offset_s = sign * (hh * 3600 + mm * 60);
    rest += 6;
  } else {
    return std::nullopt;
  }
  if (*rest != '\0') {
    return std::nullopt;
  }
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm) - offset_s);
  return at +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(nanos));
}

Expected<ExecCredential> parseExecCredential(const std::string& text, const std::string& api_version) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return fail("exec plugin: output is not a JSON object");
  }
  if (doc.value("kind", "") != "ExecCredential") {
    return fail("exec plugin: kind is \"" + doc.value("kind", "") + "\", want ExecCredential");
  }
  if (doc.value("apiVersion", "") != api_version) {
    return fail("exec plugin: apiVersion is \"" + doc.value("apiVersion", "") + "\", want " + api_version);
  }
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_object()) {
    return fail("exec plugin: status missing");
  }
  ExecCredential out;
  auto str = [&](const char* key) -> std::string {
    auto it = status->find(key);
    return it != status->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  out.token = str("token");
  out.clientCertificatePem = str("clientCertificateData");
  out.clientKeyPem = str("clientKeyData");
  if (std::string expiry = str("expirationTimestamp"); !expiry.empty()) {
    out.expiration = parseRfc3339(expiry);
    if (!out.expiration) {
      return fail("exec plugin: status.expirationTimestamp \"" + expiry + "\" is not RFC 3339");
    }
  }
  if (out.token.empty() && out.clientCertificatePem.empty()) {
    return fail("exec plugin: status has neither token nor clientCertificateData");
  }
  if (out.clientCertificatePem.empty() != out.clientKeyPem.empty()) {
    return fail("exec plugin: status must have both clientCertificateData and clientKeyData, or neither");
  }
  return out;
}

ExecRunner processExecRunner() {
  return [](const ExecConfig& exec, const std::string& exec_info) -> Expected<std::string> {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
      return fail(std::string("exec plugin: pipe: ") + std::strerror(errno));
    }
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      env_strings.emplace_back(*e);
    }
    for (const auto& [name, value] : exec.env) {
      env_strings.push_back(name + "=" + value);
    }
    env_strings.push_back("KUBERNETES_EXEC_INFO=" + exec_info);
    std::vector<char*> envp;
    for (auto& s : env_strings) {
      envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    std::vector<std::string> arg_strings{exec.command};
    arg_strings.insert(arg_strings.end(), exec.args.begin(), exec.args.end());
    std::vector<char*> argv;
    for (auto& s : arg_strings) {
      argv.push_back(s.data());
    }
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, exec.command.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    std::string hint = exec.installHint.empty() ? "" : " (" + exec.installHint + ")";
    if (rc != 0) {
      close(pipe_fds[0]);
      return fail("exec plugin " + exec.command + ": " + std::strerror(rc) + hint);
    }
    std::string out;
    char buffer[4096];
    while (true) {
      ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      out.append(buffer, static_cast<size_t>(n));
    }
    close(pipe_fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                          : "was killed by signal " + std::to_string(WTERMSIG(status));
      return fail("exec plugin " + exec.command + " " + how + hint);
    }
    return out;
  };
}

ExecAuth::ExecAuth(ExecConfig exec, std::string server, std::string ca_pem, const core::Clock& clock,
                   ExecRunner runner)
    : exec_(std::move(exec)),
      server_(std::move(server)),
      ca_pem_(std::move(ca_pem)),
      clock_(clock),
      runner_(std::move(runner)) {}

std::string ExecAuth::execInfo() const {
  nlohmann::json info = {
      {"apiVersion", exec_.apiVersion}, {"kind", "ExecCredential"}, {"spec", {{"interactive", false}}}};
  if (exec_.provideClusterInfo) {
    info["spec"]["cluster"] = {{"server", server_},
                               {"certificate-authority-data", core::encodeBase64(ca_pem_)}};
  }
  return info.dump();
}

Expected<ExecCredential> ExecAuth::credential() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cached_ && (!cached_->expiration || clock_.wallNow() < *cached_->expiration)) {
    return *cached_;
  }
  cached_.reset();
  ++runs_;
  auto output = runner_(exec_, execInfo());
  if (!output) {
    return fail(output.error());
  }
  auto parsed = parseExecCredential(*output, exec_.apiVersion);
  if (!parsed) {
    return fail(parsed.error());
  }
  cached_ = *parsed;
  return *parsed;
}

Expected<std::string> ExecAuth::authorization() {
  auto cred = credential();
  if (!cred) {
    return fail(cred.error());
  }
  return cred->token.empty() ? std::string() : "Bearer " + cred->token;
}

void ExecAuth::unauthorized() {
  std::lock_guard<std::mutex> lock(mutex_);
  cached_.reset();
}

uint64_t ExecAuth::runs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return runs_;
}

std::shared_ptr<Authenticator> makeAuthenticator(const ClusterConfig& config, const core::Clock& clock) {
  if (config.exec) {
    return std::make_shared<ExecAuth>(*config.exec, config.server, config.caPem, clock);
  }
  if (!config.tokenFile.empty()) {
    return std::make_shared<TokenFileAuth>(config.tokenFile, clock);
  }
  if (!config.bearerToken.empty()) {
    return std::make_shared<StaticTokenAuth>(config.bearerToken);
  }
  return nullptr;
}

}  // namespace tokenstorm::kube
