{{/*
The release's full name: fullnameOverride, else "<release>-controller" (a release named
"headroom" gets the names of deploy/manifests). At most 63 characters (a DNS label: Service and
Lease names, label values); a name made from it with a suffix truncates it further where the
suffixed name must be a DNS label too (the metrics Service).
*/}}
{{- define "headroom.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-controller" (.Release.Name | trunc 52 | trimSuffix "-") }}
{{- end }}
{{- end }}

{{/* The metrics Service: a Service name is a DNS label (63 characters), so 55 + "-metrics". */}}
{{- define "headroom.metricsServiceName" -}}
{{- printf "%s-metrics" (include "headroom.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{/* The ServiceAccount the controller runs as. */}}
{{- define "headroom.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "headroom.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The leader-election Lease: one per release, so two releases in one namespace each lead. */}}
{{- define "headroom.leaseName" -}}
{{- default (include "headroom.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/* The ConfigMap with the alerts file: alerts.configMap.name, else the one made from alerts.config. */}}
{{- define "headroom.alertsConfigMapName" -}}
{{- default (printf "%s-alerts" (include "headroom.fullname" .)) .Values.alerts.configMap.name }}
{{- end }}

{{- define "headroom.labels" -}}
app.kubernetes.io/name: headroom
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "headroom.selector" -}}
app.kubernetes.io/name: headroom
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}
