// pods/log (`kubectl logs`): what the process kubelet wrote for a pod's container, read from its pod
// directory (tests/kube_server/controllers/pod_setup.h describes the layout).
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "http/router.h"

namespace tokenstorm::kts {

using nlohmann::json;

Routed Router::podLog(const ParsedTarget& target, const ResourceType& pods, const std::string& ns,
                      const std::string& name) const {
  Result pod = store_.get(pods, ns, name);
  if (!pod.ok()) {
    return {errorReply(*pod.error), std::nullopt};
  }
  const json& spec = pod.object["spec"];
  std::string container;
  if (auto given = target.param("container")) {
    container = *given;
  } else if (spec.contains("containers") && !spec["containers"].empty()) {
    container = spec["containers"][0].value("name", "");
  }
  bool known = false;
  for (const auto& c : spec.value("containers", json::array())) {
    known = known || c.value("name", "") == container;
  }
  if (!known) {
    return {errorReply(400, "BadRequest", "container " + container + " is not valid for pod " + name),
            std::nullopt};
  }
  int64_t restarts = 0;
  for (const auto& s : pod.object["status"].value("containerStatuses", json::array())) {
    if (s.value("name", "") == container) {
      restarts = s.value("restartCount", int64_t{0});
    }
  }
  const auto previous = target.param("previous");
  int64_t run = restarts;
  if (previous && *previous == "true") {
    if (restarts == 0) {
      return {
          errorReply(400, "BadRequest",
                     "previous terminated container \"" + container + "\" in pod \"" + name + "\" not found"),
          std::nullopt};
    }
    run = restarts - 1;
  }
  const std::string uid = pod.object["metadata"].value("uid", "");
  std::filesystem::path file =
      std::filesystem::path(podsDir_) / uid / "logs" / container / (std::to_string(run) + ".log");
  std::ifstream in(file, std::ios::binary);
  if (podsDir_.empty() || !in) {
    return {errorReply(400, "BadRequest",
                       "container \"" + container + "\" in pod \"" + name + "\" is waiting to start"),
            std::nullopt};
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (auto tail = target.param("tailLines")) {
    int64_t lines = 0;
    auto [end, ec] = std::from_chars(tail->data(), tail->data() + tail->size(), lines);
    if (ec != std::errc() || end != tail->data() + tail->size() || lines < 0) {
      return {errorReply(400, "BadRequest", "tailLines must be a non-negative integer"), std::nullopt};
    }
    std::vector<size_t> starts;  // where each line begins; a last line without LF counts
    for (size_t at = 0; at < text.size();) {
      starts.push_back(at);
      size_t lf = text.find('\n', at);
      at = lf == std::string::npos ? text.size() : lf + 1;
    }
    if (static_cast<size_t>(lines) < starts.size()) {
      text = lines == 0 ? "" : text.substr(starts[starts.size() - static_cast<size_t>(lines)]);
    }
  }
  if (auto limit = target.param("limitBytes")) {
    int64_t bytes = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), bytes);
    if (ec != std::errc() || end != limit->data() + limit->size() || bytes <= 0) {
      return {errorReply(400, "BadRequest", "limitBytes must be a positive integer"), std::nullopt};
    }
    text.resize(std::min(text.size(), static_cast<size_t>(bytes)));
  }
  HttpReply reply;
  reply.contentType = "text/plain";
  reply.body = std::move(text);
  return {reply, std::nullopt};
}

}  // namespace tokenstorm::kts
