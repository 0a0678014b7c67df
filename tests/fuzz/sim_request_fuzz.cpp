// libFuzzer target: arbitrary bytes as a simulator request body (all three APIs) and as a simulator
// config. Bad input must end in a ProtocolError or diagnostics, never a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tokenstorm/sim/config.h"
#include "tokenstorm/sim/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace sim = tokenstorm::sim;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const sim::SimConfig config;
  for (auto api :
       {sim::ApiKind::OpenAIChat, sim::ApiKind::OpenAICompletions, sim::ApiKind::AnthropicMessages}) {
    auto parsed = sim::parseRequest(api, text, config);
    if (auto* r = std::get_if<sim::SimRequest>(&parsed)) {
      sim::StreamEncoder encoder(*r, "1", 0);
      sim::Usage usage{r->promptTokens, 1, 0, 0};
      (void)encoder.start(usage);
      (void)encoder.delta("word", false, usage);
      (void)encoder.finish(sim::Finish::Stop, usage);
    } else {
      (void)sim::errorBody(api, std::get<sim::ProtocolError>(parsed));
    }
  }
  tokenstorm::core::Diagnostics errors;
  (void)sim::parseSimConfig(text, &errors);
  return 0;
}
