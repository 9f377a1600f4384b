{{/*
warrenctl against the node's own gRPC port, logged in as the first user:
WARREN_USERNAME / WARREN_PASSWORD in the container's environment, so the
password is on no command line. -t keeps each call under the probe's
timeout.
*/}}
{{- define "warren.warrenctl" -}}
warrenctl -s -t 4 -n 127.0.0.1:{{ .Values.node.ports.grpc }}
{{- end -}}

{{/* Probe timing from values: (dict "probe" .Values.node.readinessProbe) */}}
{{- define "warren.probeTiming" -}}
{{- with .probe -}}
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
failureThreshold: {{ .failureThreshold }}
{{- end }}
{{- end -}}

{{/* A TCP probe on a named port: (dict "port" "amqp" "probe" ...) */}}
{{- define "warren.tcpProbe" -}}
tcpSocket:
  port: {{ .port }}
{{ include "warren.probeTiming" . }}
{{- end -}}
