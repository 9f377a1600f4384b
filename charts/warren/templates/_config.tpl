{{/*
warren.toml of every node (docker/warren.toml's settings). The environment
gives what differs per pod or is secret: WARREN_NODE_NAME,
WARREN_CLUSTER_SEEDS, WARREN_DEFAULT_USER/_PASS, WARREN_CLUSTER_SECRET_FROM,
WARREN_LOAD_DEFINITIONS.
*/}}
{{- define "warren.node.toml" -}}
amqp_listen = "0.0.0.0:{{ .Values.node.ports.amqp }}"
grpc_listen = "0.0.0.0:{{ .Values.node.ports.grpc }}"
data_dir = "/var/lib/warren"
log_level = {{ .Values.node.config.logLevel | quote }}
default_vhost = "/"
# The first user may log in from any address: every client comes over the
# pod network, none over loopback.
loopback_users = []
{{- with .Values.node.config.extra }}

{{ . }}
{{- end }}
{{- if or .Values.node.config.memoryLimit .Values.node.config.diskFreeLimit }}

[alarms]
{{- with .Values.node.config.memoryLimit }}
memory_limit = {{ . | quote }}
{{- end }}
{{- with .Values.node.config.diskFreeLimit }}
disk_free_limit = {{ . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
warren-balancer's configuration (conf/balancer.toml shows every key): one
listener in front of every node pod, each checked by an AMQP handshake.
*/}}
{{- define "warren.balancer.toml" -}}
{{- $c := .Values.balancer.config -}}
[global]
maxconn = {{ int $c.maxconn }}
# Below the pod's grace period: sessions get this long to finish on SIGTERM.
hard_stop_after = "10s"

[defaults]
mode = "tcp"
retries = 3
timeout_connect = {{ $c.timeoutConnect | quote }}
timeout_client = {{ $c.timeoutClient | quote }}
timeout_server = {{ $c.timeoutServer | quote }}

[[listen]]
name = "warren"
bind = "0.0.0.0:5672"
mode = "tcp"
balance = {{ $c.balance | quote }}
maxconn = {{ int $c.listenMaxconn }}
{{- $name := include "warren.node.name" . }}
{{- $domain := include "warren.node.domain" . }}
{{- range $i := until (int .Values.node.replicas) }}

[[listen.server]]
name = "{{ $name }}-{{ $i }}"
address = "{{ $name }}-{{ $i }}.{{ $domain }}:{{ $.Values.node.ports.amqp }}"
check = {{ $c.check.type | quote }}
inter = {{ $c.check.inter | quote }}
rise = {{ int $c.check.rise }}
fall = {{ int $c.check.fall }}
{{- end }}

[stats]
bind = "0.0.0.0:{{ .Values.balancer.statsPort }}"
uri = "/stats"
{{- end -}}
