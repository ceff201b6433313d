#!/usr/bin/env bash
# Two network shares, emulated honestly (issue 13 §1): an sshd inside a network namespace whose
# loopback is shaped with `tc qdisc … tbf` (this kernel has no netem: no delay or loss, only a rate),
# and the source and the destination each mounted with sshfs (FUSE) over it. sshfs runs inside the
# namespace (`nsenter --net`), so its traffic never leaves the namespace's own `lo`, while the FUSE
# mount, in the shared mount namespace, is visible outside. Run as root.
#
#   bash bench/netshare/setup.sh [separate|shared]    (default separate)
#     separate: the source and the destination each cross a link of their own (two namespaces)
#     shared:   both cross one link (one namespace): the seed's shared Gigabit. A namespace's `lo`
#               carries both directions through one tbf, so this link is half duplex.
#   bash bench/netshare/teardown.sh
#
# Mounts: bench/out/net/src (the sshfs view of bench/out, where the corpora are) and
# bench/out/net/dst (the view of bench/out/net/dst-backing). FERRY_NET_RATE (default 1gbit),
# FERRY_NET_CIPHER (default aes128-gcm@openssh.com: the cheapest on this CPU; the link, not ssh,
# should be the limit). Debian's sshfs 3.7.3 has no writeback_cache option (it was taken out upstream:
# it corrupted files), so the kernel's page cache does not gather its writes. The namespaces are ferrynet-src and ferrynet-dst (separate) or ferrynet (shared).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=${1:-separate}
RATE=${FERRY_NET_RATE:-1gbit}
CIPHER=${FERRY_NET_CIPHER:-aes128-gcm@openssh.com}
BASE=$PWD/bench/out/net
[[ $MODE == separate || $MODE == shared ]] || { echo "usage: $0 [separate|shared]" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "setup: run as root (network namespaces, FUSE mounts)" >&2; exit 2; }
missing=()
command -v sshd >/dev/null || [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
command -v sshfs >/dev/null || missing+=(sshfs)
command -v tc >/dev/null || missing+=(iproute2)
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash bench/netshare/teardown.sh >/dev/null 2>&1 || true
mkdir -p "$BASE/src" "$BASE/dst" "$BASE/dst-backing" "$BASE/keys"
chmod 700 "$BASE/keys"
[[ -f $BASE/keys/host ]] || ssh-keygen -q -t ed25519 -N '' -f "$BASE/keys/host"
[[ -f $BASE/keys/user ]] || ssh-keygen -q -t ed25519 -N '' -f "$BASE/keys/user"
cp "$BASE/keys/user.pub" "$BASE/keys/authorized_keys"
mkdir -p /run/sshd
cat > "$BASE/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port 2222
HostKey $BASE/keys/host
AuthorizedKeysFile $BASE/keys/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Ciphers $CIPHER
Subsystem sftp internal-sftp
CONF

if [[ $MODE == separate ]]; then namespaces=(ferrynet-src ferrynet-dst); else namespaces=(ferrynet); fi
for ns in "${namespaces[@]}"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # The rate on the namespace's only interface; 256 KiB of burst, 50 ms of queue.
  tc -n "$ns" qdisc add dev lo root tbf rate "$RATE" burst 256kb latency 50ms
  ip netns exec "$ns" /usr/sbin/sshd -f "$BASE/sshd_config" -o PidFile="$BASE/sshd-$ns.pid"
done
src_ns=${namespaces[0]}
dst_ns=${namespaces[${#namespaces[@]}-1]}
opts=(-p 2222 -o "IdentityFile=$BASE/keys/user" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o "Ciphers=$CIPHER" -o Compression=no -o ServerAliveInterval=10 -o ServerAliveCountMax=6
  -o idmap=none)
for i in $(seq 50); do
  ip netns exec "$src_ns" bash -c '</dev/tcp/127.0.0.1/2222' 2>/dev/null && ip netns exec "$dst_ns" bash -c '</dev/tcp/127.0.0.1/2222' 2>/dev/null && break
  sleep 0.1
done
nsenter --net="/run/netns/$src_ns" sshfs "root@127.0.0.1:$PWD/bench/out" "$BASE/src" "${opts[@]}" -o ro
nsenter --net="/run/netns/$dst_ns" sshfs "root@127.0.0.1:$BASE/dst-backing" "$BASE/dst" "${opts[@]}"
echo "$MODE" > "$BASE/mode"
echo "netshare: $MODE, $RATE per link, cipher $CIPHER; source $BASE/src (ns $src_ns), destination $BASE/dst (ns $dst_ns)"
