{{/* Chart name, overridable. */}}
{{- define "isr-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name: "<release>-<chart>", or the release name when it already holds the chart name. */}}
{{- define "isr-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "isr-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "isr-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component; call with (dict "ctx" $ "component" "manager"). */}}
{{- define "isr-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "isr-operator.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The pods that serve pages: the manager's in sidecar mode, the server's otherwise. */}}
{{- define "isr-operator.servingComponent" -}}
{{- if eq .Values.server.mode "sidecar" }}manager{{ else }}server{{ end }}
{{- end }}

{{/* Image reference, by digest when one is given. */}}
{{- define "isr-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* ServiceAccount names. */}}
{{- define "isr-operator.managerServiceAccount" -}}
{{- if .Values.manager.serviceAccount.create }}
{{- default (printf "%s-manager" (include "isr-operator.fullname" .)) .Values.manager.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.manager.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The server's own ServiceAccount, in both modes: a sidecar authenticates as it too, with its token Secret. */}}
{{- define "isr-operator.serverServiceAccount" -}}
{{- $name := "" }}
{{- if .Values.server.serviceAccount.create }}
{{- $name = default (printf "%s-server" (include "isr-operator.fullname" .)) .Values.server.serviceAccount.name }}
{{- else }}
{{- $name = default "default" .Values.server.serviceAccount.name }}
{{- end }}
{{- if eq $name (include "isr-operator.managerServiceAccount" .) }}
{{- fail (printf "the server and the manager must not share the ServiceAccount %q: the server faces the internet and gets a smaller identity; set server.serviceAccount.name and manager.serviceAccount.name apart" $name) }}
{{- end }}
{{- $name }}
{{- end }}

{{/* Usernames the API server gives the two ServiceAccounts, which the admission policies are keyed on. */}}
{{- define "isr-operator.managerUsername" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "isr-operator.managerServiceAccount" . }}
{{- end }}

{{- define "isr-operator.serverUsername" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "isr-operator.serverServiceAccount" . }}
{{- end }}

{{/* The Secret holding the server ServiceAccount's token, for the server container in sidecar mode. */}}
{{- define "isr-operator.serverTokenSecret" -}}
{{- printf "%s-server-token" (include "isr-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Seconds in a Go duration such as "5s", "1m30s" or "250ms", as a float. */}}
{{- define "isr-operator.seconds" -}}
{{- $units := dict "ns" 0.000000001 "us" 0.000001 "µs" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 }}
{{- $total := 0.0 }}
{{- range $part := regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)" . -1 }}
{{- $number := regexFind "^[0-9]+(\\.[0-9]+)?" $part }}
{{- $total = addf $total (mulf ($number | float64) (get $units (trimPrefix $number $part))) }}
{{- end }}
{{- $total }}
{{- end }}

{{/*
terminationGracePeriodSeconds of a pod running the server: at SIGTERM it
stays up for server.shutdownDelay, then lets requests finish for up to
server.shutdownGracePeriod; 5 more seconds let it exit before the kubelet
kills it.
*/}}
{{- define "isr-operator.serverTerminationGracePeriod" -}}
{{- $delay := include "isr-operator.seconds" .Values.server.shutdownDelay | float64 }}
{{- $grace := include "isr-operator.seconds" .Values.server.shutdownGracePeriod | float64 }}
{{- add (addf $delay $grace | ceil | int) 5 }}
{{- end }}

{{/*
Scheduling of the pods that serve pages (the server's, or the manager's in
sidecar mode): rolling updates that start a new pod before stopping an old
one, and the topology spread constraints, each given the pods' selector
unless it has its own. Call with (dict "ctx" $ "component" "server").
*/}}
{{- define "isr-operator.servingStrategy" -}}
strategy:
  type: RollingUpdate
  rollingUpdate:
    maxSurge: 25%
    maxUnavailable: 0
{{- end }}

{{- define "isr-operator.servingSpread" -}}
{{- $constraints := list }}
{{- range .ctx.Values.server.topologySpreadConstraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" (include "isr-operator.selectorLabels" (dict "ctx" $.ctx "component" $.component) | fromYaml)) }}
{{- if not (hasKey $c "matchLabelKeys") }}
{{- $_ := set $c "matchLabelKeys" (list "pod-template-hash") }}
{{- end }}
{{- end }}
{{- $constraints = append $constraints $c }}
{{- end }}
{{- with $constraints -}}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The storage one component uses: storage.type, or for the server
storage.serverType while an install moves between stores. Call with (dict
"ctx" $ "component" "server").
*/}}
{{- define "isr-operator.storageType" -}}
{{- if and (eq .component "server") .ctx.Values.storage.serverType }}
{{- .ctx.Values.storage.serverType }}
{{- else }}
{{- .ctx.Values.storage.type }}
{{- end }}
{{- end }}

{{/* "true" when either component uses the object store. */}}
{{- define "isr-operator.usesS3" -}}
{{- if or (eq .Values.storage.type "s3") (eq .Values.storage.serverType "s3") }}true{{ end }}
{{- end }}

{{/*
Storage flags of one component (storage.*): --storage, the server's
--cache-size, and with the object store its --s3-* flags. The CA bundle from storage.s3.ca is mounted at
isr-operator.s3CADir. Call with (dict "ctx" $ "component" "manager").
*/}}
{{- define "isr-operator.storageArgs" -}}
{{- $s3 := .ctx.Values.storage.s3 }}
{{- $type := include "isr-operator.storageType" . }}
- --storage={{ $type }}
{{- if eq $type "s3" }}
- --s3-endpoint={{ required "storage.s3.endpoint is required when storage.type or storage.serverType is s3" $s3.endpoint }}
- --s3-bucket={{ required "storage.s3.bucket is required when storage.type or storage.serverType is s3" $s3.bucket }}
{{- with $s3.prefix }}
- --s3-prefix={{ . }}
{{- end }}
{{- with $s3.region }}
- --s3-region={{ . }}
{{- end }}
- --s3-path-style={{ $s3.pathStyle }}
- --s3-allow-http={{ $s3.allowHTTP }}
{{- with include "isr-operator.s3CAFile" .ctx }}
- --s3-ca-file={{ . }}
{{- end }}
- --s3-timeout={{ $s3.timeout }}
{{- if eq .component "manager" }}
- --s3-sweep-interval={{ $s3.sweepInterval }}
- --s3-sweep-grace={{ $s3.sweepGrace }}
- --s3-finalize-timeout={{ $s3.finalizeTimeout }}
{{- end }}
{{- end }}
{{- if ne .component "manager" }}
- --cache-size={{ .ctx.Values.storage.cacheSize }}
{{- end }}
{{- end }}

{{/* Where storage.s3.ca is mounted in both containers. */}}
{{- define "isr-operator.s3CADir" -}}
/etc/isr-operator/s3-ca
{{- end }}

{{/* The --s3-ca-file path: storage.s3.caFile, or the mounted storage.s3.ca bundle; empty for neither. */}}
{{- define "isr-operator.s3CAFile" -}}
{{- $s3 := .Values.storage.s3 }}
{{- if and (include "isr-operator.usesS3" .) (or $s3.ca.configMap $s3.ca.secret) }}
{{- if or (and $s3.ca.configMap $s3.ca.secret) $s3.caFile }}
{{- fail "storage.s3: set one of caFile, ca.configMap and ca.secret" }}
{{- end }}
{{- printf "%s/%s" (include "isr-operator.s3CADir" .) $s3.ca.key }}
{{- else if include "isr-operator.usesS3" . }}
{{- $s3.caFile }}
{{- end }}
{{- end }}

{{/*
Environment of one container for the object store; call with (dict "ctx" $
"component" "manager"). The component's existingSecret gives the standard
chain's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; each component has its
own, so the server never holds the manager's.
*/}}
{{- define "isr-operator.s3Env" -}}
{{- $s3 := .ctx.Values.storage.s3 }}
{{- if eq (include "isr-operator.storageType" .) "s3" }}
{{- with (get $s3 .component).existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: AWS_ACCESS_KEY_ID
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: AWS_SECRET_ACCESS_KEY
{{- end }}
{{- end }}
{{- end }}

{{/* The CA bundle's mount and volume, wherever a component uses the object store. */}}
{{- define "isr-operator.s3CAVolumeMount" -}}
{{- $s3 := .Values.storage.s3 }}
{{- if and (include "isr-operator.usesS3" .) (or $s3.ca.configMap $s3.ca.secret) }}
- name: s3-ca
  mountPath: {{ include "isr-operator.s3CADir" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "isr-operator.s3CAVolume" -}}
{{- $s3 := .Values.storage.s3 }}
{{- if and (include "isr-operator.usesS3" .) (or $s3.ca.configMap $s3.ca.secret) }}
- name: s3-ca
  {{- if $s3.ca.configMap }}
  configMap:
    name: {{ $s3.ca.configMap }}
  {{- else }}
  secret:
    secretName: {{ $s3.ca.secret }}
  {{- end }}
    items:
      - key: {{ $s3.ca.key }}
        path: {{ $s3.ca.key }}
{{- end }}
{{- end }}

{{/* The manager container. */}}
{{- define "isr-operator.managerContainer" -}}
- name: manager
  image: {{ include "isr-operator.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/manager"]
  args:
    - --metrics-bind-address={{ if .Values.metrics.enabled }}:8080{{ else }}0{{ end }}
    - --health-probe-bind-address=:8081
    - --leader-elect={{ .Values.manager.leaderElection.enabled }}
    - --leader-election-namespace={{ .Release.Namespace }}
    {{- with .Values.watchNamespaces }}
    - --namespaces={{ join "," . }}
    {{- end }}
    - --max-body-size={{ int64 .Values.maxBodySize }}
    - --default-origin-timeout={{ .Values.manager.defaultOriginTimeout }}
    - --max-origin-timeout={{ .Values.manager.maxOriginTimeout }}
    - --max-concurrent-renders={{ .Values.manager.maxConcurrentRenders }}
    - --max-concurrent-renders-per-host={{ .Values.manager.maxConcurrentRendersPerHost }}
    - --max-concurrent-renders-per-namespace={{ .Values.manager.maxConcurrentRendersPerNamespace }}
    - --max-redirects={{ .Values.manager.maxRedirects }}
    {{- range .Values.manager.allowOrigins }}
    - --allow-origin={{ . }}
    {{- end }}
    {{- with .Values.manager.denyOriginCIDRs }}
    - --deny-origin-cidrs={{ join "," . }}
    {{- end }}
    {{- with .Values.manager.allowedContentTypes }}
    - --allowed-content-types={{ join "," . }}
    {{- end }}
    {{- with .Values.manager.originTagHeaders }}
    - --origin-tag-header={{ join "," . }}
    {{- end }}
    - --cdn-purge-window={{ .Values.manager.cdnPurge.window }}
    {{- with .Values.manager.cdnPurge.servers }}
    - --cdn-purge-servers={{ join "," . }}
    {{- end }}
    - --retry-base-delay={{ .Values.manager.retryBaseDelay }}
    - --retry-max-delay={{ .Values.manager.retryMaxDelay }}
    - --host-grants={{ .Values.tenancy.hostGrants }}
    {{- include "isr-operator.storageArgs" (dict "ctx" . "component" "manager") | trim | nindent 4 }}
    - --zap-log-level={{ .Values.logLevel }}
    {{- with .Values.manager.extraArgs }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  env:
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    {{- with include "isr-operator.s3Env" (dict "ctx" . "component" "manager") | trim }}
    {{- . | nindent 4 }}
    {{- end }}
  ports:
    - name: healthz
      containerPort: 8081
    {{- if .Values.metrics.enabled }}
    - name: metrics
      containerPort: 8080
    {{- end }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: healthz
    periodSeconds: 20
  readinessProbe:
    httpGet:
      path: /readyz
      port: healthz
    periodSeconds: 10
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.manager.resources | nindent 4 }}
  {{- with include "isr-operator.s3CAVolumeMount" . | trim }}
  volumeMounts:
    {{- . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* The server container. */}}
{{- define "isr-operator.serverContainer" -}}
- name: server
  image: {{ include "isr-operator.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/server"]
  args:
    - --listen-address=:8000
    - --metrics-bind-address={{ if .Values.metrics.enabled }}:8090{{ else }}0{{ end }}
    - --health-probe-bind-address=:8091
    {{- with .Values.watchNamespaces }}
    - --namespaces={{ join "," . }}
    {{- end }}
    - --max-body-size={{ int64 .Values.maxBodySize }}
    - --stale-while-revalidate={{ .Values.server.staleWhileRevalidate }}
    - --stale-if-error={{ .Values.server.staleIfError }}
    - --on-demand-max-age={{ .Values.server.onDemandMaxAge }}
    - --shutdown-delay={{ .Values.server.shutdownDelay }}
    - --shutdown-grace-period={{ .Values.server.shutdownGracePeriod }}
    - --fallback-timeout={{ .Values.server.fallbackTimeout }}
    - --max-connections={{ int64 .Values.server.connections.max }}
    - --max-connections-per-client={{ int64 .Values.server.connections.maxPerClient }}
    - --max-header-bytes={{ int64 .Values.server.connections.maxHeaderBytes }}
    - --read-header-timeout={{ .Values.server.connections.readHeaderTimeout }}
    - --write-timeout={{ .Values.server.connections.writeTimeout }}
    - --idle-timeout={{ .Values.server.connections.idleTimeout }}
    {{- with .Values.server.cdn.tagHeaders }}
    - --cdn-tag-headers={{ join "," . }}
    {{- end }}
    {{- with .Values.server.cdn.cacheControl }}
    - --cdn-cache-control={{ . }}
    - --cdn-cache-control-header={{ $.Values.server.cdn.cacheControlHeader }}
    {{- end }}
    - --host-grants={{ .Values.tenancy.hostGrants }}
    {{- include "isr-operator.storageArgs" (dict "ctx" . "component" "server") | trim | nindent 4 }}
    {{- if .Values.server.disableOnRequestRevalidation }}
    - --disable-on-request-revalidation
    {{- end }}
    {{- if .Values.revalidateAPI.enabled }}
    - --revalidate-bind-address=:{{ .Values.revalidateAPI.port }}
    - --revalidate-secret={{ .Release.Namespace }}/{{ required "revalidateAPI.existingSecret is required when revalidateAPI.enabled" .Values.revalidateAPI.existingSecret }}
    - --revalidate-rate-limit={{ .Values.revalidateAPI.rateLimit }}
    - --revalidate-burst={{ .Values.revalidateAPI.burst }}
    - --revalidate-max-unauthenticated={{ .Values.revalidateAPI.maxUnauthenticated }}
    - --revalidate-signature-window={{ .Values.revalidateAPI.signatureWindow }}
    {{- with .Values.revalidateAPI.trustedProxies }}
    - --trusted-proxies={{ join "," . }}
    {{- end }}
    {{- end }}
    - --zap-log-level={{ .Values.logLevel }}
    {{- with .Values.server.extraArgs }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  env:
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    {{- with include "isr-operator.s3Env" (dict "ctx" . "component" "server") | trim }}
    {{- . | nindent 4 }}
    {{- end }}
  ports:
    - name: http
      containerPort: 8000
    - name: server-healthz
      containerPort: 8091
    {{- if .Values.metrics.enabled }}
    - name: server-metrics
      containerPort: 8090
    {{- end }}
    {{- if .Values.revalidateAPI.enabled }}
    - name: revalidate
      containerPort: {{ .Values.revalidateAPI.port }}
    {{- end }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: server-healthz
    periodSeconds: 20
  {{- /* Fails at once on SIGTERM while the listener keeps serving for shutdownDelay. */}}
  readinessProbe:
    httpGet:
      path: /readyz
      port: server-healthz
    periodSeconds: 2
    failureThreshold: 2
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.server.resources | nindent 4 }}
  {{- $caMount := include "isr-operator.s3CAVolumeMount" . | trim }}
  {{- if or (eq .Values.server.mode "sidecar") $caMount }}
  volumeMounts:
    {{- if eq .Values.server.mode "sidecar" }}
    {{- /*
    Over the pod's token path, in this container only: the server
    authenticates as its own ServiceAccount, and the manager's token, which
    the API server mounts into the other container, is not here.
    */}}
    - name: server-token
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    {{- end }}
    {{- with $caMount }}
    {{- . | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end }}

{{/* The namespaceSelector of a policy that acts only in the namespaces the release watches (watchNamespaces); none when it watches all. */}}
{{- define "isr-operator.watchedNamespaceSelector" -}}
{{- with .Values.watchNamespaces }}
namespaceSelector:
  matchExpressions:
    - key: kubernetes.io/metadata.name
      operator: In
      values: {{ toJson . }}
{{- end }}
{{- end }}
