#include "controllers.h"

#include <fstream>
#include <sstream>

namespace tokenstorm::kts {

Controllers::Controllers(ApiStore& store, const core::Clock& clock, ControllerOptions options) {
  if (options.caPem.empty() && !options.caFile.empty()) {
    std::ifstream in(options.caFile, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    options.caPem = text.str();
  }
  if (options.jobController) {
    JobControllerOptions jobOptions;
    jobOptions.log = options.log;
    jobs_ = std::make_unique<JobController>(store, clock, std::move(jobOptions));
  }
  if (options.kubelet) {
    KubeletOptions kubeletOptions;
    kubeletOptions.dataDir = options.dataDir;
    kubeletOptions.nodeName = options.nodeName;
    kubeletOptions.context.serverUrl = options.serverUrl;
    kubeletOptions.context.caPem = options.caPem;
    kubeletOptions.context.token = options.token;
    kubeletOptions.log = options.log;
    kubelet_ = std::make_unique<Kubelet>(store, clock, std::move(kubeletOptions));
  }
}

Controllers::~Controllers() {
  stop();
}

void Controllers::start() {
  if (jobs_) {
    jobs_->start();
  }
  if (kubelet_) {
    kubelet_->start();
  }
}

void Controllers::stop() {
  if (jobs_) {
    jobs_->stop();
  }
  if (kubelet_) {
    kubelet_->stop();
  }
}

}  // namespace tokenstorm::kts
