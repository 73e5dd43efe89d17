{{/* Names */}}
{{- define "fleetscan.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fleetscan.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else if contains (include "fleetscan.name" .) .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "fleetscan.name" .) | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The validated cluster name (values.schema.json checks the pattern too). */}}
{{- define "fleetscan.clusterName" -}}
{{- required "clusterName is required: this cluster's name in NATS subjects (lowercase letters, digits and -)" .Values.clusterName -}}
{{- end -}}

{{/* Labels: common ones, and per component (call with dict "ctx" $ "component" "watcher"). */}}
{{- define "fleetscan.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "fleetscan.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fleetscan
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "fleetscan.componentLabels" -}}
{{ include "fleetscan.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "fleetscan.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fleetscan.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* <fullname>-<component> */}}
{{- define "fleetscan.componentName" -}}
{{- printf "%s-%s" (include "fleetscan.fullname" .ctx) .component -}}
{{- end -}}

{{- define "fleetscan.image" -}}
{{- printf "%s/fleetscan-%s:%s" (trimSuffix "/" .ctx.Values.image.prefix) .component (default .ctx.Chart.AppVersion .ctx.Values.image.tag) -}}
{{- end -}}

{{/* NATS */}}
{{- define "fleetscan.natsName" -}}
{{- printf "%s-nats" (include "fleetscan.fullname" .) -}}
{{- end -}}

{{- define "fleetscan.natsUrl" -}}
{{- if .Values.nats.bundled.enabled -}}
{{- printf "nats://%s.%s.svc:4222" (include "fleetscan.natsName" .) .Release.Namespace -}}
{{- else -}}
{{- required "nats.url is required when nats.bundled.enabled is false" .Values.nats.url -}}
{{- end -}}
{{- end -}}

{{- define "fleetscan.natsMonitoringEndpoint" -}}
{{- if .Values.nats.bundled.enabled -}}
{{- printf "%s.%s.svc:8222" (include "fleetscan.natsName" .) .Release.Namespace -}}
{{- else -}}
{{- required "nats.monitoringEndpoint (host:port of NATS monitoring) is required for the KEDA scaler with an external NATS" .Values.nats.monitoringEndpoint -}}
{{- end -}}
{{- end -}}

{{- define "fleetscan.natsAuthSecret" -}}
{{- if .Values.nats.auth.existingSecret -}}
{{- .Values.nats.auth.existingSecret -}}
{{- else if .Values.nats.bundled.enabled -}}
{{- printf "%s-credentials" (include "fleetscan.natsName" .) -}}
{{- else -}}
{{- fail "nats.auth.existingSecret is required: with an external NATS, this cluster's own NATS passwords come from a Secret (see deploy/README.md, adding a cluster)" -}}
{{- end -}}
{{- end -}}

{{/* The NATS user of a service (call with dict "ctx" $ "role" "watcher"): scanner, fleetview, watcher-<cluster>, writer-<cluster>. */}}
{{- define "fleetscan.natsUser" -}}
{{- if or (eq .role "scanner") (eq .role "fleetview") -}}
{{ .role }}
{{- else -}}
{{- printf "%s-%s" .role (include "fleetscan.clusterName" .ctx) -}}
{{- end -}}
{{- end -}}

{{/* Replicas of the streams, buckets and object stores the scanners create. */}}
{{- define "fleetscan.streamReplicas" -}}
{{- if .Values.nats.bundled.enabled -}}
{{- if ge (int .Values.nats.bundled.replicas) 3 }}3{{ else }}1{{ end -}}
{{- else -}}
{{- .Values.nats.streamReplicas -}}
{{- end -}}
{{- end -}}

{{/* NATS_URL, this service's own user and its password from the Secret (call with dict "ctx" $ "role" "watcher"). */}}
{{- define "fleetscan.natsEnv" -}}
{{- $v := .ctx.Values }}
- name: NATS_URL
  value: {{ include "fleetscan.natsUrl" .ctx | quote }}
- name: NATS_USER
  value: {{ include "fleetscan.natsUser" . | quote }}
- name: NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "fleetscan.natsAuthSecret" .ctx }}
      key: {{ index $v.nats.auth (printf "%sPasswordKey" .role) }}
{{- if $v.nats.tls.caSecret }}
- name: NATS_TLS_CA_FILE
  value: /etc/fleetscan/nats-ca/ca.crt
{{- end }}
{{- end -}}

{{/* /metrics, /healthz, /readyz on every interface of the pod, and the log level. */}}
{{- define "fleetscan.opsEnv" -}}
- name: METRICS_HOST
  value: 0.0.0.0
- name: METRICS_PORT
  value: {{ .Values.metricsPort | quote }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{/* Extra env: a map of name -> value, sorted. */}}
{{- define "fleetscan.extraEnv" -}}
{{- range $k, $v := . }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/* Pod and container hardening: what fleetscan's own config audit asks of a workload. */}}
{{- define "fleetscan.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "fleetscan.securityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "fleetscan.probes" -}}
startupProbe:
  httpGet: { path: /healthz, port: metrics }
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: { path: /healthz, port: metrics }
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet: { path: /readyz, port: metrics }
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{/* Go duration (e.g. 12h, 90m, 30s) to seconds; "" or 0 gives 0. */}}
{{- define "fleetscan.seconds" -}}
{{- $s := toString . -}}
{{- if or (eq $s "") (eq $s "0") -}}
0
{{- else if regexMatch "^[0-9]+$" $s -}}
{{- $s -}}
{{- else if regexMatch "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$" $s -}}
{{- $h := regexFind "[0-9]+h" $s | trimSuffix "h" | default "0" | atoi -}}
{{- $m := regexFind "[0-9]+m" $s | trimSuffix "m" | default "0" | atoi -}}
{{- $sec := regexFind "[0-9]+s" $s | trimSuffix "s" | default "0" | atoi -}}
{{- add (mul $h 3600) (mul $m 60) $sec -}}
{{- else -}}
{{- fail (printf "%q is not a duration such as 12h, 90m or 30s" $s) -}}
{{- end -}}
{{- end -}}

{{/* The bundled nats-server's users: this release's scanner, watcher and writer, and a watcher and writer per cluster in nats.bundled.clusters. */}}
{{- define "fleetscan.natsUsers" -}}
{{- $users := list (dict "user" "scanner" "role" "scanner" "env" "NATS_PW_SCANNER" "key" .Values.nats.auth.scannerPasswordKey) -}}
{{- $own := include "fleetscan.clusterName" . -}}
{{- range $c := prepend .Values.nats.bundled.clusters $own -}}
{{- range $role := list "watcher" "writer" -}}
{{- $key := ternary (printf "%sPasswordKey" $role | index $.Values.nats.auth) (printf "%s-%s-password" $role $c) (eq $c $own) -}}
{{- $users = append $users (dict "user" (printf "%s-%s" $role $c) "role" $role "cluster" $c "env" (printf "NATS_PW_%s_%s" ($role | upper) ($c | upper | replace "-" "_")) "key" $key) -}}
{{- end -}}
{{- end -}}
{{- if .Values.fleetview.enabled -}}
{{- $users = append $users (dict "user" "fleetview" "role" "fleetview" "env" "NATS_PW_FLEETVIEW" "key" .Values.nats.auth.fleetviewPasswordKey) -}}
{{- end -}}
{{- toJson $users -}}
{{- end -}}

{{/* The Secret holding the fleet view's bearer token: the given one, or the chart's. */}}
{{- define "fleetscan.fleetviewTokenSecret" -}}
{{- default (printf "%s-token" (include "fleetscan.componentName" (dict "ctx" . "component" "fleetview"))) .Values.fleetview.apiToken.existingSecret -}}
{{- end -}}

{{/* The bundled nats-server's configuration. */}}
{{- define "fleetscan.natsConf" -}}
{{- $n := .Values.nats.bundled }}
{{- $perms := .Files.Get "files/nats-permissions.json" }}
# Hosts are not set: nats-server listens on every interface of the pod.
server_name: $POD_NAME
port: 4222
http_port: 8222
lame_duck_duration: 30s
lame_duck_grace_period: 10s
# The store directory is given on the command line (--store_dir), next to the volume it lives on.
jetstream {
  max_file_store: {{ $n.jetstream.maxFileStore }}
  max_memory_store: {{ $n.jetstream.maxMemoryStore }}
}
{{- if gt (int $n.replicas) 1 }}
# A JetStream cluster of {{ $n.replicas }} pods. Only the NATS pods may reach the route port (the
# NetworkPolicy); clients never use it.
cluster {
  name: {{ include "fleetscan.natsName" . }}
  port: 6222
  routes: [
    {{- range $i := until (int $n.replicas) }}
    "nats-route://{{ include "fleetscan.natsName" $ }}-{{ $i }}.{{ include "fleetscan.natsName" $ }}-headless.{{ $.Release.Namespace }}.svc:6222"
    {{- end }}
  ]
}
{{- end }}
{{- if .Values.nats.tls.serverSecret }}
tls {
  cert_file: /etc/nats/tls/tls.crt
  key_file: /etc/nats/tls/tls.key
}
{{- end }}
# One user per service and cluster in the FLEETSCAN account, with the subject permissions of
# packages/bus/src/identities.ts (files/nats-permissions.json). Passwords come from the environment
# (the credentials Secret) and are never written here.
accounts {
  FLEETSCAN {
    jetstream: enabled
    users: [
      {{- range $u := include "fleetscan.natsUsers" . | fromJsonArray }}
      { user: {{ $u.user | quote }}, password: ${{ $u.env }}, permissions: {{ get ($perms | replace "CLUSTER_NAME" (default "" $u.cluster) | fromJson) $u.role | toJson | replace "\\u003e" ">" }} }
      {{- end }}
    ]
  }
}
{{- end -}}

{{/* A map of labels as key=value,key=value (REPORT_ADDITIONAL_LABELS), keys sorted. */}}
{{- define "fleetscan.labelPairs" -}}
{{- $pairs := list -}}
{{- range $k, $v := . -}}
{{- $pairs = append $pairs (printf "%s=%s" $k $v) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/*
The API resource of each kind configAudit.supportedKinds may name besides workloads (the watcher
and writer read every workload kind anyway): "group/resource", "" for the core group. The same map
as @fleetscan/inventory's RESOURCE_KIND_INFO; test/integration/deploy.test.ts compares them.
*/}}
{{- define "fleetscan.auditedResources" -}}
Service: /services
ConfigMap: /configmaps
Role: rbac.authorization.k8s.io/roles
RoleBinding: rbac.authorization.k8s.io/rolebindings
NetworkPolicy: networking.k8s.io/networkpolicies
Ingress: networking.k8s.io/ingresses
ResourceQuota: /resourcequotas
LimitRange: /limitranges
PersistentVolumeClaim: /persistentvolumeclaims
ClusterRole: rbac.authorization.k8s.io/clusterroles
ClusterRoleBinding: rbac.authorization.k8s.io/clusterrolebindings
CustomResourceDefinition: apiextensions.k8s.io/customresourcedefinitions
PersistentVolume: /persistentvolumes
{{- end -}}

{{/*
The audited kinds the watcher and writer read: configAudit.supportedKinds without the workload
kinds, and without Role and ClusterRole when RBAC assessment is off (the watcher then reports
nothing on them). A list of "group/resource", one per line.
*/}}
{{- define "fleetscan.auditedResourceList" -}}
{{- $map := include "fleetscan.auditedResources" . | fromYaml }}
{{- range .Values.configAudit.supportedKinds }}
{{- if and (hasKey $map .) (or $.Values.configAudit.rbacAssessment (not (has . (list "Role" "ClusterRole")))) }}
{{ get $map . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The config audit settings, for the watcher (all three) and the writer (the kinds). */}}
{{- define "fleetscan.auditEnv" -}}
- name: SUPPORTED_CONFIG_AUDIT_KINDS
  value: {{ join "," .Values.configAudit.supportedKinds | quote }}
{{- end -}}

{{/*
The report kinds fleetscan writes, as resource names of aquasecurity.github.io: the one list every
rule over reports is made from (the watcher's and writer's roles, the roles aggregated for namespace
users). The same list as @fleetscan/reports' OWNER_REPORT_KINDS; test/integration/deploy.test.ts
compares them. A new kind is one line here.
*/}}
{{- define "fleetscan.reportResources" -}}
- vulnerabilityreports
- configauditreports
- exposedsecretreports
- clusterconfigauditreports
- rbacassessmentreports
- clusterrbacassessmentreports
- infraassessmentreports
{{- end -}}
