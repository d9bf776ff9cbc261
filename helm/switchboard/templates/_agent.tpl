{{/*
The agent's settings, its secrets and the checks that refuse an unsafe agent. Helpers only:
agent-deployment.yaml renders them.
*/}}

{{/* The PBX's CIDRs: agent.allowedPeers, else networkPolicy.pbx.peers' ipBlocks. */}}
{{- define "switchboard.agentAllowedPeers" -}}
{{- $peers := .Values.agent.allowedPeers -}}
{{- if not $peers -}}
{{- range .Values.networkPolicy.pbx.peers }}{{ with .ipBlock }}{{ $peers = append $peers .cidr }}{{ end }}{{ end -}}
{{- end -}}
{{- toJson $peers -}}
{{- end -}}

{{/*
Who may reach the agent's call ports: the PBX networks and, with the SIP proxy on, where its SIP
comes from as the agent sees it: sipProxy.podNetworks (pod and Service networks) and the
recordRouteAddress when it is an IPv4 address (answers to the agent's BYE come back from it).
*/}}
{{- define "switchboard.agentCallPeers" -}}
{{- $peers := include "switchboard.agentAllowedPeers" . | fromJsonArray -}}
{{- $p := .Values.sipProxy -}}
{{- if $p.enabled -}}
{{- $peers = concat $peers $p.podNetworks -}}
{{- if regexMatch "^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$" $p.recordRouteAddress -}}
{{- $peers = append $peers (printf "%s/32" $p.recordRouteAddress) -}}
{{- end -}}
{{- $peers = uniq $peers -}}
{{- end -}}
{{- toJson $peers -}}
{{- end -}}

{{/*
The agent's switchboard settings as {section: {key: value}}: endpoints (NIMs or stand-ins), the
turn engine (the turn-server, or embedded), its listening ports, who may call and how many at
once. agent.settings wins. Each entry becomes SWITCHBOARD_<SECTION>__<KEY> (pipeline/settings.py).
Secrets are not here: see switchboard.agentSecretEnv.
*/}}
{{- define "switchboard.agentSettings" -}}
{{- $v := .Values -}}
{{- $speech := $v.standIns.speech -}}
{{- $asr := dict "server" $v.nim.asr.server "model" $v.nim.asr.model "language" $v.nim.asr.language "use_ssl" $v.nim.asr.useSsl -}}
{{- $tts := dict "server" $v.nim.tts.server "voice" $v.nim.tts.voice "language" $v.nim.tts.language "sample_rate" $v.nim.tts.sampleRate "use_ssl" $v.nim.tts.useSsl -}}
{{- if $speech.enabled -}}
{{- $addr := include "switchboard.speechStandInAddress" . -}}
{{- $asr = dict "server" $addr "model" $speech.asrModel "language" "en-US" "use_ssl" false -}}
{{- $tts = dict "server" $addr "voice" $speech.voice "language" "en-US" "sample_rate" $speech.sampleRate "use_ssl" false -}}
{{- end -}}
{{- $llm := dict "base_url" $v.nim.llm.baseUrl "model" $v.nim.llm.model -}}
{{- if $v.standIns.llm.enabled -}}
{{- $llm = dict "base_url" (printf "http://%s:%d/v1" (include "switchboard.componentName" (dict "root" . "component" "llm-server")) ($v.standIns.llm.port | int)) "model" $v.standIns.llm.model -}}
{{- end -}}
{{- $t := $v.agent.turn -}}
{{- $turn := dict "max_batch" $t.maxBatch "max_wait_ms" $t.maxWaitMs "deadline_ms" $t.deadlineMs "fallback" $t.fallback -}}
{{- if $v.turnServer.enabled -}}
{{- $_ := set $turn "engine" "triton" -}}
{{- $_ := set $turn "triton_url" (include "switchboard.turnServerAddress" .) -}}
{{- else -}}
{{- $_ := set $turn "engine" "local" -}}
{{- $_ := set $turn "device" $t.device -}}
{{- $_ := set $turn "cpu_threads" $t.cpuThreads -}}
{{- end -}}
{{- $p := $v.agent.ports -}}
{{- $agent := dict "host" "0.0.0.0" "sip_port" $p.sip "rtp_port_min" $v.agent.rtp.portMin "rtp_port_max" $v.agent.rtp.portMax "audiosocket_port" $p.audiosocket "websocket_port" $p.websocket "metrics_port" $p.metrics "health_port" $p.health "drain_timeout_s" $v.agent.shutdown.callDrainSeconds -}}
{{- $_ := set $agent "allowed_peers" (include "switchboard.agentCallPeers" . | fromJsonArray) -}}
{{- $_ := set $agent "max_calls" $v.agent.maxCalls -}}
{{- with $v.agent.sipAuth.user }}{{ $_ := set $agent "sip_auth_user" . }}{{ end -}}
{{- $settings := dict "asr" $asr "tts" $tts "llm" $llm "turn" $turn "agent" $agent -}}
{{- toYaml (mergeOverwrite $settings (deepCopy $v.agent.settings)) -}}
{{- end -}}

{{/* One env entry whose value comes from a Secret. Call with (dict "env" NAME "secret" {name, key}). */}}
{{- define "switchboard.secretEnvEntry" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret.name | quote }}
      key: {{ .secret.key | quote }}
{{- end -}}

{{/* The agent's secrets (LLM API key, SIP digest password, WebSocket token) as secretKeyRef env. */}}
{{- define "switchboard.agentSecretEnv" -}}
{{- $v := .Values -}}
{{- if and $v.nim.llm.apiKeySecret.name (not $v.standIns.llm.enabled) }}
{{ include "switchboard.secretEnvEntry" (dict "env" "SWITCHBOARD_LLM__API_KEY" "secret" $v.nim.llm.apiKeySecret) }}
{{- end }}
{{- if $v.agent.sipAuth.passwordSecret.name }}
{{ include "switchboard.secretEnvEntry" (dict "env" "SWITCHBOARD_AGENT__SIP_AUTH_PASSWORD" "secret" $v.agent.sipAuth.passwordSecret) }}
{{- end }}
{{- if $v.agent.websocketTokenSecret.name }}
{{ include "switchboard.secretEnvEntry" (dict "env" "SWITCHBOARD_AGENT__WEBSOCKET_TOKEN" "secret" $v.agent.websocketTokenSecret) }}
{{- end }}
{{- end -}}

{{/*
Refuse to render an agent that anyone may call, or whose secrets would sit in the pod spec as
plain text. Call with the root context and the merged settings: (dict "root" $ "settings" ...).
*/}}
{{- define "switchboard.agentChecks" -}}
{{- $v := .root.Values -}}
{{- $agent := default dict .settings.agent -}}
{{- if and $v.networkPolicy.enabled (not $v.networkPolicy.pbx.peers) -}}
{{- fail "networkPolicy.pbx.peers is empty: name the PBX/SBC networks that may send calls (e.g. - ipBlock: {cidr: 10.40.1.10/32}); there is no default (docs/deploy.md)" -}}
{{- end -}}
{{- if not $agent.allowed_peers -}}
{{- fail "the agent would admit no caller: list the PBX networks as ipBlock CIDRs in networkPolicy.pbx.peers, or in agent.allowedPeers (docs/deploy.md)" -}}
{{- end -}}
{{- $secrets := dict "agent.sip_auth_password" "agent.sipAuth.passwordSecret" "agent.websocket_token" "agent.websocketTokenSecret" "llm.api_key" "nim.llm.apiKeySecret" -}}
{{- range $setting, $value := $secrets -}}
{{- $path := splitList "." $setting -}}
{{- if hasKey (default dict (get $v.agent.settings (first $path))) (last $path) -}}
{{- fail (printf "agent.settings.%s would put a secret in the pod spec as plain text: name a Secret in %s instead" $setting $value) -}}
{{- end -}}
{{- $env := printf "SWITCHBOARD_%s" (replace "." "__" $setting | upper) -}}
{{- range $v.agent.extraEnv -}}
{{- if and (eq .name $env) (hasKey . "value") -}}
{{- fail (printf "agent.extraEnv sets %s as plain text: name a Secret in %s instead" $env $value) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $renamed := dict "sip_allowed_peers" "agent.allowedPeers (or networkPolicy.pbx.peers)" "sip_max_calls" "agent.maxCalls" -}}
{{- range $old, $new := $renamed -}}
{{- if hasKey (default dict $v.agent.settings.agent) $old -}}
{{- fail (printf "agent.settings.agent.%s is deprecated and would be ignored: set %s" $old $new) -}}
{{- end -}}
{{- end -}}
{{- if and $v.sipProxy.enabled $agent.sip_transfer_target (not (contains ":" (toString $agent.sip_transfer_target))) -}}
{{- fail "agent.settings.agent.sip_transfer_target is a bare extension, which is dialled at the address that sent the INVITE: behind sipProxy that is the proxy, not the PBX. Give a SIP URI (sip:1000@pbx.example)" -}}
{{- end -}}
{{- if and $agent.sip_auth_user (not $v.agent.sipAuth.passwordSecret.name) -}}
{{- fail "SIP digest authentication needs its password: name a Secret in agent.sipAuth.passwordSecret" -}}
{{- end -}}
{{- if and $v.agent.sipAuth.passwordSecret.name (not $agent.sip_auth_user) -}}
{{- fail "agent.sipAuth.passwordSecret is set but agent.sipAuth.user is empty: digest authentication stays off" -}}
{{- end -}}
{{- end -}}
