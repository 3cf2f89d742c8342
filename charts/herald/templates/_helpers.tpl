{{/*
The prefix of every object's name: the release name when it already says
"herald" (as in `helm install herald`), else "RELEASE-herald".
*/}}
{{- define "herald.fullname" -}}
{{- if contains "herald" .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-herald" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
Labels of every object: herald's own (the same as config/default's), then
Helm's bookkeeping (helm.sh/chart, app.kubernetes.io/managed-by). Call with
(dict "ctx" $ "component" "controller").
*/}}
{{- define "herald.labels" -}}
{{ include "herald.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end -}}

{{/* The labels selecting a component's pods. Same call as herald.labels. */}}
{{- define "herald.selectorLabels" -}}
app.kubernetes.io/name: herald
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* herald's image, repository:tag (the tag defaults to appVersion). */}}
{{- define "herald.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | toString | default .Chart.AppVersion) -}}
{{- end -}}

{{/* The FRR sidecar's image. */}}
{{- define "herald.frrImage" -}}
{{- printf "%s:%s" .Values.frr.image.repository (.Values.frr.image.tag | toString | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Arguments both binaries take from values. */}}
{{- define "herald.commonArgs" -}}
{{- with .Values.logLevel }}
- --log-level={{ . }}
{{- end }}
{{- with .Values.loadBalancerClass }}
- --lb-class={{ . }}
{{- end }}
{{- end -}}

{{/*
Checks of the values that a wrong one would otherwise turn into a broken
install; each names the value and the fix.
*/}}
{{- define "herald.validate" -}}
{{- if and (not .Values.bgp.enabled) (not .Values.l2.enabled) -}}
{{- fail "values bgp.enabled and l2.enabled are both false: herald would announce nothing; enable at least one" -}}
{{- end -}}
{{- if not (has (toString .Values.logLevel) (list "" "debug" "info" "error")) -}}
{{- fail (printf "value logLevel %q is not a log level: use debug, info or error (or leave it empty)" (toString .Values.logLevel)) -}}
{{- end -}}
{{- if and .Values.loadBalancerClass (not (regexMatch "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$" .Values.loadBalancerClass)) -}}
{{- fail (printf "value loadBalancerClass %q is not a label-style name: use e.g. heraldlb.io/bgp, or leave it empty to serve Services with no class" .Values.loadBalancerClass) -}}
{{- end -}}
{{- if lt (int .Values.controller.replicas) 1 -}}
{{- fail (printf "value controller.replicas is %v: run at least 1 (2 lets a standby take over at once)" .Values.controller.replicas) -}}
{{- end -}}
{{- if and .Values.bgp.enabled (not .Values.frr.image.repository) -}}
{{- fail "value frr.image.repository is empty while bgp.enabled is true: name the FRR sidecar's image (ghcr.io/heraldlb/herald-frr) or set bgp.enabled=false" -}}
{{- end -}}
{{- end -}}

{{/*
herald.serviceMonitors is "true" when the chart renders ServiceMonitors
for Prometheus Operator: metrics.serviceMonitor true, or "auto" and the
cluster serves monitoring.coreos.com/v1; else empty, and the pods carry
prometheus.io/ scrape annotations instead.
*/}}
{{- define "herald.serviceMonitors" -}}
{{- $m := toString .Values.metrics.serviceMonitor -}}
{{- if or (eq $m "true") (and (eq $m "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) -}}
true
{{- end -}}
{{- end -}}

{{/*
herald.prometheusRule is "true" when the chart renders the PrometheusRule
of herald's alerts (metrics.prometheusRule, like serviceMonitor).
*/}}
{{- define "herald.prometheusRule" -}}
{{- $m := toString .Values.metrics.prometheusRule -}}
{{- if or (eq $m "true") (and (eq $m "auto") (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) -}}
true
{{- end -}}
{{- end -}}
