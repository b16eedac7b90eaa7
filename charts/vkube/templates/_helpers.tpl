{{/*
The virtual cluster's name: the release name.
*/}}
{{- define "vkube.name" -}}
{{- if gt (len .Release.Name) 52 -}}
{{- fail (printf "release name %q: a virtual cluster name has at most 52 characters (the StatefulSet's revision label must fit 63)" .Release.Name) -}}
{{- end -}}
{{- .Release.Name -}}
{{- end -}}

{{- /* What the StatefulSet selects its pods by. Immutable once installed, and a tenant can set
these labels on a pod of its own: vkube's Services and NetworkPolicies select by
vkube.controlPlaneSelector instead. */ -}}
{{- define "vkube.selectorLabels" -}}
app.kubernetes.io/name: vkube
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- /* What vkube's own Services select the control-plane pods by: the selector labels and
vkube.io/control-plane (hostside.LabelControlPlane), which only the StatefulSet's pod template
sets; the syncer strips vkube.io/ keys from tenants' labels. */ -}}
{{- define "vkube.controlPlaneSelector" -}}
{{ include "vkube.selectorLabels" . }}
vkube.io/control-plane: {{ .Release.Name }}
{{- end -}}

{{/*
Labels of every object: the selector labels, helm's, and vkube.io/cluster (what vkube's own host
objects carry, and what the isolation NetworkPolicy selects the control plane by).
*/}}
{{- define "vkube.labels" -}}
{{ include "vkube.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
vkube.io/cluster: {{ .Release.Name }}
{{- end -}}

{{/*
vkube.truthy: "true" for true and for the strings YAML 1.1 reads as true (legacy values are
sometimes quoted), "" otherwise.
*/}}
{{- define "vkube.truthy" -}}
{{- if has (lower (toString .)) (list "true" "yes" "on") -}}true{{- end -}}
{{- end -}}

{{/*
vkube.setting: a switch that is the vkube.yaml key when set, else the legacy value. Argument:
(list NEW LEGACY), NEW a bool or absent (""), LEGACY anything (absent: "" or nil). "true" or "".
*/}}
{{- define "vkube.setting" -}}
{{- $new := index . 0 -}}
{{- if kindIs "bool" $new -}}
{{- if $new }}true{{ end -}}
{{- else -}}
{{- include "vkube.truthy" (index . 1) -}}
{{- end -}}
{{- end -}}

{{/*
vkube.kubeVersion: the Kubernetes version the image must carry. The enabled k8s or eks distro's
version; else the version of a Kubernetes component image in legacy values (vcluster.image,
api.image, controller.image, scheduler.image: what config/legacy_distro.go infers the distro and
version from; a k3s or k0s vcluster.image selects those distros and tells nothing here); else
v1.34.2 (config.DefaultKubernetesVersion).
*/}}
{{- define "vkube.kubeVersion" -}}
{{- $v := .Values.AsMap -}}
{{- $d := dig "controlPlane" "distro" dict $v -}}
{{- $version := "" -}}
{{- if dig "eks" "enabled" false $d -}}
{{- $version = dig "eks" "version" "" $d -}}
{{- else -}}
{{- $version = dig "k8s" "version" "" $d -}}
{{- end -}}
{{- $otherDistro := or (dig "k3s" "enabled" false $d) (dig "k0s" "enabled" false $d) -}}
{{- if and (not $version) (not $otherDistro) -}}
{{- $done := false -}}
{{- range $img := list (dig "vcluster" "image" "" $v) (dig "api" "image" "" $v) (dig "controller" "image" "" $v) (dig "scheduler" "image" "" $v) -}}
{{- if and (not $done) (kindIs "string" $img) $img -}}
{{- $ref := first (splitList "@" $img) -}}
{{- $tag := trimPrefix ":" (regexFind ":[^:/]+$" $ref) -}}
{{- $name := lower (base (regexReplaceAll ":[^:/]+$" $ref "")) -}}
{{- if regexMatch "k3s|k0s" $name -}}
{{- $done = true -}}
{{- else if regexMatch "kube-(apiserver|controller-manager|scheduler)" $name -}}
{{- $done = true -}}
{{- with regexFind "^v?[0-9]+\\.[0-9]+\\.[0-9]+" $tag -}}
{{- $version = printf "v%s" (trimPrefix "v" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- default "v1.34.2" $version -}}
{{- end -}}

{{/*
vkube.settings: every setting the templates use, as YAML (read it with fromYaml), resolved in
one place. Each is the vkube.yaml key when set, else the legacy vcluster chart value it replaces
(the keys config/legacy*.go converts for the runtime, so that both read the values alike), else
vkube's default.
*/}}
{{- define "vkube.settings" -}}
{{- $v := .Values.AsMap -}}
{{- $cp := dig "controlPlane" dict $v -}}
{{- $sts := dig "statefulSet" dict $cp -}}
{{- $out := dict -}}

{{- /* Replicas: legacy values give them per component; vkube runs every component in each
replica, so the largest count (config/legacy_distro.go does the same; enableHA alone adds none). */ -}}
{{- $replicas := int (dig "highAvailability" "replicas" 0 $sts) -}}
{{- if le $replicas 0 -}}
{{- $replicas = 1 -}}
{{- range $r := list (dig "replicas" 0 $v) (dig "syncer" "replicas" 0 $v) (dig "api" "replicas" 0 $v) (dig "controller" "replicas" 0 $v) (dig "scheduler" "replicas" 0 $v) (dig "etcd" "replicas" 0 $v) -}}
{{- if gt (int $r) $replicas -}}{{- $replicas = int $r -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set $out "replicas" $replicas -}}

{{- /* Image. */ -}}
{{- $img := dig "image" dict $sts -}}
{{- $tag := toString (get $img "tag") -}}
{{- if not $tag -}}
{{- $tag = printf "%s-k8s-%s" .Chart.AppVersion (include "vkube.kubeVersion" .) -}}
{{- end -}}
{{- $image := printf "%s:%s" (default "ghcr.io/vkube/vkube" (get $img "repository")) $tag -}}
{{- with get $img "registry" -}}
{{- $image = printf "%s/%s" (trimSuffix "/" .) $image -}}
{{- end -}}
{{- $_ := set $out "image" $image -}}
{{- $_ := set $out "imagePullPolicy" (default "IfNotPresent" (get $sts "imagePullPolicy")) -}}

{{- /* Resources: vkube.yaml's, else the legacy top-level ones, else the defaults. */ -}}
{{- $legacyResources := dict -}}
{{- if kindIs "map" (get $v "resources") -}}{{- $legacyResources = get $v "resources" -}}{{- end -}}
{{- $defaultResources := dict "requests" (dict "cpu" "200m" "memory" "256Mi") "limits" (dict "memory" "2Gi") -}}
{{- $_ := set $out "resources" (coalesce (get $sts "resources") $legacyResources $defaultResources) -}}

{{- /* Persistence. "Auto" (enabled unset): on unless an external datastore holds the state;
legacy values may name one with k3s' --datastore-endpoint. */ -}}
{{- $bs := dig "backingStore" dict $cp -}}
{{- $external := or (dig "database" "external" "enabled" false $bs) (dig "etcd" "external" "enabled" false $bs) -}}
{{- range $comp := list "vcluster" "api" "controller" -}}
{{- $args := dig $comp "extraArgs" (list) $v -}}
{{- if kindIs "string" $args -}}{{- $args = list $args -}}{{- end -}}
{{- range $a := $args -}}
{{- if hasPrefix "--datastore-endpoint" (toString $a) -}}{{- $external = true -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- $vc := dig "persistence" "volumeClaim" dict $sts -}}
{{- $legacyPersistence := "" -}}
{{- range $p := list (dig "storage" "persistence" "" $v) (dig "etcd" "storage" "persistence" "" $v) -}}
{{- if and (eq $legacyPersistence "") (not (kindIs "invalid" $p)) (ne (toString $p) "") -}}
{{- $legacyPersistence = ternary "on" "off" (eq (include "vkube.truthy" $p) "true") -}}
{{- end -}}
{{- end -}}
{{- $persistence := not $external -}}
{{- if kindIs "bool" (get $vc "enabled") -}}
{{- $persistence = get $vc "enabled" -}}
{{- else if $legacyPersistence -}}
{{- $persistence = eq $legacyPersistence "on" -}}
{{- end -}}
{{- $retention := toString (get $vc "retentionPolicy") -}}
{{- if and $retention (not (has $retention (list "Retain" "Delete"))) -}}
{{- fail (printf "controlPlane.statefulSet.persistence.volumeClaim.retentionPolicy %q: use Retain or Delete" $retention) -}}
{{- end -}}
{{- $_ := set $out "persistence" (dict
  "enabled" $persistence
  "size" (toString (coalesce (get $vc "size") (dig "storage" "size" "" $v) (dig "etcd" "storage" "size" "" $v) "5Gi"))
  "storageClass" (toString (coalesce (get $vc "storageClass") (dig "storage" "className" "" $v) (dig "etcd" "storage" "className" "" $v) | default ""))
  "accessModes" (coalesce (get $vc "accessModes") (list "ReadWriteOnce"))
  "retentionPolicy" $retention) -}}

{{- /* Security contexts: defaults that pass the restricted Pod Security Standard, then the
legacy contexts (the top-level securityContext/podSecurityContext/fsGroup and each legacy
component's, the first value of a key winning, as config/legacy_pod.go folds them), then
vkube.yaml's, key by key. Legacy capabilities are left out: vkube's default drops ALL, which
covers any legacy drop list (`[all]` included), and adds (CAP_NET_BIND_SERVICE) are what
restricted forbids and vkube, on unprivileged ports, does not need. */ -}}
{{- $pod := dict "runAsNonRoot" true "runAsUser" 1000 "runAsGroup" 1000 "fsGroup" 1000 "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- $container := dict "allowPrivilegeEscalation" false "capabilities" (dict "drop" (list "ALL")) "readOnlyRootFilesystem" true "runAsNonRoot" true -}}
{{- $podOnly := list "fsGroup" "fsGroupChangePolicy" "supplementalGroups" "sysctls" -}}
{{- $legacyPod := dict -}}
{{- $legacyContainer := dict -}}
{{- range $base := list "" "vcluster" "syncer" "api" "controller" "scheduler" "etcd" -}}
{{- $m := $v -}}
{{- if $base -}}{{- $m = get $v $base -}}{{- end -}}
{{- if kindIs "map" $m -}}
{{- $sc := get $m "securityContext" -}}
{{- if kindIs "map" $sc -}}
{{- range $k, $val := $sc -}}
{{- if ne $k "capabilities" -}}
{{- $dst := ternary $legacyPod $legacyContainer (has $k $podOnly) -}}
{{- if not (hasKey $dst $k) -}}{{- $_ := set $dst $k $val -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $psc := get $m "podSecurityContext" -}}
{{- if kindIs "map" $psc -}}
{{- range $k, $val := $psc -}}
{{- if not (hasKey $legacyPod $k) -}}{{- $_ := set $legacyPod $k $val -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- $fsGroup := get $m "fsGroup" -}}
{{- if and (or (kindIs "int" $fsGroup) (kindIs "int64" $fsGroup) (kindIs "float64" $fsGroup)) (not (hasKey $legacyPod "fsGroup")) -}}
{{- $_ := set $legacyPod "fsGroup" $fsGroup -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $security := dig "security" dict $sts -}}
{{- range $src := list $legacyPod (dig "podSecurityContext" dict $security) -}}
{{- range $k, $val := $src -}}{{- $_ := set $pod $k $val -}}{{- end -}}
{{- end -}}
{{- range $src := list $legacyContainer (dig "containerSecurityContext" dict $security) -}}
{{- range $k, $val := $src -}}{{- $_ := set $container $k $val -}}{{- end -}}
{{- end -}}
{{- $_ := set $out "podSecurityContext" $pod -}}
{{- $_ := set $out "containerSecurityContext" $container -}}

{{- /* Extra volumes and mounts: vkube.yaml's, then the legacy charts'. A legacy mount of the
chart's own data volume (seed 002 mounts `data` at /data) is vkube's data mount already. */ -}}
{{- $volumes := list -}}
{{- range $x := get $sts "extraVolumes" -}}{{- $volumes = append $volumes $x -}}{{- end -}}
{{- range $l := list (get $v "volumes") (dig "syncer" "volumes" (list) $v) (dig "syncer" "extraVolumes" (list) $v) (dig "vcluster" "extraVolumes" (list) $v) -}}
{{- if kindIs "slice" $l -}}{{- range $x := $l -}}{{- $volumes = append $volumes $x -}}{{- end -}}{{- end -}}
{{- end -}}
{{- $mounts := list -}}
{{- range $x := get $sts "extraVolumeMounts" -}}{{- $mounts = append $mounts $x -}}{{- end -}}
{{- range $l := list (get $v "volumeMounts") (dig "vcluster" "volumeMounts" (list) $v) (dig "vcluster" "extraVolumeMounts" (list) $v) (dig "syncer" "volumeMounts" (list) $v) (dig "syncer" "extraVolumeMounts" (list) $v) -}}
{{- if kindIs "slice" $l -}}
{{- range $x := $l -}}
{{- if and (kindIs "map" $x) (ne (toString (get $x "name")) "data") (ne (clean (toString (get $x "mountPath"))) "/data") (not (has $x $mounts)) -}}
{{- $mounts = append $mounts $x -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set $out "extraVolumes" $volumes -}}
{{- $_ := set $out "extraVolumeMounts" $mounts -}}

{{- /* Placement and metadata: vkube.yaml's, else the legacy top-level keys. */ -}}
{{- range $k := list "nodeSelector" "tolerations" "affinity" "labels" "annotations" "podLabels" "podAnnotations" -}}
{{- $_ := set $out $k (coalesce (get $sts $k) (get $v $k) | default (ternary (list) (dict) (eq $k "tolerations"))) -}}
{{- end -}}
{{- $_ := set $out "env" (default (list) (get $sts "env")) -}}

{{- /* The API Service: vkube.yaml's keys, else the legacy service.*. */ -}}
{{- $svc := dig "service" dict $cp -}}
{{- $legacySvc := get $v "service" -}}
{{- if not (kindIs "map" $legacySvc) -}}{{- $legacySvc = dict -}}{{- end -}}
{{- $svcType := toString (coalesce (get $svc "type") (get $legacySvc "type") "ClusterIP") -}}
{{- if not (has $svcType (list "ClusterIP" "NodePort" "LoadBalancer")) -}}
{{- fail (printf "controlPlane.service.type %q: use ClusterIP, NodePort or LoadBalancer" $svcType) -}}
{{- end -}}
{{- $_ := set $out "service" (dict
  "type" $svcType
  "nodePort" (int (coalesce (get $svc "nodePort") (get $legacySvc "nodePort") | default 0))
  "annotations" (merge (dict) (dig "annotations" dict $svc) (dig "annotations" dict $legacySvc))
  "labels" (merge (dict) (dig "labels" dict $svc) (dig "labels" dict $legacySvc))) -}}

{{- /* The API Ingress: vkube.yaml's keys, else the legacy ingress.* (inert unless enabled). */ -}}
{{- $ing := dig "ingress" dict $cp -}}
{{- $legacyIng := get $v "ingress" -}}
{{- if not (and (kindIs "map" $legacyIng) (include "vkube.truthy" (get $legacyIng "enabled"))) -}}{{- $legacyIng = dict -}}{{- end -}}
{{- $ingEnabled := eq (include "vkube.setting" (list (get $ing "enabled") (get $legacyIng "enabled"))) "true" -}}
{{- $ingHost := toString (coalesce (get $ing "host") (get $legacyIng "host") | default "") -}}
{{- if and $ingEnabled (not $ingHost) -}}
{{- fail "controlPlane.ingress.host: the ingress needs the host name the virtual cluster's API is reached at, e.g. vkube.example.com" -}}
{{- end -}}
{{- $_ := set $out "ingress" (dict
  "enabled" $ingEnabled
  "host" $ingHost
  "ingressClassName" (toString (coalesce (get $ing "ingressClassName") (get $legacyIng "ingressClassName") | default ""))
  "annotations" (merge (dict) (dig "annotations" dict $ing) (dig "annotations" dict $legacyIng))) -}}

{{- /* Host access beyond the namespace, for the syncer's cluster-scoped kinds: vkube.yaml's
switches, else the legacy sync.<kind>.enabled. */ -}}
{{- $sync := dig "sync" dict $v -}}
{{- $toHost := dig "toHost" dict $sync -}}
{{- $fromHost := dig "fromHost" dict $sync -}}
{{- $legacySync := dict -}}
{{- range $k, $val := $sync -}}
{{- if and (kindIs "map" $val) (not (has $k (list "toHost" "fromHost"))) -}}{{- $_ := set $legacySync $k (get $val "enabled") -}}{{- end -}}
{{- end -}}
{{- $legacyHostStorageClasses := or (include "vkube.truthy" (get $legacySync "legacy-storageclasses")) (include "vkube.truthy" (get $legacySync "hoststorageclasses")) -}}
{{- $_ := set $out "clusterAccess" (dict
  "nodes" (eq (include "vkube.setting" (list (dig "nodes" "enabled" "" $fromHost) (get $legacySync "nodes"))) "true")
  "persistentVolumes" (eq (include "vkube.setting" (list (dig "persistentVolumes" "enabled" "" $toHost) (get $legacySync "persistentvolumes"))) "true")
  "storageClasses" (eq (include "vkube.setting" (list (dig "storageClasses" "enabled" "" $toHost) (get $legacySync "storageclasses"))) "true")
  "hostStorageClasses" (eq (include "vkube.setting" (list (dig "storageClasses" "enabled" "" $fromHost) $legacyHostStorageClasses)) "true")
  "priorityClasses" (eq (include "vkube.setting" (list (dig "priorityClasses" "enabled" "" $toHost) (get $legacySync "priorityclasses"))) "true")) -}}

{{- /* Host access beyond the core: the other features of hostside.Access (the Role). */ -}}
{{- $_ := set $out "syncAccess" (dict
  "ingresses" (eq (include "vkube.setting" (list (dig "ingresses" "enabled" "" $toHost) (get $legacySync "ingresses"))) "true")
  "networkPolicies" (eq (include "vkube.setting" (list (dig "networkPolicies" "enabled" "" $toHost) (get $legacySync "networkpolicies"))) "true")
  "podDisruptionBudgets" (eq (include "vkube.setting" (list (dig "podDisruptionBudgets" "enabled" "" $toHost) (get $legacySync "poddisruptionbudgets"))) "true")) -}}

{{- /* Namespaces other than the release's that mapServices.fromHost reads Services from, with
those Services' names (networking.replicateServices.fromHost, legacy mapServices.fromHost;
hostside.SourceNamespaces). */ -}}
{{- $sources := dict -}}
{{- range $m := concat (dig "networking" "replicateServices" "fromHost" list $v) (dig "mapServices" "fromHost" list $v) -}}
{{- $from := splitList "/" (toString (get $m "from")) -}}
{{- if and (eq (len $from) 2) (first $from) (ne (first $from) $.Release.Namespace) -}}
{{- $names := get $sources (first $from) | default list -}}
{{- if not (has (last $from) $names) -}}
{{- $_ := set $sources (first $from) (append $names (last $from)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set $out "sourceNamespaces" $sources -}}

{{- /* Isolation objects: policies.*, else the legacy isolation.* (inert without
isolation.enabled, which turns every object on), then vkube's defaults, as config/legacy_isolation.go
and config/defaults.go read them. A vkube.yaml map is merged over the legacy one, key by key. */ -}}
{{- $pol := dig "policies" dict $v -}}
{{- $liso := get $v "isolation" -}}
{{- if not (kindIs "map" $liso) -}}{{- $liso = dict -}}{{- end -}}
{{- $lon := eq (include "vkube.truthy" (get $liso "enabled")) "true" -}}
{{- $legacyOn := dict -}}
{{- range $k := list "resourceQuota" "limitRange" "networkPolicy" -}}
{{- $on := false -}}
{{- if $lon -}}
{{- $on = true -}}
{{- $e := dig $k "enabled" "" $liso -}}
{{- if not (eq (toString $e) "") -}}{{- $on = eq (include "vkube.truthy" $e) "true" -}}{{- end -}}
{{- end -}}
{{- $_ := set $legacyOn $k $on -}}
{{- end -}}
{{- $isOn := dict -}}
{{- range $k := list "resourceQuota" "limitRange" "networkPolicy" -}}
{{- $_ := set $isOn $k (eq (include "vkube.setting" (list (dig $k "enabled" "" $pol) (ternary "true" "" (get $legacyOn $k)))) "true") -}}
{{- end -}}
{{- $strMap := dict -}}
{{- range $path := list (list "resourceQuota" "quota") (list "limitRange" "default") (list "limitRange" "defaultRequest") -}}
{{- $m := dict -}}
{{- if $lon -}}
{{- range $k, $val := (dig (index $path 0) (index $path 1) dict $liso) -}}{{- $_ := set $m $k (toString $val) -}}{{- end -}}
{{- end -}}
{{- range $k, $val := (dig (index $path 0) (index $path 1) dict $pol) -}}{{- $_ := set $m $k (toString $val) -}}{{- end -}}
{{- $_ := set $strMap (join "." $path) $m -}}
{{- end -}}
{{- $quota := get $strMap "resourceQuota.quota" -}}
{{- if and (get $isOn "resourceQuota") (not $quota) -}}
{{- $quota = dict "requests.cpu" "10" "requests.memory" "20Gi" "requests.storage" "100Gi" "requests.ephemeral-storage" "60Gi" "limits.cpu" "20" "limits.memory" "40Gi" "limits.ephemeral-storage" "160Gi" "services.nodeports" "0" "services.loadbalancers" "1" "count/endpoints" "40" "count/pods" "20" "count/services" "20" "count/secrets" "100" "count/configmaps" "100" "count/persistentvolumeclaims" "20" -}}
{{- end -}}
{{- $limit := get $strMap "limitRange.default" -}}
{{- $request := get $strMap "limitRange.defaultRequest" -}}
{{- if and (get $isOn "limitRange") (not $limit) (not $request) -}}
{{- $limit = dict "cpu" "1" "memory" "512Mi" "ephemeral-storage" "8Gi" -}}
{{- $request = dict "cpu" "100m" "memory" "128Mi" "ephemeral-storage" "3Gi" -}}
{{- end -}}
{{- /* A missing request defaults to the limit, as the apiserver stores it (isolation.limitRange). */ -}}
{{- $request = merge (dict) $request $limit -}}
{{- $lip := dig "networkPolicy" "outgoingConnections" "ipBlock" dict $liso -}}
{{- if not $lon -}}{{- $lip = dict -}}{{- end -}}
{{- $cidr := toString (coalesce (dig "networkPolicy" "outgoingConnections" "cidr" "" $pol) (get $lip "cidr") | default "") -}}
{{- $except := list -}}
{{- if kindIs "slice" (dig "networkPolicy" "outgoingConnections" "except" "" $pol) -}}
{{- $except = dig "networkPolicy" "outgoingConnections" "except" (list) $pol -}}
{{- else if kindIs "slice" (get $lip "except") -}}
{{- $except = get $lip "except" -}}
{{- end -}}
{{- if and (get $isOn "networkPolicy") (not $cidr) -}}
{{- $cidr = "0.0.0.0/0" -}}
{{- $except = list "100.64.0.0/10" "127.0.0.0/8" "10.0.0.0/8" "172.16.0.0/12" "192.168.0.0/16" -}}
{{- end -}}
{{- $_ := set $out "policies" (dict
  "resourceQuota" (dict "enabled" (get $isOn "resourceQuota") "quota" $quota)
  "limitRange" (dict "enabled" (get $isOn "limitRange") "default" $limit "defaultRequest" $request)
  "networkPolicy" (dict "enabled" (get $isOn "networkPolicy") "cidr" $cidr "except" $except)
  "externalDatastore" $external) -}}

{{- toYaml $out -}}
{{- end -}}
