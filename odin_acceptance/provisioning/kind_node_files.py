"""What a kind node built here holds besides Debian and the binaries: containerd's config,
the manifests kind applies at creation (/kind/manifests), the node-local CNI agent, and the
cluster DNS configuration. Texts only, so they are tested offline.

Written after kind v0.33.0's node layout (images/base, pkg/build/nodeimage); the images
they name are the ones kind_node_image.py builds and imports, so a node pulls nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from odin_acceptance.provisioning.versions import (
    COREDNS,
    KIND_NODE_ETCD,
    KIND_NODE_KUBERNETES_VERSION,
    LOCAL_PATH_PROVISIONER,
    PAUSE_VERSION,
)

# The node's static files (units, entrypoint, sysctls), laid out as in the node.
STATIC_TREE = Path(__file__).with_name("kind_node")
# One wrapper for the host's dockerd and the node's containerd (.ci/prepare-docker).
RUNC_WRAPPER = Path(__file__).with_name("runc-drop-sys-resource")
RUNC_WRAPPER_IN_NODE = "/usr/local/sbin/runc-drop-sys-resource"


@dataclass(frozen=True)
class NodeImages:
    """Every image reference the node's containerd must hold: kubeadm's list for the
    pinned release, and the images of the CNI and storage manifests below."""

    kube_apiserver: str = f"registry.k8s.io/kube-apiserver:v{KIND_NODE_KUBERNETES_VERSION}"
    kube_controller_manager: str = f"registry.k8s.io/kube-controller-manager:v{KIND_NODE_KUBERNETES_VERSION}"
    kube_scheduler: str = f"registry.k8s.io/kube-scheduler:v{KIND_NODE_KUBERNETES_VERSION}"
    kube_proxy: str = f"registry.k8s.io/kube-proxy:v{KIND_NODE_KUBERNETES_VERSION}"
    etcd: str = KIND_NODE_ETCD.images[0]
    coredns: str = COREDNS.images[0]
    pause: str = f"registry.k8s.io/pause:{PAUSE_VERSION}"
    # Built here and named as such: no registry serves these names, so nothing can be
    # mistaken for kind's published kindnetd or local-path images.
    cni: str = "odin.local/kind-node/cni-agent:1"
    storage_provisioner: str = f"odin.local/kind-node/local-path-provisioner:v{LOCAL_PATH_PROVISIONER.version}"
    storage_helper: str = "odin.local/kind-node/local-path-helper:1"

    def all(self) -> tuple[str, ...]:
        return tuple(vars(self).values())


IMAGES = NodeImages()


def containerd_config(images: NodeImages = IMAGES) -> str:
    """containerd 1.6's config (v2 format) as kind sets it: the CRI's sandbox image is our
    pause, runc with the systemd cgroup driver (kind's kubelet config says `systemd` on
    cgroup v1 and v2). The `#odin-gap#` lines are switched on by the node's entrypoint
    only where CAP_SYS_RESOURCE is missing from the bounding set."""
    return f"""version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{images.pause}"
  # a kind node has no hugepages controller of its own
  tolerate_missing_hugepages_controller = true
  # true where the node cannot lower OOM scores (set by the entrypoint)
  restrict_oom_score_adj = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = true
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      base_runtime_spec = "/etc/containerd/cri-base.json"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
        #odin-gap# BinaryName = "{RUNC_WRAPPER_IN_NODE}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
"""


# The node-local CNI agent (kind's kindnetd is not on the module proxy): each node's pod
# range from its Node object, a CNI config for the standard ptp/host-local/portmap plugins
# with that range, a route to every other node's range via that node's address, and
# masquerading for traffic leaving the pod network. Watches the nodes, so a joining worker
# is routed as soon as it has a range.
CNI_AGENT_SCRIPT = r"""#!/bin/sh
set -eu
SA=/var/run/secrets/kubernetes.io/serviceaccount
CONF=/etc/cni/net.d/10-odin-cni.conflist
ADDRESS='{.status.addresses[?(@.type=="InternalIP")].address}'
NODES="{range .items[*]}{.metadata.name} {.spec.podCIDR} $ADDRESS{\"\\n\"}{end}"
MASQUERADE="POSTROUTING -s $POD_SUBNET ! -d $POD_SUBNET -m comment --comment odin-cni -j MASQUERADE"

# The API server by its node address: the Service address needs kube-proxy, which needs
# a ready node, which needs this agent.
kc() {
  kubectl --server="https://${CONTROL_PLANE_ENDPOINT}" --certificate-authority="$SA/ca.crt" \
    --token="$(cat "$SA/token")" "$@"
}

write_conf() {
  cat >"$CONF.tmp" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "odin-cni",
  "plugins": [
    {"type": "ptp", "ipMasq": false, "mtu": 1500,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$1"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  if cmp -s "$CONF.tmp" "$CONF"; then rm -f "$CONF.tmp"; else mv "$CONF.tmp" "$CONF"; echo "pod range $1: $CONF"; fi
}

reconcile() {
  kc get nodes -o jsonpath="$NODES" >/tmp/nodes || return 0
  while read -r name range address; do
    [ -n "$range" ] || continue
    if [ "$name" = "$NODE_NAME" ]; then
      write_conf "$range"
    elif [ -n "$address" ]; then
      ip route replace "$range" via "$address"
    fi
  done </tmp/nodes
}

# shellcheck disable=SC2086 # the rule's words
iptables -t nat -C $MASQUERADE 2>/dev/null || iptables -t nat -A $MASQUERADE
while true; do
  reconcile
  # Every change to the nodes triggers a full reconcile; a broken watch starts over after
  # a second (a daemon's back-off, not a wait for a condition).
  kc get nodes --watch-only -o name 2>&1 | while read -r _; do reconcile; done
  sleep 1
done
"""


def cni_manifest(images: NodeImages = IMAGES) -> str:
    """/kind/manifests/default-cni.yaml: kind templates `{{ .PodSubnet }}` and patches the
    API server's in-cluster endpoint into the first container's env (both on the magic
    comments), then applies it on the first control-plane node."""
    return f"""# odin CNI agent (in place of kindnetd, whose module the proxy does not serve)
# would you kindly template this file
# would you kindly patch this file
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: odin-cni
rules:
  - apiGroups: [""]
    resources: [nodes]
    verbs: [get, list, watch]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: odin-cni
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: odin-cni
subjects:
  - kind: ServiceAccount
    name: odin-cni
    namespace: kube-system
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: odin-cni
  namespace: kube-system
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: odin-cni
  namespace: kube-system
  labels:
    app: odin-cni
    k8s-app: odin-cni
spec:
  selector:
    matchLabels:
      app: odin-cni
  template:
    metadata:
      labels:
        app: odin-cni
        k8s-app: odin-cni
    spec:
      hostNetwork: true
      nodeSelector:
        kubernetes.io/os: linux
      tolerations:
        - operator: Exists
      priorityClassName: system-node-critical
      serviceAccountName: odin-cni
      containers:
        - name: odin-cni
          image: {images.cni}
          imagePullPolicy: IfNotPresent
          command: [/bin/sh, /usr/local/bin/odin-cni-agent]
          env:
            - name: NODE_NAME
              valueFrom:
                fieldRef:
                  fieldPath: spec.nodeName
            - name: POD_SUBNET
              value: {{{{ .PodSubnet }}}}
          volumeMounts:
            - name: cni-cfg
              mountPath: /etc/cni/net.d
            - name: xtables-lock
              mountPath: /run/xtables.lock
          resources:
            requests:
              cpu: 10m
              memory: 30Mi
          securityContext:
            privileged: false
            capabilities:
              add: [NET_RAW, NET_ADMIN]
      volumes:
        - name: cni-cfg
          hostPath:
            path: /etc/cni/net.d
            type: DirectoryOrCreate
        - name: xtables-lock
          hostPath:
            path: /run/xtables.lock
            type: FileOrCreate
"""


def storage_manifest(images: NodeImages = IMAGES) -> str:
    """/kind/manifests/default-storage.yaml: local-path-provisioner and kind's default
    StorageClass `standard` (WaitForFirstConsumer), so a PVC of our manifests binds."""
    return f"""apiVersion: v1
kind: Namespace
metadata:
  name: local-path-storage
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: local-path-provisioner-service-account
  namespace: local-path-storage
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: local-path-provisioner-role
  namespace: local-path-storage
rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, watch, create, patch, update, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: local-path-provisioner-role
rules:
  - apiGroups: [""]
    resources: [nodes, persistentvolumeclaims, configmaps, pods, pods/log]
    verbs: [get, list, watch]
  - apiGroups: [""]
    resources: [persistentvolumes]
    verbs: [get, list, watch, create, patch, update, delete]
  - apiGroups: [""]
    resources: [events]
    verbs: [create, patch]
  - apiGroups: [storage.k8s.io]
    resources: [storageclasses]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: local-path-provisioner-bind
  namespace: local-path-storage
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: local-path-provisioner-role
subjects:
  - kind: ServiceAccount
    name: local-path-provisioner-service-account
    namespace: local-path-storage
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: local-path-provisioner-bind
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: local-path-provisioner-role
subjects:
  - kind: ServiceAccount
    name: local-path-provisioner-service-account
    namespace: local-path-storage
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: local-path-provisioner
  namespace: local-path-storage
spec:
  replicas: 1
  selector:
    matchLabels:
      app: local-path-provisioner
  template:
    metadata:
      labels:
        app: local-path-provisioner
    spec:
      nodeSelector:
        kubernetes.io/os: linux
      tolerations:
        - key: node-role.kubernetes.io/control-plane
          operator: Equal
          effect: NoSchedule
      serviceAccountName: local-path-provisioner-service-account
      containers:
        - name: local-path-provisioner
          image: {images.storage_provisioner}
          imagePullPolicy: IfNotPresent
          command:
            - local-path-provisioner
            - --debug
            - start
            - --helper-image
            - {images.storage_helper}
            - --config
            - /etc/config/config.json
          volumeMounts:
            - name: config-volume
              mountPath: /etc/config/
          env:
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            - name: CONFIG_MOUNT_PATH
              value: /etc/config/
      volumes:
        - name: config-volume
          configMap:
            name: local-path-config
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
---
kind: ConfigMap
apiVersion: v1
metadata:
  name: local-path-config
  namespace: local-path-storage
data:
  config.json: |-
    {{"nodePathMap": [{{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["/var/local-path-provisioner"]}}]}}
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata:
      name: helper-pod
    spec:
      priorityClassName: system-node-critical
      tolerations:
        - operator: Exists
          effect: NoSchedule
        - operator: Exists
          effect: NoExecute
      containers:
        - name: helper-pod
          image: {images.storage_helper}
          imagePullPolicy: IfNotPresent
"""


def cluster_corefile(domain: str = "cluster.local") -> str:
    """CoreDNS's Corefile for a cluster whose lookups never leave the machine: kubeadm's
    default without `forward . /etc/resolv.conf` (and `loop`, which only guards forwarding).
    A name outside the cluster gets an error answer from CoreDNS itself instead of going
    to the host's resolver. Apply it as the `Corefile` key
    of ConfigMap kube-system/coredns after `kind create cluster` (the `reload` plugin picks
    it up within its interval)."""
    return f""".:53 {{
    errors
    health {{
       lameduck 5s
    }}
    ready
    kubernetes {domain} in-addr.arpa ip6.arpa {{
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }}
    prometheus :9153
    cache 30
    reload
    loadbalance
}}
"""


def version_file() -> str:
    """/kind/version: kind reads it to choose its kubeadm config for the node."""
    return f"v{KIND_NODE_KUBERNETES_VERSION}\n"
