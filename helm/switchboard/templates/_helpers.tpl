{{/*
Named helpers. Every template builds its objects from these, so names, labels, images,
security settings and the values -> SWITCHBOARD_* settings mapping live in one place.
*/}}

{{/* Triton's fixed ports (the turn-server is PyTriton with its defaults). */}}
{{- define "switchboard.triton.httpPort" -}}8000{{- end -}}
{{- define "switchboard.triton.grpcPort" -}}8001{{- end -}}
{{- define "switchboard.triton.metricsPort" -}}8002{{- end -}}

{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name; component objects append "-<component>" (max 63 chars). */}}
{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of a component's objects. Call with (dict "root" $ "component" "agent"). */}}
{{- define "switchboard.componentName" -}}
{{- printf "%s-%s" (include "switchboard.fullname" .root) .component -}}
{{- end -}}

{{- define "switchboard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select a release's pods (stable across upgrades). */}}
{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one component. Call with (dict "root" $ "component" "agent"). */}}
{{- define "switchboard.componentSelectorLabels" -}}
{{ include "switchboard.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Every label of one component's objects. Call with (dict "root" $ "component" "agent"). */}}
{{- define "switchboard.labels" -}}
{{ include "switchboard.componentSelectorLabels" . }}
app.kubernetes.io/part-of: switchboard
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "switchboard.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The image reference of a component: global.imageRegistry + repository, then @digest or :tag.
Call with (dict "root" $ "image" .Values.agent.image); the component's keys win over image.*.
*/}}
{{- define "switchboard.image" -}}
{{- $img := merge (deepCopy (default dict .image)) .root.Values.image -}}
{{- $repo := $img.repository -}}
{{- with .root.Values.global.imageRegistry -}}
{{- $repo = printf "%s/%s" (trimSuffix "/" .) $repo -}}
{{- end -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $repo $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .root.Chart.AppVersion $img.tag | toString) -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.imagePullPolicy" -}}
{{- (merge (deepCopy (default dict .image)) .root.Values.image).pullPolicy -}}
{{- end -}}

{{/* The pod-level settings every component shares. */}}
{{- define "switchboard.podCommon" -}}
serviceAccountName: {{ include "switchboard.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Container securityContext: non-root, read-only root, no escalation, no capabilities. */}}
{{- define "switchboard.containerSecurityContext" -}}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
{{- end -}}

{{/* The writable scratch volume, and the env that points caches into it. */}}
{{- define "switchboard.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
{{- end -}}

{{- define "switchboard.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "switchboard.runtimeEnv" -}}
- name: HOME
  value: /tmp
- name: XDG_CACHE_HOME
  value: /tmp/.cache
- name: NUMBA_CACHE_DIR
  value: /tmp/numba-cache
# Thread pools sized to the CPU limit, not to the node's cores.
- name: NUMBA_NUM_THREADS
  valueFrom:
    resourceFieldRef: {resource: limits.cpu, divisor: "1"}
- name: OMP_NUM_THREADS
  valueFrom:
    resourceFieldRef: {resource: limits.cpu, divisor: "1"}
{{- end -}}

{{/* host:port of the stand-in speech server, or the ASR/TTS NIM. */}}
{{- define "switchboard.speechStandInAddress" -}}
{{- printf "%s:%d" (include "switchboard.componentName" (dict "root" . "component" "speech-server")) (.Values.standIns.speech.port | int) -}}
{{- end -}}

{{- define "switchboard.turnServerAddress" -}}
{{- printf "%s:%s" (include "switchboard.componentName" (dict "root" . "component" "turn-server")) (include "switchboard.triton.grpcPort" .) -}}
{{- end -}}

{{/* The port of "host:port" (a gRPC endpoint). */}}
{{- define "switchboard.portOf" -}}
{{- last (splitList ":" .) -}}
{{- end -}}

{{/* The port an OpenAI-compatible base URL reaches (80/443 when the URL names none). */}}
{{- define "switchboard.urlPort" -}}
{{- $u := urlParse . -}}
{{- $hostport := splitList ":" $u.host -}}
{{- if gt (len $hostport) 1 -}}
{{- last $hostport -}}
{{- else if eq $u.scheme "https" -}}
443
{{- else -}}
80
{{- end -}}
{{- end -}}

{{/* Render {section: {key: value}} as SWITCHBOARD_<SECTION>__<KEY> env entries. */}}
{{- define "switchboard.settingsEnv" -}}
{{- range $section, $keys := . }}
{{- range $key, $value := $keys }}
- name: {{ printf "SWITCHBOARD_%s__%s" $section $key | upper }}
  value: {{ if kindIs "slice" $value }}{{ toJson $value | quote }}{{ else }}{{ $value | toString | quote }}{{ end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Where the agent says its RTP lives (SDP): a fixed address, the pod IP or the node IP. */}}
{{- define "switchboard.agentAdvertiseEnv" -}}
- name: SWITCHBOARD_AGENT__ADVERTISE_ADDRESS
{{- if .Values.agent.network.advertiseAddress }}
  value: {{ .Values.agent.network.advertiseAddress | quote }}
{{- else }}
  valueFrom:
    fieldRef:
      fieldPath: {{ eq .Values.agent.network.mode "podIP" | ternary "status.podIP" "status.hostIP" }}
{{- end }}
{{- end -}}

{{/* A NetworkPolicy peer list, or "any pod in the cluster" when the list is empty. */}}
{{- define "switchboard.peersOrCluster" -}}
{{- if . -}}
{{ toYaml . }}
{{- else -}}
- namespaceSelector: {}
{{- end -}}
{{- end -}}
