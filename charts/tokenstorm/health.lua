-- Argo CD health check for tokenstorm.dev/LoadTest.
--
-- Install it in argocd-cm (or the Argo CD Helm chart's configs.cm):
--   resource.customizations.health.tokenstorm.dev_LoadTest: |
--     <this file>
--
-- Mapping (the same conditions kstatus/Flux read):
--   no status yet, or status of an older generation  -> Progressing "Waiting for controller"
--   Ready=True                                       -> Healthy   (test finished, verdict Pass)
--   Stalled=True                                     -> Degraded  (thresholds failed, budget exceeded, ...)
--   anything else                                    -> Progressing, message from Reconciling, else phase
local hs = {}

local function findCondition(conditions, condType)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == condType then
      return c
    end
  end
  return nil
end

-- "Reason: message", or whichever of the two is set.
local function describe(c)
  local reason = c.reason or ""
  local message = c.message or ""
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= "" then
    return message
  end
  return reason
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for controller"
  return hs
end

-- A status written for an older generation says nothing about the current spec.
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for controller"
  return hs
end

local conditions = obj.status.conditions

local ready = findCondition(conditions, "Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready)
  if hs.message == "" then
    hs.message = "Verdict: " .. (obj.status.verdict or "Pass")
  end
  return hs
end

local stalled = findCondition(conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  if hs.message == "" then
    hs.message = "Phase: " .. (obj.status.phase or "Failed")
  end
  return hs
end

hs.status = "Progressing"
local reconciling = findCondition(conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" and describe(reconciling) ~= "" then
  hs.message = describe(reconciling)
elseif obj.status.phase ~= nil and obj.status.phase ~= "" then
  hs.message = "Phase: " .. obj.status.phase
else
  hs.message = "Waiting for controller"
end
return hs
