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

{{- define "isr-operator.serverServiceAccount" -}}
{{- if eq .Values.server.mode "sidecar" }}
{{- include "isr-operator.managerServiceAccount" . }}
{{- else if .Values.server.serviceAccount.create }}
{{- default (printf "%s-server" (include "isr-operator.fullname" .)) .Values.server.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.server.serviceAccount.name }}
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
    - --max-concurrent-renders={{ .Values.manager.maxConcurrentRenders }}
    - --max-concurrent-renders-per-host={{ .Values.manager.maxConcurrentRendersPerHost }}
    - --max-redirects={{ .Values.manager.maxRedirects }}
    {{- range .Values.manager.allowOrigins }}
    - --allow-origin={{ . }}
    {{- end }}
    {{- with .Values.manager.allowedContentTypes }}
    - --allowed-content-types={{ join "," . }}
    {{- end }}
    - --retry-base-delay={{ .Values.manager.retryBaseDelay }}
    - --retry-max-delay={{ .Values.manager.retryMaxDelay }}
    - --zap-log-level={{ .Values.logLevel }}
    {{- with .Values.manager.extraArgs }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  env:
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
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
    - --shutdown-grace-period={{ .Values.server.shutdownGracePeriod }}
    {{- if .Values.server.disableOnRequestRevalidation }}
    - --disable-on-request-revalidation
    {{- end }}
    {{- if .Values.revalidateAPI.enabled }}
    - --revalidate-bind-address=:{{ .Values.revalidateAPI.port }}
    - --revalidate-secret={{ .Release.Namespace }}/{{ required "revalidateAPI.existingSecret is required when revalidateAPI.enabled" .Values.revalidateAPI.existingSecret }}
    - --revalidate-rate-limit={{ .Values.revalidateAPI.rateLimit }}
    - --revalidate-burst={{ .Values.revalidateAPI.burst }}
    - --revalidate-signature-window={{ .Values.revalidateAPI.signatureWindow }}
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
  readinessProbe:
    httpGet:
      path: /readyz
      port: server-healthz
    periodSeconds: 5
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .Values.server.resources | nindent 4 }}
{{- end }}
