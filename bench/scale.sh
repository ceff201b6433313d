#!/usr/bin/env bash
# Scale check: a tree of N × 1000 empty files (default 1000 directories: 1,000,000 files) copied by
# ferry, killed with SIGKILL part-way (after KILL_AFTER seconds, default 80) and resumed, then a no-op
# re-run (a full rescan), rsync's no-op and find, each with wall time and peak RSS. Takes about 8
# minutes for a million files on the development machine; needs ~4 GiB of inodes and ~1 GiB free.
# Usage: [KILL_AFTER=s] [REUSE=1] [KEEP=1] bash bench/scale.sh [directories]
# REUSE=1 reuses a source tree a KEEP=1 run left in bench/out/scale-N.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=${1:-1000}
base=bench/out/scale-$dirs
# ferry runs from a snapshot of the build, so a rebuild in the work tree during the run cannot touch it.
snap=$PWD/bench/out/scale-snapshot
rm -rf "$snap" && mkdir -p "$snap/build"
cp -r bin dist package.json "$snap/" && { [[ ! -d build/Release ]] || cp -r build/Release "$snap/build/"; }
ferry="node $snap/bin/ferry.js"
if [[ -n "${REUSE:-}" && -d "$base/src" ]]; then
  # REUSE=1: keep the source tree an earlier run made (making a million files takes minutes).
  rm -rf "$base/dst" "$base/db" "$base/db.log" "$base/db-wal" "$base/db-shm"
  echo "reusing $base/src"
else
  rm -rf "$base"
  mkdir -p "$base/src"
  start=$(date +%s.%N)
  python3 - "$base/src" "$dirs" <<'PY'
import os, sys
root, dirs = sys.argv[1], int(sys.argv[2])
for d in range(dirs):
    os.mkdir(f"{root}/d{d:04}")
    for f in range(1000):
        open(f"{root}/d{d:04}/f{f:04}", "wb").close()
PY
  echo "made $((dirs * 1000)) empty files in $(echo "$(date +%s.%N) - $start" | bc) s"
fi
cd "$base"
sync
sleep 5
# ferry itself is killed, nothing else: `timeout -s KILL` also kills its own process group.
$ferry copy src dst --db db --no-progress >/dev/null 2>&1 &
pid=$!
sleep "${KILL_AFTER:-80}"
echo "ferry peak RSS before the kill: $(awk '/VmHWM/{print $2, $3}' /proc/$pid/status)"
kill -9 "$pid"
wait "$pid" || true
echo "ferry copy killed with SIGKILL after ${KILL_AFTER:-80} s"
echo "rows synced at the kill: $(python3 -c "import sqlite3; print(sqlite3.connect('db').execute(\"select count(*) from files where status='synced'\").fetchone()[0])")"
/usr/bin/time -f "ferry resume: %e s wall, %M KiB peak RSS" $ferry copy src dst --db db --no-progress 2>&1 | tail -3
/usr/bin/time -f "ferry no-op re-run: %e s wall, %M KiB peak RSS" $ferry copy src dst --db db --no-progress 2>&1 | tail -2
# The first re-run records the destination's listing digests (the copy changed every directory there).
/usr/bin/time -f "ferry second no-op re-run: %e s wall, %M KiB peak RSS" $ferry copy src dst --db db --no-progress 2>&1 | tail -2
/usr/bin/time -f "rsync -a no-op: %e s wall, %M KiB peak RSS" rsync -a src/ dst/ 2>&1 | tail -1
/usr/bin/time -f "find -printf: %e s" find src -printf '%s %T@\n' 2>&1 >/dev/null
echo "database: $(du -sh db | cut -f1)"
cd - >/dev/null
[[ -n "${KEEP:-}" ]] || rm -rf "$base"
