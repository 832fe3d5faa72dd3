{{- define "type_members" -}}
{{- $field := . -}}
{{- if eq $field.Name "metadata" -}}
Refer to Kubernetes API documentation for fields of `metadata`.
{{- else -}}
{{ template "cellText" $field.Doc }}
{{- end -}}
{{- end -}}

{{- /* cellText renders a Go comment as one table cell: lines joined, HTML
special characters escaped (so "<hex>" stays text), pipes escaped. Braces
stay as written: GitHub's markdown gives them no meaning, and escaping
them would show backslashes inside code spans. */ -}}
{{- define "cellText" -}}
{{ . | replace "&" "&amp;" | replace "<" "&lt;" | replace ">" "&gt;" | replace "|" "\\|" | replace "\n" " " | trim }}
{{- end -}}

{{- /* docText renders a Go comment as a paragraph, HTML special characters
escaped. */ -}}
{{- define "docText" -}}
{{ . | replace "&" "&amp;" | replace "<" "&lt;" | replace ">" "&gt;" }}
{{- end -}}

{{- /* validation renders one validation marker of a field: CEL rules of
list items are left out (each field's description states them), a pattern
keeps the backquotes it is written in and its braces unescaped. */ -}}
{{- define "validation" -}}
{{- if hasPrefix "items:XValidation" . -}}
{{- else if eq . "Required: {}" -}}Required<br />
{{- else if eq . "Optional: {}" -}}Optional<br />
{{- else if hasPrefix "Pattern: " . -}}{{ . | replace "|" "\\|" }}<br />
{{- else -}}{{ markdownRenderFieldDoc . }}<br />
{{- end -}}
{{- end -}}
