// The real Transport, on cpprestsdk (an HTTP/1.1 client on Boost.Asio) with TLS via OpenSSL. cpprest's
// headers stay in cpprest_transport.cpp: they are heavy, and their U() macro breaks GoogleTest.
//
// TLS: with caPem, only those CAs are trusted (the system store is dropped, as kubectl does with
// certificate-authority); without it, the system's default store. The server's name (or IP address) is
// checked against the certificate (RFC 2818) unless insecureSkipTlsVerify. A client certificate and key
// (PEM, from memory) are presented when given. TLS 1.2 or newer. PEM data is checked in create(), so a
// bad certificate is a configuration error naming the field, not a handshake failure later.
//
// Timeouts: cpprest's timer restarts whenever bytes move, so `timeout_ns` bounds the silence within a
// request, not its total length. Streams (watches) use `stream_idle_timeout_ns`: longer than the
// server's watch timeout plus its bookmark interval, so a healthy idle watch is not cut, while a dead
// connection is noticed. Watch bodies must be chunked (as kube-apiserver sends them): cpprest reads an
// unchunked, unsized body in 64 KiB blocks.
#pragma once

#include <memory>
#include <string>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/kube/result.h"
#include "tokenstorm/kube/transport.h"

namespace tokenstorm::kube {

struct TransportOptions {
  std::string server;  // "https://host:port" (a path prefix is kept: "https://host/prefix"), or http://
  std::string caPem;   // trusted CA certificates, PEM (one or more); empty: the system's store
  bool insecureSkipTlsVerify = false;
  std::string clientCertPem;                                 // client certificate (chain), PEM; empty: none
  std::string clientKeyPem;                                  // its private key, PEM
  core::MonoNanos timeout_ns = 30'000'000'000;               // unary requests
  core::MonoNanos stream_idle_timeout_ns = 600'000'000'000;  // streams: 10 min of silence
};

class CpprestTransport final : public Transport {
 public:
  // Checks the options (URL scheme and host, PEM data, key matching the certificate).
  static Expected<std::unique_ptr<CpprestTransport>> create(TransportOptions options);
  ~CpprestTransport() override;

  // Transport
  HttpResponse request(const HttpRequest& request) override;
  HttpResponse stream(const HttpRequest& request, const ChunkCallback& on_chunk,
                      Cancellation& cancellation) override;

 private:
  struct State;
  explicit CpprestTransport(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tokenstorm::kube
