{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "tokenstorm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Base for resource names. The release name is used as is when it already contains the chart name,
so `helm install tokenstorm` gives tokenstorm-operator / tokenstorm-runner, the names of manifests/.
Truncated to 54 characters to leave room for the "-operator" suffix.
*/}}
{{- define "tokenstorm.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 54 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tokenstorm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels common to every object. */}}
{{- define "tokenstorm.labels" -}}
helm.sh/chart: {{ include "tokenstorm.chart" . }}
app.kubernetes.io/name: {{ include "tokenstorm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tokenstorm
{{- end }}

{{/* Selector labels of the operator pods (immutable once installed: keep them small). */}}
{{- define "tokenstorm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tokenstorm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "tokenstorm.operatorName" -}}
{{- printf "%s-operator" (include "tokenstorm.fullname" .) }}
{{- end }}

{{- define "tokenstorm.runnerName" -}}
{{- printf "%s-runner" (include "tokenstorm.fullname" .) }}
{{- end }}

{{- define "tokenstorm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tokenstorm.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tokenstorm.runnerServiceAccountName" -}}
{{- default (include "tokenstorm.runnerName" .) .Values.runner.serviceAccount.name }}
{{- end }}

{{- define "tokenstorm.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "tokenstorm.runnerImage" -}}
{{- $repo := default .Values.image.repository .Values.runner.image.repository }}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.runner.image.tag }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}

{{/*
Namespaces in which runner pods may run, hence which get a runner ServiceAccount and RoleBinding:
the release namespace, the watched namespaces, and runner.extraNamespaces. One per line, no duplicates.
*/}}
{{- define "tokenstorm.runnerNamespaces" -}}
{{- $all := concat (list .Release.Namespace) .Values.watchNamespaces .Values.runner.extraNamespaces }}
{{- range (uniq $all) }}
{{ . }}
{{- end }}
{{- end }}
