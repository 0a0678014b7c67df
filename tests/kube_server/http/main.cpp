// kube-test-server: the Kubernetes API test server as a process, for kubectl, the operator's end-to-end
// tests and people trying things by hand.
//
//   kube-test-server --listen 127.0.0.1:PORT --data DIR --kubeconfig-out FILE
//                    [--tls | --no-tls] [--token T]... [--verbose]
//
// Port 0 picks a free port. Once listening it writes the kubeconfig, prints "listening on URL" on stdout
// and serves until SIGTERM or SIGINT.
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "api/api_store.h"
#include "controllers/controllers.h"
#include "http/certs.h"
#include "http/server.h"
#include "tokenstorm/core/clock.h"

namespace {

constexpr const char* kUsage =
    "usage: kube-test-server --listen HOST:PORT --data DIR --kubeconfig-out FILE [--tls|--no-tls] [--token "
    "T]... "
    "[--verbose]\n"
    "  --listen HOST:PORT     address to serve on (default 127.0.0.1:0; port 0 picks a free port)\n"
    "  --data DIR             directory for the generated CA, serving certificate and token\n"
    "  --kubeconfig-out FILE  where to write a kubeconfig for kubectl and our client\n"
    "  --tls, --no-tls        serve HTTPS with a generated CA (default) or plain HTTP (kubectl sends no\n"
    "                         bearer token over plain HTTP: --no-tls is for our own client)\n"
    "  --token T              an accepted bearer token (repeatable; default: a random one)\n"
    "  --verbose              one line per request on stderr\n";

int usageError(const std::string& message) {
  std::cerr << "kube-test-server: " << message << "\n" << kUsage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tokenstorm;
  kts::ServerOptions options;
  std::string listen = "127.0.0.1:0";
  std::string kubeconfig_out;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= args.size()) {
        return false;
      }
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--listen") {
      if (!value(&listen)) {
        return usageError("--listen needs HOST:PORT");
      }
    } else if (a == "--data") {
      if (!value(&options.dataDir)) {
        return usageError("--data needs a directory");
      }
    } else if (a == "--kubeconfig-out") {
      if (!value(&kubeconfig_out)) {
        return usageError("--kubeconfig-out needs a file");
      }
    } else if (a == "--token") {
      if (!value(&v) || v.empty()) {
        return usageError("--token needs a value");
      }
      options.tokens.push_back(v);
    } else if (a == "--tls") {
      options.tls = true;
    } else if (a == "--no-tls") {
      options.tls = false;
    } else if (a == "--verbose" || a == "-v") {
      options.verbose = true;
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else {
      return usageError("unknown argument \"" + a + "\"");
    }
  }
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return usageError("--listen must be HOST:PORT, got \"" + listen + "\"");
  }
  options.host = listen.substr(0, colon);
  if (options.host.size() >= 2 && options.host.front() == '[' && options.host.back() == ']') {
    options.host = options.host.substr(1, options.host.size() - 2);
  }
  char* end = nullptr;
  long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535 || colon + 1 == listen.size()) {
    return usageError("--listen port must be 0-65535, got \"" + listen.substr(colon + 1) + "\"");
  }
  options.port = static_cast<uint16_t>(port);

  // Every thread started from here on inherits the blocked signals; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const core::Clock& clock = core::RealClock::instance();
  // The kubelet keeps its pods (and their logs, served as pods/log) under the data directory.
  kts::ControllerOptions controller_options;
  controller_options.dataDir = options.dataDir.empty()
                                   ? (std::filesystem::temp_directory_path() / "kube-test-server").string()
                                   : options.dataDir;
  options.podsDir = (std::filesystem::path(controller_options.dataDir) / "pods").string();
  kts::ApiStore store(clock);
  kts::Server server(store, clock, options);
  std::string error;
  if (!server.start(&error)) {
    std::cerr << "kube-test-server: " << error << "\n";
    return 1;
  }

  // controllers start here: the Job controller and the process kubelet (tests/kube_server/controllers)
  // take the store (and the server's URL and CA for the pods' kubeconfig), and stop before the server.
  controller_options.serverUrl = server.url();
  if (const kts::CertificateAuthority* ca = server.certificateAuthority()) {
    controller_options.caPem = ca->certPem();
  }
  const std::vector<std::string> tokens = server.tokens();
  controller_options.token = tokens.empty() ? "" : tokens.front();
  kts::Controllers controllers(store, clock, controller_options);
  controllers.start();

  if (!kubeconfig_out.empty()) {
    std::ofstream out(kubeconfig_out, std::ios::trunc);
    out << server.kubeconfig();
    out.close();
    if (!out) {
      std::cerr << "kube-test-server: " << kubeconfig_out << ": cannot write the kubeconfig\n";
      return 1;
    }
    std::filesystem::permissions(kubeconfig_out,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace);
  }
  std::cout << "listening on " << server.url() << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  if (options.verbose) {
    std::cerr << "kube-test-server: signal " << received << ", stopping\n";
  }
  controllers.stop();
  server.stop();
  return 0;
}
