// tokenstorm: one executable, subcommands. See `tokenstorm --help`.
//
// Exit codes (stable, CI gates rely on them): 0 success / Pass, 1 Fail (thresholds), 2 invalid input or
// usage, 3 aborted, 4 internal error.
#include <nlohmann/json.hpp>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "tokenstorm/core/crd.h"
#include "tokenstorm/core/explain.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/tls.h"
#include "tokenstorm/core/validate.h"
#include "tokenstorm/sim/config.h"
#include "tokenstorm/sim/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>

namespace tokenstorm::app {

bool readInput(const std::string& path, std::string* text, std::string* error) {
  constexpr size_t kMaxRead = (1u << 20) + 1;  // one byte past the parser's limit, so it can say so
  std::istream* in = nullptr;
  std::ifstream file;
  if (path == "-") {
    in = &std::cin;
  } else {
    file.open(path, std::ios::binary);
    if (!file) {
      *error = "cannot open file";
      return false;
    }
    in = &file;
  }
  text->clear();
  char buf[65536];
  while (text->size() < kMaxRead) {
    in->read(buf, sizeof buf);
    if (in->gcount() <= 0) {
      break;
    }
    text->append(buf, static_cast<size_t>(in->gcount()));
  }
  if (in->bad()) {
    *error = "read error (is it a directory?)";
    return false;
  }
  return true;
}

}  // namespace tokenstorm::app

namespace {

namespace core = tokenstorm::core;
using tokenstorm::app::readInput;

constexpr int kExitOk = 0;
constexpr int kExitInvalid = 2;
constexpr int kExitInternal = 4;

constexpr const char* kUsage =
    R"(tokenstorm — load tests for LLM endpoints, as a Kubernetes operator or one command.

Usage:
  tokenstorm <command> [options]

Commands:
  validate [--explain] [-o text|json] FILE...
                  Check LoadTest files (YAML or JSON, several documents per file; '-' reads stdin).
                  --explain prints the expanded stages, total duration, request and cost estimates.
  crd             Print the LoadTest CustomResourceDefinition (YAML), generated from the model.
  run FILE [--out DIR] [--sim] [--sim-config FILE]
                  Run a LoadTest here, in-process, against its endpoints or the built-in simulator;
                  writes DIR/report.json and DIR/junit.xml. Exit 0 Pass, 1 Fail, 3 aborted.
                  With --in-cluster (no FILE): one runner pod of a LoadTest in a cluster.
  operator [--kubeconfig FILE] [--namespace NS]... [--workers N] [--leader-elect=true|false] ...
                  Run the LoadTest controller against a cluster (tokenstorm operator --help).
  sim [--listen HOST:PORT] [--config FILE] [--truth FILE]
                  Serve the simulated LLM endpoint (OpenAI- and Anthropic-compatible).
  version         Print the version.

Options:
  -h, --help      Show help (also: tokenstorm <command> --help).
  --version       Print the version.

Exit codes: 0 ok, 1 thresholds failed, 2 invalid input, 3 aborted, 4 internal error.
Docs: docs/ in the source tree; the API is described in docs/loadtest-api.md.
)";

constexpr const char* kValidateUsage = R"(Usage: tokenstorm validate [--explain] [-o text|json] FILE...

Checks each LoadTest against the API: types, bounds, unknown fields, and the rules that span fields
(external targets need allowExternal and budget.maxCost, failover needs two endpoints, ...).
Errors name the file, line, column and field path. Exit 0 when all are valid, 2 otherwise.

  --explain       Also print the expanded load stages and the request, token and cost estimates.
  -o, --output    text (default) or json (one object per file: {"file", "valid", "errors": [...]}).
)";

std::string displayName(const core::LoadTest& t) {
  std::string name = t.metadata.name.empty() ? t.metadata.generateName + "*" : t.metadata.name;
  return t.metadata.ns.empty() ? name : t.metadata.ns + "/" + name;
}

int cmdValidate(const std::vector<std::string>& args) {
  bool explain = false;
  bool json = false;
  std::vector<std::string> files;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << kValidateUsage;
      return kExitOk;
    }
    if (a == "--explain") {
      explain = true;
    } else if (a == "-o" || a == "--output") {
      if (i + 1 == args.size()) {
        std::cerr << "tokenstorm validate: " << a << " needs a value (text or json)\n";
        return kExitInvalid;
      }
      std::string v = args[++i];
      if (v != "text" && v != "json") {
        std::cerr << "tokenstorm validate: unknown output format \"" << v << "\" (text or json)\n";
        return kExitInvalid;
      }
      json = v == "json";
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      std::cerr << "tokenstorm validate: unknown option " << a << "\n" << kValidateUsage;
      return kExitInvalid;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    std::cerr << "tokenstorm validate: no file given\n" << kValidateUsage;
    return kExitInvalid;
  }
  bool all_valid = true;
  nlohmann::ordered_json report = nlohmann::ordered_json::array();
  for (const auto& path : files) {
    std::string source = path == "-" ? "<stdin>" : path;
    std::string text;
    std::string read_error;
    core::Diagnostics errors;
    std::vector<core::LoadTest> tests;
    if (!readInput(path, &text, &read_error)) {
      errors.push_back(core::Diagnostic{"", read_error, {}});
    } else {
      core::LoadResult loaded = core::parseLoadTests(text);
      errors = std::move(loaded.errors);
      for (auto& t : loaded.tests) {
        core::validate(t, &errors);
      }
      tests = std::move(loaded.tests);
    }
    bool valid = errors.empty();
    all_valid = all_valid && valid;
    if (json) {
      nlohmann::ordered_json entry;
      entry["file"] = source;
      entry["valid"] = valid;
      entry["errors"] = nlohmann::ordered_json::array();
      for (const auto& e : errors) {
        nlohmann::ordered_json je;
        je["path"] = e.path;
        je["message"] = e.message;
        if (e.mark.line > 0) {
          je["line"] = e.mark.line;
          je["column"] = e.mark.column;
        }
        entry["errors"].push_back(std::move(je));
      }
      report.push_back(std::move(entry));
      continue;
    }
    if (!valid) {
      for (const auto& e : errors) {
        std::cerr << e.str(source) << "\n";
      }
      std::cerr << source << ": invalid (" << errors.size() << " error" << (errors.size() == 1 ? "" : "s")
                << ")\n";
      continue;
    }
    for (const auto& t : tests) {
      std::cout << source << ": LoadTest " << displayName(t) << " is valid\n";
      if (explain) {
        std::cout << core::explain(t);
      }
    }
  }
  if (json) {
    std::cout << report.dump(2) << "\n";
  }
  return all_valid ? kExitOk : kExitInvalid;
}

constexpr const char* kSimUsage = R"(Usage: tokenstorm sim [--listen HOST:PORT] [--config FILE] [--truth FILE]
                     [--tls-cert FILE --tls-key FILE]

Serves a simulated LLM endpoint: OpenAI chat/completions and Anthropic messages (streaming and not),
GET /v1/models, /health, /health/ready, /metrics, POST /admin/config. Behaviour (batching, queueing,
replicas, rate limits, faults, prefix cache) comes from the config file; docs/simulator.md describes it.

  --listen HOST:PORT  address to serve on (default 127.0.0.1:8000; port 0 picks a free one)
  --config FILE       simulator config (YAML or JSON); SIGHUP re-reads it
  --truth FILE        write one JSON line per request: what the server did and when (monotonic ns)
  --tls-cert FILE     serve HTTPS with this PEM certificate chain (and --tls-key FILE, its PEM key)
)";

bool readFileText(const std::string& path, std::string* text, std::string* error) {
  if (!readInput(path, text, error)) {
    *error = path + ": " + *error;
    return false;
  }
  return true;
}

int cmdSim(const std::vector<std::string>& args) {
  std::string listen = "127.0.0.1:8000";
  std::string config_path;
  std::string truth_path;
  std::string tls_cert;
  std::string tls_key;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << kSimUsage;
      return kExitOk;
    }
    std::string* value = a == "--listen"     ? &listen
                         : a == "--config"   ? &config_path
                         : a == "--truth"    ? &truth_path
                         : a == "--tls-cert" ? &tls_cert
                         : a == "--tls-key"  ? &tls_key
                                             : nullptr;
    if (value != nullptr && i + 1 < args.size()) {
      *value = args[++i];
    } else {
      std::cerr << "tokenstorm sim: unexpected argument " << a << "\n" << kSimUsage;
      return kExitInvalid;
    }
  }
  size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  std::string port_text = colon == std::string::npos ? "" : listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  if (!port_text.empty() && port_text.size() <= 5 &&
      port_text.find_first_not_of("0123456789") == std::string::npos) {
    port = std::stoi(port_text);
  }
  if (port < 0 || port > 65535) {
    std::cerr << "tokenstorm sim: --listen needs HOST:PORT, such as 127.0.0.1:8000 (got \"" << listen
              << "\")\n";
    return kExitInvalid;
  }
  tokenstorm::sim::SimConfig config;
  if (!config_path.empty()) {
    std::string text;
    std::string error;
    if (!readFileText(config_path, &text, &error)) {
      std::cerr << "tokenstorm sim: " << error << "\n";
      return kExitInvalid;
    }
    core::Diagnostics errors;
    auto parsed = tokenstorm::sim::parseSimConfig(text, &errors);
    if (!parsed) {
      for (const auto& e : errors) {
        std::cerr << e.str(config_path) << "\n";
      }
      return kExitInvalid;
    }
    config = *parsed;
  }
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (tls_cert.empty() != tls_key.empty()) {
    std::cerr << "tokenstorm sim: --tls-cert and --tls-key go together\n";
    return kExitInvalid;
  }
  if (!tls_cert.empty()) {
    std::string tls_error;
    tls = core::makeServerTlsContext(tls_cert, tls_key, &tls_error);
    if (!tls) {
      std::cerr << "tokenstorm sim: " << tls_error << "\n";
      return kExitInvalid;
    }
  }
  boost::asio::io_context io;
  tokenstorm::sim::Server server(io, config, core::RealClock::instance(), truth_path, tls);
  std::string error;
  if (!server.listen(host, static_cast<uint16_t>(port), &error)) {
    std::cerr << "tokenstorm sim: " << error << "\n";
    return kExitInvalid;
  }
  std::cout << "tokenstorm sim: serving on " << (tls ? "https://" : "http://")
            << (host.find(':') != std::string::npos ? "[" + host + "]" : host) << ":" << server.port()
            << std::endl;
  boost::asio::signal_set stop_signals(io, SIGINT, SIGTERM);
  stop_signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) {
      server.stop();
      io.stop();
    }
  });
  boost::asio::signal_set reload(io, SIGHUP);
  std::function<void()> wait_reload = [&] {
    reload.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) {
        return;
      }
      std::string text;
      std::string read_error;
      core::Diagnostics errors;
      if (config_path.empty()) {
        std::cerr << "tokenstorm sim: SIGHUP ignored: no --config file to reload\n";
      } else if (!readFileText(config_path, &text, &read_error)) {
        std::cerr << "tokenstorm sim: reload failed: " << read_error << "\n";
      } else if (auto reloaded = tokenstorm::sim::parseSimConfig(text, &errors)) {
        server.replaceConfig(*reloaded);
        std::cerr << "tokenstorm sim: reloaded " << config_path << "\n";
      } else {
        for (const auto& e : errors) {
          std::cerr << "tokenstorm sim: reload failed (config unchanged): " << e.str(config_path) << "\n";
        }
      }
      wait_reload();
    });
  };
  wait_reload();
  io.run();
  return kExitOk;
}

int cmdCrd(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      std::cout << "Usage: tokenstorm crd\n\nPrints the LoadTest CustomResourceDefinition as YAML "
                   "(kubectl apply -f - accepts it). crds/ in the source tree holds the same output.\n";
      return kExitOk;
    }
    std::cerr << "tokenstorm crd: unexpected argument " << a << "\n";
    return kExitInvalid;
  }
  std::cout << core::generateCrdYaml();
  return kExitOk;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return kExitInvalid;
  }
  const std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::cout << kUsage;
    return kExitOk;
  }
  if (cmd == "--version" || cmd == "version") {
    std::cout << "tokenstorm " << TOKENSTORM_VERSION << "\n";
    return kExitOk;
  }
  if (cmd == "validate") {
    return cmdValidate(rest);
  }
  if (cmd == "crd") {
    return cmdCrd(rest);
  }
  if (cmd == "sim") {
    return cmdSim(rest);
  }
  if (cmd == "run") {
    return tokenstorm::app::cmdRun(rest);
  }
  if (cmd == "operator") {
    return tokenstorm::app::cmdOperator(rest);
  }
  std::cerr << "tokenstorm: unknown command \"" << cmd << "\"\n\n" << kUsage;
  return kExitInvalid;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tokenstorm: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
