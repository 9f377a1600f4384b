{{/*
The pod spec parts the balancer and mgmt Deployments share:
(dict "root" $ "component" "mgmt" "values" .Values.mgmt)
*/}}
{{- define "warren.podScheduling" -}}
{{- $v := .values -}}
{{- with .root.Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- include "warren.podSecurityContext" .root | nindent 2 }}
{{- if $v.affinity }}
affinity:
  {{- toYaml $v.affinity | nindent 2 }}
{{- else if ne $v.antiAffinity "none" }}
affinity:
  {{- include "warren.antiAffinity" (dict "root" .root "component" .component "mode" $v.antiAffinity) | nindent 2 }}
{{- end }}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
