{{/*
Names. The release's name alone when it already says "warren" (helm install
warren charts/warren: warren-node-0, not warren-warren-node-0), else
RELEASE-warren; 63 characters at most, a DNS label's limit.
*/}}
{{- define "warren.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "warren.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's name: FULLNAME-node, FULLNAME-balancer, ... */}}
{{- define "warren.component" -}}
{{- printf "%s-%s" (include "warren.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "warren.node.name" -}}{{ include "warren.component" (dict "root" . "component" "node") }}{{- end -}}
{{- define "warren.headless.name" -}}{{ include "warren.component" (dict "root" . "component" "node-headless") }}{{- end -}}
{{- define "warren.balancer.name" -}}{{ include "warren.component" (dict "root" . "component" "balancer") }}{{- end -}}
{{- define "warren.mgmt.name" -}}{{ include "warren.component" (dict "root" . "component" "mgmt") }}{{- end -}}
{{- define "warren.exporter.name" -}}{{ include "warren.component" (dict "root" . "component" "exporter") }}{{- end -}}
{{- define "warren.secret.name" -}}{{ include "warren.component" (dict "root" . "component" "auth") }}{{- end -}}
{{- define "warren.node.config" -}}{{ include "warren.component" (dict "root" . "component" "node-config") }}{{- end -}}
{{- define "warren.balancer.config" -}}{{ include "warren.component" (dict "root" . "component" "balancer-config") }}{{- end -}}

{{- define "warren.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "warren.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: warren
{{- end -}}

{{- define "warren.selectorLabels" -}}
app.kubernetes.io/name: {{ include "warren.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one component: (dict "root" $ "component" "node") */}}
{{- define "warren.componentLabels" -}}
{{ include "warren.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "warren.componentSelector" -}}
{{ include "warren.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* An image: (dict "root" $ "image" .Values.node.image) */}}
{{- define "warren.image" -}}
{{- $registry := .root.Values.image.registry -}}
{{- $tag := .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $registry) .image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
The node pods' stable DNS names, through the headless Service (which
publishes them before they are ready: a node turns ready only once it has
joined the cluster these names form).
*/}}
{{- define "warren.node.domain" -}}
{{- printf "%s.%s.svc.%s" (include "warren.headless.name" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* HOST:PORT of every node, joined with ",": (dict "root" $ "port" 25672) */}}
{{- define "warren.node.addresses" -}}
{{- $root := .root -}}
{{- $name := include "warren.node.name" $root -}}
{{- $domain := include "warren.node.domain" $root -}}
{{- $out := list -}}
{{- range $i := until (int $root.Values.node.replicas) -}}
{{- $out = append $out (printf "%s-%d.%s:%d" $name $i $domain (int $.port)) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{- define "warren.grpcAddresses" -}}
{{- include "warren.node.addresses" (dict "root" . "port" .Values.node.ports.grpc) -}}
{{- end -}}

{{/*
The Secret's values: those given, else those the Secret already holds (an
upgrade keeps them: a cluster secret or password that changed under running
nodes would lock them out of each other, or the probes out of the nodes),
else new random ones. randAlphaNum's letters and digits are printable ASCII
without spaces, as the cluster secret must be.
*/}}
{{- define "warren.secret.values" -}}
{{- $old := dict -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "warren.secret.name" .) -}}
{{- if and $existing $existing.data -}}
{{- $old = $existing.data -}}
{{- end -}}
{{- $user := .Values.auth.username | default (get $old "username" | b64dec) | default "warren" -}}
{{- $pass := .Values.auth.password | default (get $old "password" | b64dec) | default (randAlphaNum 32) -}}
{{- $secret := .Values.auth.clusterSecret | default (get $old "cluster-secret" | b64dec) | default (randAlphaNum 64) -}}
{{- dict "username" $user "password" $pass "cluster-secret" $secret | toJson -}}
{{- end -}}

{{/* The pods' and containers' security contexts. */}}
{{- define "warren.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}

{{- define "warren.containerSecurityContext" -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- end -}}

{{/*
Spreads a component's pods over the cluster's machines: preferred (soft) by
default, required (hard) when asked. (dict "root" $ "component" "node"
"mode" "soft")
*/}}
{{- define "warren.antiAffinity" -}}
{{- $term := dict "labelSelector" (dict "matchLabels" (include "warren.componentSelector" . | fromYaml)) "topologyKey" .root.Values.podAntiAffinityTopologyKey -}}
{{- if eq .mode "hard" -}}
podAntiAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    - {{- toYaml $term | nindent 6 }}
{{- else if eq .mode "soft" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        {{- toYaml $term | nindent 8 }}
{{- end -}}
{{- end -}}

{{/*
The first user's credentials as environment variables, from the Secret:
(dict "root" $ "user" "WARREN_DEFAULT_USER" "pass" "WARREN_DEFAULT_PASS")
*/}}
{{- define "warren.credentialsEnv" -}}
- name: {{ .user }}
  valueFrom:
    secretKeyRef:
      name: {{ include "warren.secret.name" .root }}
      key: username
- name: {{ .pass }}
  valueFrom:
    secretKeyRef:
      name: {{ include "warren.secret.name" .root }}
      key: password
{{- end -}}
