{{/*
warrenctl against the node's own gRPC port, logged in as the first user (the
environment holds its name and password, hence sh -c). -t keeps each call
under the probe's timeout.
*/}}
{{- define "warren.warrenctl" -}}
warrenctl -s -t 4 -n 127.0.0.1:{{ .Values.node.ports.grpc }} -u "$WARREN_DEFAULT_USER" -p "$WARREN_DEFAULT_PASS"
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
