#!/usr/bin/env bash
# Undoes bench/netshare/setup.sh: unmounts the shares, stops the sshds, deletes the namespaces.
set -uo pipefail
cd "$(dirname "$0")/../.."
BASE=$PWD/bench/out/net
for m in "$BASE/src" "$BASE/dst"; do
  if grep -q " $m fuse.sshfs " /proc/mounts; then fusermount3 -uz "$m" 2>/dev/null || umount -l "$m"; fi
done
for pid in "$BASE"/sshd-*.pid; do
  [[ -f $pid ]] || continue
  kill "$(cat "$pid")" 2>/dev/null
  rm -f "$pid"
done
for ns in ferrynet ferrynet-src ferrynet-dst; do
  ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
  ip netns del "$ns" 2>/dev/null
done
rm -f "$BASE/mode"
exit 0
