#include "tokenstorm/operator/controller.h"

#include <charconv>
#include <iostream>

#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/kube/selector.h"

namespace tokenstorm::op {
namespace {

using Json = nlohmann::json;

// An object we wrote stands in for the cache's copy for at most this long (the informer normally sees it
// within milliseconds; an object deleted before it was ever seen must not live on here).
constexpr core::MonoNanos kRecentTtl_ns = 30'000'000'000;
// After a status update refused as stale (409), reconcile again after this: the informer catches up.
constexpr core::MonoNanos kConflictRequeue_ns = 500'000'000;

std::string str(const Json& j, const char* a, const char* b) {
  auto x = j.find(a);
  if (x == j.end() || !x->is_object()) {
    return "";
  }
  auto y = x->find(b);
  return y != x->end() && y->is_string() ? y->get<std::string>() : "";
}

std::optional<uint64_t> resourceVersion(const Json& object) {
  const std::string rv = str(object, "metadata", "resourceVersion");
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), value);
  if (ec != std::errc() || end != rv.data() + rv.size() || rv.empty()) {
    return std::nullopt;
  }
  return value;
}

const kube::ResourceRef* refFor(const std::string& kind) {
  if (kind == "ConfigMap") {
    return &kube::resources::kConfigMaps;
  }
  if (kind == "Job") {
    return &kube::resources::kJobs;
  }
  if (kind == "LoadTest") {
    return &kube::resources::kLoadTests;
  }
  return nullptr;
}

std::string quoteIfNeeded(const std::string& value) {
  if (!value.empty() && value.find_first_of(" \"=\t\n") == std::string::npos) {
    return value;
  }
  return Json(value).dump();
}

}  // namespace

void logLine(const char* level, const std::string& msg,
             const std::vector<std::pair<std::string, std::string>>& fields) {
  static std::mutex mutex;
  std::string line = "ts=" + formatTimeMillis(std::chrono::system_clock::now()) + " level=" + level +
                     " msg=" + quoteIfNeeded(msg);
  for (const auto& [key, value] : fields) {
    line += " " + key + "=" + quoteIfNeeded(value);
  }
  line += "\n";
  std::lock_guard lock(mutex);
  std::cerr << line << std::flush;
}

Controller::Controller(kube::Client& client, ControllerOptions options, prometheus::Registry& registry)
    : client_(client),
      options_(std::move(options)),
      queue_(*options_.clock),
      reconciles_(prometheus::BuildCounter()
                      .Name("tokenstorm_operator_reconciles_total")
                      .Help("Reconciles of LoadTests run.")
                      .Register(registry)
                      .Add({})),
      errors_(prometheus::BuildCounter()
                  .Name("tokenstorm_operator_reconcile_errors_total")
                  .Help("Reconciles that ended in an error (retried with backoff).")
                  .Register(registry)
                  .Add({})),
      queue_depth_(prometheus::BuildGauge()
                       .Name("tokenstorm_operator_queue_depth")
                       .Help("LoadTest keys waiting in the work queue (ready or delayed).")
                       .Register(registry)
                       .Add({})),
      phases_(prometheus::BuildGauge()
                  .Name("tokenstorm_operator_loadtests")
                  .Help("LoadTests in the operator's caches, by status.phase.")
                  .Register(registry)),
      verdicts_(prometheus::BuildCounter()
                    .Name("tokenstorm_operator_verdicts_total")
                    .Help("Verdicts written into LoadTest statuses, by verdict.")
                    .Register(registry)),
      budget_spent_(prometheus::BuildGauge()
                        .Name("tokenstorm_operator_budget_spent_usd")
                        .Help("Money spent by a LoadTest so far (status.summary.cost.spentUsd).")
                        .Register(registry)) {
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) {
    namespaces.push_back("");
  }
  const std::string managed = std::string(contract::kManagedByLabel) + "=" + contract::kManagedByValue;
  kube::InformerHandlers lt{[this](const Json& o) { enqueueLoadTest(o); },
                            [this](const Json&, const Json& o) { enqueueLoadTest(o); },
                            [this](const Json& o) { enqueueLoadTest(o); }};
  kube::InformerHandlers child{[this](const Json& o) { enqueueChild(o); },
                               [this](const Json&, const Json& o) { enqueueChild(o); },
                               [this](const Json& o) { enqueueChild(o); }};
  for (const std::string& ns : namespaces) {
    kube::InformerOptions informer;
    informer.resource = kube::resources::kLoadTests;
    informer.ns = ns;
    informer.clock = options_.clock;
    loadtests_.push_back(std::make_unique<kube::Informer>(client_, informer, lt));
    informer.labelSelector = managed;
    for (auto [list, ref] :
         {std::pair{&jobs_, &kube::resources::kJobs}, std::pair{&pods_, &kube::resources::kPods},
          std::pair{&configmaps_, &kube::resources::kConfigMaps}}) {
      informer.resource = *ref;
      list->push_back(std::make_unique<kube::Informer>(client_, informer, child));
    }
  }
}

Controller::~Controller() {
  stop();
}

void Controller::startInformers() {
  for (auto* list : {&loadtests_, &jobs_, &pods_, &configmaps_}) {
    for (auto& informer : *list) {
      informer->start();
    }
  }
}

bool Controller::synced() const {
  for (const auto* list : {&loadtests_, &jobs_, &pods_, &configmaps_}) {
    for (const auto& informer : *list) {
      if (!informer->hasSynced()) {
        return false;
      }
    }
  }
  return true;
}

void Controller::startWorkers() {
  if (workers_started_) {
    return;
  }
  workers_started_ = true;
  queue_.start(options_.workers, [this](const std::string& key) { return reconcile(key); });
  for (const auto& informer : loadtests_) {
    for (const std::string& key : informer->store().keys()) {
      queue_.add(key);
    }
  }
}

void Controller::stop() {
  queue_.shutdown();
  for (auto* list : {&loadtests_, &jobs_, &pods_, &configmaps_}) {
    for (auto& informer : *list) {
      informer->stop();
    }
  }
}

void Controller::enqueueLoadTest(const Json& object) {
  const std::string key = kube::objectKey(object);
  if (!key.empty()) {
    queue_.add(key);
  }
}

void Controller::enqueueChild(const Json& object) {
  const std::string ns = str(object, "metadata", "namespace");
  auto labels = object.contains("metadata") ? object["metadata"].find("labels") : object.end();
  if (ns.empty() || labels == object["metadata"].end() || !labels->is_object()) {
    return;
  }
  auto owner = labels->find(contract::kLoadTestLabel);
  if (owner != labels->end() && owner->is_string() && !owner->get<std::string>().empty()) {
    queue_.add(ns + "/" + owner->get<std::string>());
  }
}

kube::Informer* Controller::informerFor(const std::vector<std::unique_ptr<kube::Informer>>& informers,
                                        const std::string& ns) const {
  if (options_.namespaces.empty()) {
    return informers.front().get();
  }
  for (size_t i = 0; i < options_.namespaces.size(); ++i) {
    if (options_.namespaces[i] == ns) {
      return informers[i].get();
    }
  }
  return nullptr;
}

bool Controller::observeForTesting(const Json& object, bool deleted) {
  const std::string kind = object.value("kind", "");
  const std::vector<std::unique_ptr<kube::Informer>>* informers = kind == "LoadTest"    ? &loadtests_
                                                                  : kind == "Job"       ? &jobs_
                                                                  : kind == "Pod"       ? &pods_
                                                                  : kind == "ConfigMap" ? &configmaps_
                                                                                        : nullptr;
  kube::Informer* informer =
      informers ? informerFor(*informers, str(object, "metadata", "namespace")) : nullptr;
  if (informer == nullptr) {
    return false;
  }
  return informer->injectForTesting(deleted ? kube::WatcherAction(kube::Delete{object})
                                            : kube::WatcherAction(kube::Upsert{object}));
}

std::optional<Json> Controller::fresher(const std::string& kind, const std::optional<Json>& cached) {
  if (!cached) {
    return cached;
  }
  const std::string id = kind + "/" + kube::objectKey(*cached);
  std::lock_guard lock(mutex_);
  auto it = recent_.find(id);
  if (it == recent_.end()) {
    return cached;
  }
  auto ours = resourceVersion(it->second.object);
  auto theirs = resourceVersion(*cached);
  if (ours && theirs && *ours > *theirs) {
    return it->second.object;
  }
  recent_.erase(it);  // the cache has caught up
  return cached;
}

void Controller::remember(const std::string& kind, const Json& written) {
  if (!written.is_object() || !written.contains("metadata")) {
    return;
  }
  std::lock_guard lock(mutex_);
  recent_[kind + "/" + kube::objectKey(written)] = Recent{written, options_.clock->monotonicNanos()};
}

void Controller::forget(const std::string& kind, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  recent_.erase(kind + "/" + ns + "/" + name);
}

std::vector<Json> Controller::children(const std::vector<std::unique_ptr<kube::Informer>>& informers,
                                       const std::string& kind, const std::string& ns,
                                       const std::string& name) {
  kube::SelectorError error;
  auto selector = kube::LabelSelector::parse(std::string(contract::kLoadTestLabel) + "=" + name, &error);
  std::vector<Json> out;
  std::map<std::string, bool> seen;
  for (const auto& informer : informers) {
    for (Json& object : informer->store().list(ns, selector ? *selector : kube::LabelSelector())) {
      seen[kube::objectKey(object)] = true;
      out.push_back(*fresher(kind, object));
    }
  }
  // Objects we created that the informer has not delivered yet.
  std::lock_guard lock(mutex_);
  const std::string prefix = kind + "/" + ns + "/";
  const core::MonoNanos now = options_.clock->monotonicNanos();
  std::erase_if(recent_, [&](const auto& entry) { return now - entry.second.at > kRecentTtl_ns; });
  for (const auto& [id, recent] : recent_) {
    if (id.rfind(prefix, 0) == 0 && !seen.count(id.substr(kind.size() + 1)) &&
        recent.object["metadata"].value("labels", Json::object()).value(contract::kLoadTestLabel, "") ==
            name) {
      out.push_back(recent.object);
    }
  }
  return out;
}

void Controller::resolvePricing(World* world, const std::string& ns) {
  const Json& spec = world->loadTest.value("spec", Json::object());
  const Json budget = spec.value("budget", Json::object());
  if (!budget.contains("pricingRef") || !budget["pricingRef"].is_object()) {
    return;
  }
  const std::string name = budget["pricingRef"].value("name", "");
  const std::string key = budget["pricingRef"].value("key", "");
  auto cm = client_.get(kube::resources::kConfigMaps, ns, name);
  if (!cm) {
    world->pricingError = cm.error().notFound() ? "ConfigMap not found" : cm.error().str();
    return;
  }
  const Json data = cm->value("data", Json::object());
  if (!data.contains(key) || !data[key].is_string()) {
    world->pricingError = "no key \"" + key + "\"";
    return;
  }
  std::string why;
  world->resolvedPricing = parsePricing(data[key].get<std::string>(), &why);
  if (!world->resolvedPricing) {
    world->pricingError = why;
  }
}

kube::ReconcileOutcome Controller::reconcile(const std::string& key) {
  reconciles_.Increment();
  const size_t slash = key.find('/');
  const std::string ns = key.substr(0, slash);
  const std::string name = slash == std::string::npos ? key : key.substr(slash + 1);
  const kube::Informer* informer = informerFor(loadtests_, ns);
  std::optional<Json> cached = informer ? informer->store().get(key) : std::nullopt;
  if (!cached) {
    std::lock_guard lock(mutex_);
    last_status_.erase(key);
    last_verdict_.erase(key);
    budget_spent_.Remove(&budget_spent_.Add({{"namespace", ns}, {"loadtest", name}}));
    return kube::ReconcileOutcome::done();  // deleted: the garbage collector removes its children
  }
  World world;
  world.now = options_.clock->wallNow();
  world.loadTest = *fresher("LoadTest", cached);
  for (Json& cm : children(configmaps_, "ConfigMap", ns, name)) {
    const std::string cm_name = str(cm, "metadata", "name");
    const std::string role = cm["metadata"].value("labels", Json::object()).value(contract::kRoleLabel, "");
    if (cm_name == planName(name)) {
      world.plan = std::move(cm);
    } else if (cm_name == reportName(name)) {
      world.report = std::move(cm);
    } else if (role == "shard") {
      world.shards.push_back(std::move(cm));
    }
  }
  for (Json& job : children(jobs_, "Job", ns, name)) {
    if (str(job, "metadata", "name") == jobName(name)) {
      world.job = std::move(job);
    }
  }
  world.pods = children(pods_, "Pod", ns, name);
  resolvePricing(&world, ns);
  {
    std::lock_guard lock(mutex_);
    if (auto it = last_status_.find(key); it != last_status_.end()) {
      world.lastStatusUpdate = it->second;
    }
  }

  Decision decision = decide(world, options_.op);
  bool failed = false;
  bool conflict = false;
  for (const Action& action : decision.actions) {
    if (!execute(action, ns, world.loadTest, &conflict)) {
      failed = true;
      break;  // the rest waits for the retry: decide() again from the state then
    }
  }
  recordMetrics(world.loadTest, decision);
  if (conflict) {
    return kube::ReconcileOutcome::requeueAfter(kConflictRequeue_ns);
  }
  if (failed) {
    errors_.Increment();
    return kube::ReconcileOutcome::error();
  }
  if (decision.requeue.wait) {
    return kube::ReconcileOutcome::done();
  }
  return kube::ReconcileOutcome::requeueAfter(decision.requeue.after.nanos);
}

bool Controller::execute(const Action& action, const std::string& ns, const Json& loadtest, bool* conflict) {
  const std::vector<std::pair<std::string, std::string>> where = {
      {"loadtest", ns + "/" + str(loadtest, "metadata", "name")}, {"action", describe(action)}};
  auto failedCall = [&](const kube::ApiError& e) {
    auto fields = where;
    fields.emplace_back("error", e.str());
    logLine("error", "API call failed", fields);
    return false;
  };
  const kube::ResourceRef* ref = refFor(action.resource);
  switch (action.kind) {
    case Action::Kind::Create: {
      auto r = client_.create(*ref, ns, action.body);
      if (!r && !r.error().alreadyExists()) {
        return failedCall(r.error());
      }
      if (r) {
        remember(action.resource, *r);
      }
      break;
    }
    case Action::Kind::Patch: {
      auto r = client_.patch(*ref, ns, action.name, kube::PatchType::kMerge, action.body);
      if (!r) {
        return failedCall(r.error());
      }
      remember(action.resource, *r);
      break;
    }
    case Action::Kind::Delete: {
      kube::DeleteOptions options;
      options.propagationPolicy = action.propagation;
      auto r = client_.remove(*ref, ns, action.name, options);
      forget(action.resource, ns, action.name);
      if (!r && !r.error().notFound()) {
        return failedCall(r.error());
      }
      break;
    }
    case Action::Kind::UpdateStatus: {
      Json object = loadtest;
      object["status"] = action.body["status"];
      auto r = client_.updateStatus(*ref, ns, object);
      if (!r) {
        if (r.error().conflict()) {
          *conflict = true;
          logLine("info", "status update conflict; requeued", where);
          return false;
        }
        return failedCall(r.error());
      }
      remember(action.resource, *r);
      const std::string key = ns + "/" + action.name;
      const std::string verdict = str(*r, "status", "verdict");
      std::lock_guard lock(mutex_);
      last_status_[key] = options_.clock->wallNow();
      if (!verdict.empty() && str(loadtest, "status", "verdict").empty() && last_verdict_[key] != verdict) {
        last_verdict_[key] = verdict;
        verdicts_.Add({{"verdict", verdict}}).Increment();
      }
      break;
    }
    case Action::Kind::Event: {
      kube::EventRecord record = action.event;
      record.reportingInstance = options_.identity;
      auto r = client_.createEvent(record);
      if (!r) {
        failedCall(r.error());  // an Event is best effort: never retried
      }
      break;
    }
  }
  logLine("info", action.kind == Action::Kind::Event ? "event" : "applied", where);
  return true;
}

void Controller::recordMetrics(const Json& loadtest, const Decision& decision) {
  if (decision.status.summary) {
    budget_spent_
        .Add({{"namespace", str(loadtest, "metadata", "namespace")},
              {"loadtest", str(loadtest, "metadata", "name")}})
        .Set(decision.status.summary->cost.spentUsd.toDouble());
  }
  queue_depth_.Set(static_cast<double>(queue_.ready() + queue_.waiting()));
}

void Controller::refreshGauges() {
  std::map<std::string, double> counts;
  for (core::Phase p :
       {core::Phase::Pending, core::Phase::Provisioning, core::Phase::WarmingUp, core::Phase::Running,
        core::Phase::Succeeded, core::Phase::Failed, core::Phase::Aborted}) {
    counts[std::string(core::enumName(p))] = 0;
  }
  for (const auto& informer : loadtests_) {
    for (const Json& lt : informer->store().list()) {
      std::string phase = str(lt, "status", "phase");
      counts[phase.empty() ? "Pending" : phase] += 1;
    }
  }
  for (const auto& [phase, n] : counts) {
    phases_.Add({{"phase", phase}}).Set(n);
  }
  queue_depth_.Set(static_cast<double>(queue_.ready() + queue_.waiting()));
}

}  // namespace tokenstorm::op
