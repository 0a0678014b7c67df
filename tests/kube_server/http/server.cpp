#include "http/server.h"
#include "tokenstorm/core/base64.h"

#include <sys/stat.h>

#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>

#include "http/server_impl.h"

namespace tokenstorm::kts {

namespace {

constexpr auto kReaperPeriod = std::chrono::milliseconds(200);
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);

std::string randomToken() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof(bytes));
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

bool writeFile(const std::filesystem::path& path, const std::string& content, bool secret,
               std::string* error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) {
    *error = path.string() + ": cannot write the file";
    return false;
  }
  if (secret) {
    ::chmod(path.c_str(), 0600);
  }
  return true;
}

}  // namespace

bool Server::Impl::setupTls(std::string* error) {
  ca = CertificateAuthority::create("kube-test-server-ca", error);
  if (!ca) {
    return false;
  }
  auto serving =
      ca->issueServer({"localhost", "kubernetes", "kubernetes.default.svc"}, {"127.0.0.1", "::1"}, error);
  if (!serving) {
    return false;
  }
  namespace ssl = asio::ssl;
  tls = std::make_shared<ssl::context>(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  tls->use_certificate_chain(asio::buffer(serving->certPem), ec);
  if (!ec) {
    tls->use_private_key(asio::buffer(serving->keyPem), ssl::context::pem, ec);
  }
  if (!ec) {
    tls->add_certificate_authority(asio::buffer(ca->certPem()), ec);
  }
  if (ec) {
    *error = "cannot set up TLS: " + ec.message();
    return false;
  }
  // Ask for a client certificate and verify one that is sent, but let token-only clients in.
  tls->set_verify_mode(ssl::verify_peer);
  if (!options.dataDir.empty()) {
    std::filesystem::path dir(options.dataDir);
    return writeFile(dir / "ca.crt", ca->certPem(), false, error) &&
           writeFile(dir / "ca.key", ca->keyPem(), true, error) &&
           writeFile(dir / "server.crt", serving->certPem, false, error) &&
           writeFile(dir / "server.key", serving->keyPem, true, error);
  }
  return true;
}

void Server::Impl::acceptLoop() {
  while (!stopping) {
    tcp::socket socket(io);
    boost::system::error_code ec;
    acceptor.accept(socket, ec);
    if (ec) {
      if (stopping || ec == asio::error::bad_descriptor || ec == asio::error::invalid_argument) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // e.g. EMFILE: back off, keep serving
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Connection>();
    conn->fd = socket.native_handle();
    std::lock_guard lock(mutex);
    if (stopping) {
      return;
    }
    connections.push_back(conn);
    conn->thread = std::thread([this, conn, s = std::move(socket)]() mutable {
      if (tls) {
        asio::ssl::stream<tcp::socket> stream(std::move(s), *tls);
        conn->setDeadline(kHandshakeTimeout);
        boost::system::error_code hec;
        stream.handshake(asio::ssl::stream_base::server, hec);
        if (!hec) {
          std::string user;
          if (X509* peer = SSL_get1_peer_certificate(stream.native_handle())) {
            if (SSL_get_verify_result(stream.native_handle()) == X509_V_OK) {
              char cn[256] = {0};
              X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
              user = cn[0] != '\0' ? cn : "x509";
            }
            X509_free(peer);
          }
          serve(*conn, stream, user);
        }
        std::lock_guard l(conn->mutex);
        conn->fd = -1;
        stream.next_layer().close(hec);
      } else {
        serve(*conn, s, "");
        std::lock_guard l(conn->mutex);
        conn->fd = -1;
        boost::system::error_code cec;
        s.close(cec);
      }
      conn->done = true;
    });
  }
}

void Server::Impl::reaperLoop() {
  while (!stopping) {
    std::this_thread::sleep_for(kReaperPeriod);
    int64_t now = SteadyClock::now().time_since_epoch().count();
    std::list<std::shared_ptr<Connection>> finished;
    {
      std::lock_guard lock(mutex);
      for (auto it = connections.begin(); it != connections.end();) {
        if ((*it)->done) {
          finished.push_back(*it);
          it = connections.erase(it);
          continue;
        }
        if ((*it)->deadline.load() < now) {
          (*it)->shutdown();
        }
        ++it;
      }
    }
    for (auto& c : finished) {
      c->thread.join();
    }
  }
}

Server::Server(ApiStore& store, const core::Clock& clock, ServerOptions options)
    : impl_(std::make_unique<Impl>(store, clock, std::move(options))) {
  impl_->tokens = impl_->options.tokens;
  if (impl_->tokens.empty()) {
    impl_->tokens.push_back(randomToken());
  }
}

Server::~Server() {
  stop();
}

bool Server::start(std::string* error) {
  Impl& d = *impl_;
  if (!d.options.dataDir.empty()) {
    std::error_code fec;
    std::filesystem::create_directories(d.options.dataDir, fec);
    if (fec) {
      *error = d.options.dataDir + ": cannot create the data directory: " + fec.message();
      return false;
    }
  }
  if (d.options.tls && !d.setupTls(error)) {
    return false;
  }
  if (!d.options.dataDir.empty() &&
      !writeFile(std::filesystem::path(d.options.dataDir) / "token", d.tokens.front() + "\n", true, error)) {
    return false;
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(d.options.host, ec);
  if (ec) {
    *error = "invalid listen address \"" + d.options.host + "\": " + ec.message();
    return false;
  }
  tcp::endpoint ep(address, d.options.port);
  d.acceptor.open(ep.protocol(), ec);
  if (!ec) {
    d.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    d.acceptor.bind(ep, ec);
  }
  if (!ec) {
    d.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    *error =
        "cannot listen on " + d.options.host + ":" + std::to_string(d.options.port) + ": " + ec.message();
    return false;
  }
  d.boundPort = d.acceptor.local_endpoint().port();
  std::string host = address.is_v6() ? "[" + d.options.host + "]" : d.options.host;
  d.router.emplace(d.store, d.clock, host + ":" + std::to_string(d.boundPort), d.options.podsDir);
  d.started = true;
  d.acceptThread = std::thread([&d] { d.acceptLoop(); });
  d.reaperThread = std::thread([&d] { d.reaperLoop(); });
  return true;
}

void Server::stop() {
  Impl& d = *impl_;
  if (!d.started || d.stopping.exchange(true)) {
    return;
  }
  ::shutdown(d.acceptor.native_handle(), SHUT_RDWR);  // wakes the blocking accept()
  d.acceptThread.join();
  boost::system::error_code ec;
  d.acceptor.close(ec);
  d.reaperThread.join();
  std::list<std::shared_ptr<Connection>> all;
  {
    std::lock_guard lock(d.mutex);
    all.swap(d.connections);
  }
  for (auto& c : all) {
    c->shutdown();
  }
  for (auto& c : all) {
    c->thread.join();
  }
}

uint16_t Server::port() const {
  return impl_->boundPort;
}

std::string Server::url() const {
  return std::string(impl_->options.tls ? "https://" : "http://") + impl_->options.host + ":" +
         std::to_string(impl_->boundPort);
}

Faults& Server::faults() {
  return impl_->faults;
}

void Server::dropWatches() {
  impl_->store.closeAllWatches();
}

void Server::setTokens(std::vector<std::string> tokens) {
  std::lock_guard lock(impl_->mutex);
  impl_->tokens = std::move(tokens);
}

void Server::addToken(std::string token) {
  std::lock_guard lock(impl_->mutex);
  impl_->tokens.push_back(std::move(token));
}

std::vector<std::string> Server::tokens() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->tokens;
}

const CertificateAuthority* Server::certificateAuthority() const {
  return impl_->ca ? &*impl_->ca : nullptr;
}

std::optional<ClientCertificate> Server::issueClientCertificate(const std::string& common_name,
                                                                const std::vector<std::string>& organizations,
                                                                std::string* error) const {
  if (!impl_->ca) {
    *error = "the server has no CA (TLS is off or it has not started)";
    return std::nullopt;
  }
  return impl_->ca->issueClient(common_name, organizations, error);
}

std::string Server::kubeconfig(const KubeconfigOptions& options) const {
  std::string cluster = "    server: " + url() + "\n";
  if (impl_->ca) {
    cluster += "    certificate-authority-data: " + core::encodeBase64(impl_->ca->certPem()) + "\n";
  }
  std::string user;
  if (options.certificate) {
    user = "    client-certificate-data: " + core::encodeBase64(options.certificate->certPem) + "\n" +
           "    client-key-data: " + core::encodeBase64(options.certificate->keyPem) + "\n";
  } else {
    user = "    token: " + (options.token.empty() ? tokens().front() : options.token) + "\n";
  }
  const std::string& name = options.contextName;
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: " + name + "\n  cluster:\n" + cluster +
         "users:\n- name: " + name + "\n  user:\n" + user + "contexts:\n- name: " + name +
         "\n  context:\n    cluster: " + name + "\n    user: " + name + "\n    namespace: " + options.ns +
         "\ncurrent-context: " + name + "\n";
}

}  // namespace tokenstorm::kts
