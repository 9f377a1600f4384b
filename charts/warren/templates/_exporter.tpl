{{/*
warren-exporter as a container of each node pod (node-statefulset.yaml): it
shares the pod's network, so it reads its own node on 127.0.0.1's gRPC port
and nothing else. Each node is then a Prometheus target of its own, with
its own instance label, as RabbitMQ's dashboards and alert rules need: they
join every series to rabbitmq_identity_info by instance, which fails as
"duplicate series" when one target serves several nodes.
*/}}
{{- define "warren.exporter.container" -}}
{{- $port := int .Values.exporter.port -}}
{{- if has $port (list (int .Values.node.ports.amqp) (int .Values.node.ports.grpc)) -}}
{{- fail (printf "exporter.port %d is one of the node's ports: the two containers share the pod's network" $port) -}}
{{- end -}}
- name: exporter
  image: {{ include "warren.image" (dict "root" . "image" .Values.exporter.image) }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  # The image's entrypoint listens on 15692: the command names the port.
  command: ["warren-exporter"]
  args:
    - --http-listen
    - "0.0.0.0:{{ $port }}"
    - --nodes
    - "127.0.0.1:{{ .Values.node.ports.grpc }}"
  # It reads its node's figures as the first user.
  env:
    {{- include "warren.credentialsEnv" (dict "root" . "user" "WARREN_USERNAME" "pass" "WARREN_PASSWORD") | nindent 4 }}
  ports:
    - name: metrics
      containerPort: {{ $port }}
  readinessProbe:
    {{- include "warren.tcpProbe" (dict "port" "metrics" "probe" .Values.exporter.readinessProbe) | nindent 4 }}
  livenessProbe:
    {{- include "warren.tcpProbe" (dict "port" "metrics" "probe" .Values.exporter.livenessProbe) | nindent 4 }}
  resources:
    {{- toYaml .Values.exporter.resources | nindent 4 }}
  securityContext:
    {{- include "warren.containerSecurityContext" . | nindent 4 }}
{{- end -}}

{{/* The prometheus.io annotations of the exporter's Service. */}}
{{- define "warren.exporter.annotations" -}}
{{- $out := dict -}}
{{- if .Values.exporter.service.prometheusScrape -}}
{{- $_ := set $out "prometheus.io/scrape" "true" -}}
{{- $_ := set $out "prometheus.io/port" (toString .Values.exporter.port) -}}
{{- $_ := set $out "prometheus.io/path" .Values.exporter.path -}}
{{- end -}}
{{- with .Values.exporter.service.annotations -}}
{{- $out = merge (deepCopy .) $out -}}
{{- end -}}
{{- if $out -}}
{{- toYaml $out -}}
{{- end -}}
{{- end -}}
