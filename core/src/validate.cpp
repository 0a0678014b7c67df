#include "tokenstorm/core/validate.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "tokenstorm/core/stages.h"

namespace tokenstorm::core {
namespace {

constexpr size_t kMaxNameLength = 52;  // runner Job and pod names derive from it and must stay under 63
constexpr double kMaxTokens = 2'000'000;
constexpr double kMaxRate = 1'000'000;
constexpr int64_t kMaxTotalNanos = 30LL * 24 * 3600 * 1'000'000'000;  // 30 days

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string num(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", d);
  return buf;
}

class Validator {
 public:
  explicit Validator(Diagnostics* errors) : errors_(errors) {}

  void error(std::string path, std::string message) {
    errors_->push_back(Diagnostic{std::move(path), std::move(message), {}});
  }

  void run(const LoadTest& t) {
    if (t.apiVersion != kApiVersion) {
      error("apiVersion", std::string("must be ") + kApiVersion + " (got \"" + t.apiVersion + "\")");
    }
    if (t.kind != kKind) {
      error("kind", std::string("must be ") + kKind + " (got \"" + t.kind + "\")");
    }
    metadata(t.metadata);
    const LoadTestSpec& s = t.spec;
    target(s);
    workload(s.workload);
    plan_ = expandLoad(s);
    load(s);
    budget(s);
    thresholds(s);
    runners(s.runners);
    if (s.report.interval < Duration::fromSeconds(1)) {
      error("spec.report.interval", "must be at least 1s (got \"" + s.report.interval.str() + "\")");
    }
  }

 private:
  void metadata(const ObjectMeta& m) {
    if (m.name.empty() && m.generateName.empty()) {
      error("metadata.name", "is required (or metadata.generateName)");
      return;
    }
    const std::string& n = m.name.empty() ? m.generateName : m.name;
    const char* field = m.name.empty() ? "metadata.generateName" : "metadata.name";
    size_t limit = m.name.empty() ? kMaxNameLength - 5 : kMaxNameLength;  // the server appends 5 characters
    bool ok = !n.empty() && std::isalnum(static_cast<unsigned char>(n.front()));
    for (char c : n) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    }
    if (!m.name.empty()) {
      ok = ok && n.back() != '-';
    }
    if (!ok) {
      error(field, "must be lower-case letters, digits and '-', starting with a letter or digit (got \"" + n +
                       "\")");
    } else if (n.size() > limit) {
      error(field, "must be at most " + std::to_string(limit) +
                       " characters, since runner Job and pod names derive from it (got " +
                       std::to_string(n.size()) + ")");
    }
  }

  // ---- target ----
  void target(const LoadTestSpec& s) {
    const Target& t = s.target;
    std::set<std::string> names;
    bool external = false;
    for (size_t i = 0; i < t.endpoints.size(); ++i) {
      const Endpoint& e = t.endpoints[i];
      std::string p = "spec.target.endpoints[" + std::to_string(i) + "]";
      if (!names.insert(e.name).second) {
        error(p + ".name", "duplicate endpoint name \"" + e.name + "\"");
      }
      UrlParts u;
      if (e.url.find_first_of("\\ \t") != std::string::npos) {
        error(p + ".url", "must not contain backslashes or spaces (got \"" + e.url + "\")");
      } else if (!splitUrl(e.url, &u)) {
        error(p + ".url",
              "must be an absolute URL such as http://vllm.ml-serving.svc:8000 or sim:// (got \"" + e.url +
                  "\")");
      } else {
        if (u.scheme != "http" && u.scheme != "https" && u.scheme != "sim") {
          error(p + ".url", "scheme must be http, https or sim (got \"" + u.scheme + "\")");
        }
        if (!u.userinfo.empty()) {
          error(p + ".url", "must not carry credentials (user:password@); use auth.secretRef");
        }
        std::string q = lower(u.path);
        for (const char* k : {"key=", "api_key=", "api-key=", "apikey=", "token=", "access_token="}) {
          if (q.find(k) != std::string::npos && (q.find(std::string("?") + k) != std::string::npos ||
                                                 q.find(std::string("&") + k) != std::string::npos)) {
            error(p + ".url", "must not carry a key in its query string; use auth");
            break;
          }
        }
        if (u.scheme == "https" || u.scheme == "http") {
          external = external || !isInternalUrl(e.url);
        }
        if (e.tls && u.scheme != "https") {
          error(p + ".tls", "applies only to https:// URLs");
        }
      }
      if (e.auth) {
        int sources = (e.auth->secretRef ? 1 : 0) + (e.auth->env ? 1 : 0) + (e.auth->file ? 1 : 0);
        if (sources != 1) {
          error(p + ".auth",
                "exactly one of secretRef, env or file must be set (got " + std::to_string(sources) + ")");
        }
      }
      for (const auto& [name, value] : e.headers) {
        std::string n = lower(name);
        if (n == "authorization" || n == "x-api-key" || n == "api-key" || n == "proxy-authorization" ||
            n == "cookie" || n == "x-goog-api-key") {
          error(p + ".headers." + name,
                "secrets never go inline in a spec; use auth.secretRef (or auth.env locally)");
        } else if (looksLikeSecret(value)) {
          error(p + ".headers." + name,
                "looks like a credential; secrets never go inline in a spec, use auth");
        }
      }
      if (e.tls && e.tls->caSecretRef && e.tls->caFile) {
        error(p + ".tls", "set caSecretRef or caFile, not both");
      }
    }
    const Routing& r = t.routing;
    if (r.policy == RoutingPolicy::Failover && t.endpoints.size() < 2) {
      error("spec.target.routing.policy",
            "failover needs at least 2 endpoints (got " + std::to_string(t.endpoints.size()) + ")");
    }
    if (r.policy == RoutingPolicy::Single && t.endpoints.size() > 1) {
      error("spec.target.routing.policy", "single sends every request to the first endpoint, but " +
                                              std::to_string(t.endpoints.size()) +
                                              " are listed; use failover or weighted, or list one");
    }
    if (external) {
      if (!t.allowExternal) {
        error(
            "spec.target.allowExternal",
            "must be true to target an endpoint outside the cluster and private networks (a test against an "
            "external provider spends real money)");
      }
      if (!s.budget.maxCost) {
        error("spec.budget.maxCost", "is required for an external target, so that the test cannot overspend");
      }
    }
    if (t.serverMetrics) {
      UrlParts u;
      if (!splitUrl(t.serverMetrics->url, &u) || (u.scheme != "http" && u.scheme != "https")) {
        error("spec.target.serverMetrics.url",
              "must be an http:// or https:// URL (got \"" + t.serverMetrics->url + "\")");
      } else if (!isInternalUrl(t.serverMetrics->url) && !t.allowExternal) {
        error("spec.target.serverMetrics.url",
              "is outside the cluster and private networks; set allowExternal: true");
      }
    }
    if (t.scaleRef) {
      static const std::set<std::string> kKinds{"Deployment", "StatefulSet", "HorizontalPodAutoscaler",
                                                "ScaledObject", "InferenceService"};
      if (kKinds.count(t.scaleRef->kind) == 0) {
        error("spec.target.scaleRef.kind",
              "must be Deployment, StatefulSet, HorizontalPodAutoscaler, ScaledObject "
              "or InferenceService (got \"" +
                  t.scaleRef->kind + "\")");
      }
    }
    if (s.probes.failover && r.policy != RoutingPolicy::Failover && t.endpoints.size() > 1) {
      error("spec.probes.failover", "needs routing.policy failover (or a single gateway endpoint)");
    }
  }

  static bool looksLikeSecret(const std::string& v) {
    std::string l = lower(v);
    return l.rfind("bearer ", 0) == 0 || l.rfind("basic ", 0) == 0 || v.rfind("sk-", 0) == 0 ||
           v.rfind("sk_", 0) == 0;
  }

  // ---- distributions ----
  // Smallest and largest values a distribution can produce (clamps included); max is +inf when unbounded.
  void dist(const Dist& d, const std::string& p, double floor, double ceiling) {
    auto check_range = [&](double lo, double hi, const std::string& at) {
      if (lo > hi) {
        error(at, "min (" + num(lo) + ") must not exceed max (" + num(hi) + ")");
      }
    };
    auto check_ceiling = [&](double v, const std::string& at) {
      if (v > ceiling) {
        error(at, "must be at most " + num(ceiling) + " (got " + num(v) + ")");
      }
    };
    auto check_floor = [&](double v, const std::string& at) {
      if (v < floor) {
        error(at, "must be at least " + num(floor) + " (got " + num(v) + ")");
      }
    };
    if (d.fixed) {
      check_floor(*d.fixed, p + ".fixed");
      check_ceiling(*d.fixed, p + ".fixed");
    }
    if (d.uniform) {
      check_range(d.uniform->min, d.uniform->max, p + ".uniform");
      check_floor(d.uniform->min, p + ".uniform.min");
      check_ceiling(d.uniform->max, p + ".uniform.max");
    }
    for (const auto* sp : {d.normal ? &*d.normal : nullptr, d.lognormal ? &*d.lognormal : nullptr}) {
      if (sp == nullptr) {
        continue;
      }
      std::string at = p + (sp == (d.normal ? &*d.normal : nullptr) ? ".normal" : ".lognormal");
      if (sp->min && sp->max) {
        check_range(*sp->min, *sp->max, at);
      }
      if (sp->min) {
        check_floor(*sp->min, at + ".min");
      }
      check_ceiling(sp->max.value_or(sp->mean), at + (sp->max ? ".max" : ".mean"));
    }
  }

  void durationDist(const DurationDist& d, const std::string& p) {
    if (d.uniform && d.uniform->min > d.uniform->max) {
      error(p + ".uniform",
            "min (" + d.uniform->min.str() + ") must not exceed max (" + d.uniform->max.str() + ")");
    }
    for (const auto* sp : {d.normal ? &*d.normal : nullptr, d.lognormal ? &*d.lognormal : nullptr}) {
      if (sp != nullptr && sp->min && sp->max && *sp->min > *sp->max) {
        error(p + (sp == (d.normal ? &*d.normal : nullptr) ? ".normal" : ".lognormal"),
              "min (" + sp->min->str() + ") must not exceed max (" + sp->max->str() + ")");
      }
    }
  }

  static std::optional<double> lowerBound(const Dist& d) {
    if (d.fixed) {
      return *d.fixed;
    }
    if (d.uniform) {
      return d.uniform->min;
    }
    const auto& sp = d.normal ? d.normal : d.lognormal;
    if (sp && sp->min) {
      return *sp->min;
    }
    return std::nullopt;
  }

  // ---- workload ----
  void workload(const Workload& w) {
    std::set<std::string> names;
    for (size_t i = 0; i < w.classes.size(); ++i) {
      const WorkloadClass& c = w.classes[i];
      std::string p = "spec.workload.classes[" + std::to_string(i) + "]";
      classNames_.insert(c.name);
      if (!names.insert(c.name).second) {
        error(p + ".name", "duplicate class name \"" + c.name + "\"");
      }
      dist(c.maxOutputTokens, p + ".maxOutputTokens", 1, kMaxTokens);
      if (c.prompt.synthetic) {
        const auto& syn = *c.prompt.synthetic;
        dist(syn.inputTokens, p + ".prompt.synthetic.inputTokens", 1, kMaxTokens);
        auto lo = lowerBound(syn.inputTokens);
        if (syn.sharedPrefixTokens > 0 && lo && static_cast<double>(syn.sharedPrefixTokens) > *lo) {
          error(p + ".prompt.synthetic.sharedPrefixTokens", "must not exceed the shortest prompt (" +
                                                                num(*lo) + " tokens; got " +
                                                                std::to_string(syn.sharedPrefixTokens) + ")");
        }
      }
      if (c.prompt.dataset) {
        const auto& ds = *c.prompt.dataset;
        int sources = (ds.configMapRef ? 1 : 0) + (ds.file ? 1 : 0) + (ds.inlinePrompts.empty() ? 0 : 1);
        if (sources != 1) {
          error(p + ".prompt.dataset", "exactly one of configMapRef, file or inline must be set (got " +
                                           std::to_string(sources) + ")");
        }
        if (!ds.inlinePrompts.empty() && ds.format != DatasetFormat::JsonlPrompts) {
          error(p + ".prompt.dataset.format",
                "inline prompts are plain strings; format must be jsonl-prompts");
        }
      }
      if (c.conversation) {
        dist(c.conversation->turns, p + ".conversation.turns", 1, 1000);
        durationDist(c.conversation->thinkTime, p + ".conversation.thinkTime");
      }
    }
    if (w.cancellation) {
      if (w.cancellation->afterTokens) {
        dist(*w.cancellation->afterTokens, "spec.workload.cancellation.afterTokens", 1, kMaxTokens);
      }
      if (w.cancellation->afterTime) {
        durationDist(*w.cancellation->afterTime, "spec.workload.cancellation.afterTime");
      }
    }
    if (w.retry && w.retry->backoff.initial > w.retry->backoff.max) {
      error("spec.workload.retry.backoff", "initial (" + w.retry->backoff.initial.str() +
                                               ") must not exceed max (" + w.retry->backoff.max.str() + ")");
    }
    const Tokenizer& tk = w.tokenizer;
    if (tk.type == TokenizerType::HuggingFace && (tk.configMapRef.has_value() == tk.file.has_value())) {
      error("spec.workload.tokenizer", "type huggingface needs exactly one of configMapRef or file");
    }
    if (tk.type == TokenizerType::Estimate && (tk.configMapRef || tk.file)) {
      error("spec.workload.tokenizer.type", "must be huggingface when a tokenizer.json is given");
    }
  }

  // ---- load ----
  void load(const LoadTestSpec& s) {
    const Load& l = s.load;
    bool shaped_by_probe = s.probes.rateLimit || s.probes.warmup;
    int shapes = (l.stages.empty() ? 0 : 1) + (l.pattern ? 1 : 0) + (shaped_by_probe ? 1 : 0);
    if (shapes == 0) {
      error("spec.load", "needs stages or a pattern (or a rateLimit/warmup probe, which shapes the load)");
    } else if (shapes > 1) {
      if (shaped_by_probe) {
        error("spec.load", std::string("probes.") + (s.probes.rateLimit ? "rateLimit" : "warmup") +
                               " shapes the load itself; remove load.stages and load.pattern");
      } else {
        error("spec.load", "set stages or pattern, not both");
      }
    }
    if (s.probes.rateLimit && s.probes.warmup) {
      error("spec.probes", "rateLimit and warmup each shape the load; use one per LoadTest");
    }
    bool closed = l.mode == LoadMode::Closed;
    for (size_t i = 0; i < l.stages.size(); ++i) {
      const Stage& st = l.stages[i];
      std::string p = "spec.load.stages[" + std::to_string(i) + "]";
      if (closed && st.rate) {
        error(p + ".rate", "closed mode takes users, not rate");
      } else if (!closed && st.users) {
        error(p + ".users", "open mode takes rate, not users (or set load.mode: closed)");
      } else if (closed ? !st.users : !st.rate) {
        error(p + (closed ? ".users" : ".rate"), "is required");
      }
    }
    if (l.pattern) {
      pattern(*l.pattern);
    }
    std::set<std::string> stage_names;
    for (const auto& st : plan_.stages) {
      if (!stage_names.insert(st.name).second) {
        error("spec.load.stages", "duplicate stage name \"" + st.name + "\"");
      }
      stageNames_.insert(st.name);
    }
    if (s.probes.rateLimit && !plan_.stages.empty() && plan_.stages.back().to > kMaxRate) {
      error("spec.probes.rateLimit", "its last step would reach " + num(plan_.stages.back().to) +
                                         " requests per second; the most is " + num(kMaxRate));
    }
    if (plan_.total.nanos > kMaxTotalNanos) {
      bool saturated = plan_.total.nanos == INT64_MAX;
      error("spec.load", "total duration " +
                             (saturated ? std::string("(over 292 years)") : plan_.total.str()) +
                             " exceeds the 30-day limit");
    }
    if (l.warmup.nanos > 0 && plan_.total.nanos > 0 && l.warmup >= plan_.total) {
      error("spec.load.warmup",
            "(" + l.warmup.str() + ") must be shorter than the whole load (" + plan_.total.str() + ")");
    }
  }

  void pattern(const Pattern& p) {
    if (p.spike) {
      const auto& s = *p.spike;
      if (s.peak.has_value() == s.multiplier.has_value()) {
        error("spec.load.pattern.spike", "exactly one of peak or multiplier must be set");
      }
      if (s.at + s.duration > s.total) {
        error("spec.load.pattern.spike", "at + duration (" + (s.at + s.duration).str() +
                                             ") must not exceed total (" + s.total.str() + ")");
      }
      if (s.multiplier && !s.peak) {
        double peak = s.base * *s.multiplier;
        if (s.base == 0) {
          error("spec.load.pattern.spike.multiplier", "gives a peak of 0 since base is 0; set peak instead");
        } else if (peak > kMaxRate) {
          error("spec.load.pattern.spike.multiplier",
                "gives a peak of " + num(peak) + "; the most is " + num(kMaxRate) + " requests per second");
        }
      }
    }
    if (p.burst && p.burst->highDuration && *p.burst->highDuration >= p.burst->period) {
      error("spec.load.pattern.burst.highDuration", "(" + p.burst->highDuration->str() +
                                                        ") must be shorter than the period (" +
                                                        p.burst->period.str() + ")");
    }
  }

  // ---- budget ----
  void budget(const LoadTestSpec& s) {
    const Budget& b = s.budget;
    if (b.pricing && b.pricingRef) {
      error("spec.budget", "set pricing or pricingRef, not both");
    }
    if (b.maxCost && !b.pricing && !b.pricingRef) {
      error("spec.budget.pricing",
            "is required when maxCost is set (cost accrues from token counts and prices)");
    }
  }

  // ---- thresholds ----
  void thresholds(const LoadTestSpec& s) {
    for (size_t i = 0; i < s.thresholds.size(); ++i) {
      const Threshold& t = s.thresholds[i];
      std::string p = "spec.thresholds[" + std::to_string(i) + "]";
      std::string metric(enumName(t.metric));
      bool latency = isLatencyMetric(t.metric);
      if (latency && !t.stat) {
        error(p + ".stat",
              "is required for latency metric " + metric + " (p50, p90, p95, p99, p999, min, max or mean)");
      }
      if (!latency && t.stat) {
        error(p + ".stat", "applies only to latency metrics; " + metric + " is a single number");
      }
      if (!t.max && !t.min) {
        error(p, "needs max or min");
      }
      for (const auto& [v, which] : {std::pair{&t.max, "max"}, std::pair{&t.min, "min"}}) {
        if (!*v) {
          continue;
        }
        const ThresholdValue& tv = **v;
        std::string at = p + "." + which;
        if (latency && !tv.duration) {
          error(at, "must be a duration such as \"800ms\" for latency metric " + metric + " (got " + tv.text +
                        ")");
        } else if (!latency && !tv.number) {
          error(at, "must be a number for metric " + metric + " (got \"" + tv.text + "\")");
        } else if ((tv.number && *tv.number < 0) || (tv.duration && tv.duration->nanos < 0)) {
          error(at, "must not be negative (got " + tv.text + ")");
        } else if (tv.number && *tv.number > 1 &&
                   (t.metric == Metric::ErrorRate || t.metric == Metric::GoodputFraction ||
                    t.metric == Metric::CacheHitRate)) {
          error(at, metric + " is a fraction between 0 and 1 (got " + tv.text + ")");
        }
      }
      if (t.className && classNames_.count(*t.className) == 0) {
        error(p + ".class", "names no workload class (got \"" + *t.className + "\")");
      }
      if (t.stage && stageNames_.count(*t.stage) == 0) {
        std::string known;
        for (const auto& n : stageNames_) {
          known += (known.empty() ? "" : ", ") + n;
        }
        error(p + ".stage", "names no stage (got \"" + *t.stage + "\"; stages are " + known + ")");
      }
    }
  }

  // ---- runners ----
  void runners(const Runners& r) {
    for (size_t i = 0; i < r.env.size(); ++i) {
      const EnvVar& e = r.env[i];
      std::string p = "spec.runners.env[" + std::to_string(i) + "]";
      if (e.value && e.valueFrom) {
        error(p, "set value or valueFrom, not both");
      }
      std::string n = lower(e.name);
      bool secret_name = n.find("key") != std::string::npos || n.find("token") != std::string::npos ||
                         n.find("secret") != std::string::npos || n.find("password") != std::string::npos;
      if (e.value && !e.value->empty() && (secret_name || looksLikeSecret(*e.value))) {
        error(p + ".value", "secrets never go inline in a spec; use valueFrom.secretKeyRef");
      }
    }
    for (size_t i = 0; i < r.tolerations.size(); ++i) {
      const Toleration& t = r.tolerations[i];
      std::string p = "spec.runners.tolerations[" + std::to_string(i) + "]";
      if (t.op && *t.op != "Exists" && *t.op != "Equal") {
        error(p + ".operator", "must be Exists or Equal (got \"" + *t.op + "\")");
      }
      if (t.effect && *t.effect != "NoSchedule" && *t.effect != "PreferNoSchedule" &&
          *t.effect != "NoExecute") {
        error(p + ".effect", "must be NoSchedule, PreferNoSchedule or NoExecute (got \"" + *t.effect + "\")");
      }
    }
  }

  Diagnostics* errors_;
  LoadPlan plan_;
  std::set<std::string> classNames_;
  std::set<std::string> stageNames_;
};

bool parseIpv4(std::string_view h, unsigned char out[4]) {
  int part = 0;
  int value = -1;
  for (size_t i = 0; i <= h.size(); ++i) {
    if (i == h.size() || h[i] == '.') {
      if (value < 0 || value > 255 || part > 3) {
        return false;
      }
      out[part++] = static_cast<unsigned char>(value);
      value = -1;
    } else if (h[i] >= '0' && h[i] <= '9') {
      value = (value < 0 ? 0 : value * 10) + (h[i] - '0');
      if (value > 255) {
        return false;
      }
    } else {
      return false;
    }
  }
  return part == 4;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

bool splitUrl(std::string_view url, UrlParts* parts) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    return false;
  }
  parts->scheme = lower(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  size_t path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  parts->path = path_start == std::string_view::npos ? "" : std::string(rest.substr(path_start));
  size_t at = authority.rfind('@');
  parts->userinfo = at == std::string_view::npos ? "" : std::string(authority.substr(0, at));
  std::string_view hostport = at == std::string_view::npos ? authority : authority.substr(at + 1);
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    parts->host = lower(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    parts->port = !after.empty() && after[0] == ':' ? std::string(after.substr(1)) : "";
  } else {
    size_t colon = hostport.rfind(':');
    parts->host = lower(hostport.substr(0, colon));
    parts->port = colon == std::string_view::npos ? "" : std::string(hostport.substr(colon + 1));
  }
  for (char c : parts->port) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  if (parts->port.size() > 5 || (!parts->port.empty() && std::stoi(parts->port) > 65535)) {
    return false;
  }
  return parts->scheme == "sim" || !parts->host.empty();
}

bool isInternalUrl(std::string_view url) {
  UrlParts u;
  if (!splitUrl(url, &u)) {
    return false;
  }
  if (u.scheme == "sim") {
    return true;
  }
  std::string_view h = u.host;
  if (h == "localhost" || endsWith(h, ".localhost") || h == "::1") {
    return true;
  }
  unsigned char ip[4];
  if (parseIpv4(h, ip)) {
    return ip[0] == 127 || ip[0] == 10 || (ip[0] == 172 && ip[1] >= 16 && ip[1] <= 31) ||
           (ip[0] == 192 && ip[1] == 168) || (ip[0] == 169 && ip[1] == 254);
  }
  if (h.find(':') != std::string_view::npos) {  // IPv6: unique-local fc00::/7 and link-local fe80::/10
    return h.rfind("fc", 0) == 0 || h.rfind("fd", 0) == 0 || h.rfind("fe8", 0) == 0 ||
           h.rfind("fe9", 0) == 0 || h.rfind("fea", 0) == 0 || h.rfind("feb", 0) == 0;
  }
  if (h.find('.') == std::string_view::npos) {
    // A bare Service name in the LoadTest's namespace: a DNS-1035 label, which starts with a letter. A host
    // of digits (or 0x...) is an IPv4 address in disguise (134744072 is 8.8.8.8 to inet_aton), so it is not.
    bool label = !h.empty() && h[0] >= 'a' && h[0] <= 'z' && h.find("0x") != 0;
    for (char c : h) {
      label = label && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    }
    return label;
  }
  return endsWith(h, ".svc") || endsWith(h, ".svc.cluster.local") || endsWith(h, ".cluster.local");
}

bool validate(const LoadTest& test, Diagnostics* errors) {
  size_t before = errors->size();
  Validator(errors).run(test);
  return errors->size() == before;
}

}  // namespace tokenstorm::core
