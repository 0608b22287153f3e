#!/bin/sh
# Installs the netplumb CNI plugins into a CNI binary directory: the
# DaemonSet's init container runs it with the host's /opt/cni/bin mounted
# at $CNI_BIN_DIR (default /host/opt/cni/bin).
#
# Each binary is copied under a temporary name in the same directory and
# renamed over the old one, so a runtime never runs a half-written plugin;
# a binary that is already the same is left alone, so the script can run
# on every pod start.
set -eu

src=${NETPLUMB_BIN_DIR:-/netplumb/bin}
dst=${CNI_BIN_DIR:-/host/opt/cni/bin}

if [ ! -d "$dst" ]; then
    echo "install-cni: $dst does not exist: mount the node's CNI binary directory (usually /opt/cni/bin) there" >&2
    exit 1
fi
if [ ! -w "$dst" ]; then
    echo "install-cni: cannot write to $dst: the init container must run as the directory's owner (root on most nodes)" >&2
    exit 1
fi

for plugin in sriov bond; do
    if cmp -s "$src/$plugin" "$dst/$plugin" 2>/dev/null; then
        echo "install-cni: $dst/$plugin is up to date"
        continue
    fi
    tmp="$dst/.$plugin.netplumb-new"
    cp "$src/$plugin" "$tmp"
    chmod 0755 "$tmp"
    mv -f "$tmp" "$dst/$plugin"
    echo "install-cni: installed $dst/$plugin"
done
