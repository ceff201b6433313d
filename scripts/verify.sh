#!/usr/bin/env bash
# Verification (seed 001 §6.4): in a fresh temp directory, makes test data, runs ferry copy,
# and checks the copy (every file present with the same bytes and mtime), the database and the
# audit log. Prints PASS or the first thing that is wrong, and exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/cli/main.js ] || npm run build >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-verify.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/source" dst="$work/destination" db="$work/state/job.db" log="$work/state/audit.log"
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "setting up test data in $src"
mkdir -p "$src/photos/2024" "$src/docs/deep/er" "$src/empty-dir"
head -c 7340033 /dev/urandom > "$src/photos/2024/big.raw"          # one block + 2 MiB + 1 byte
head -c 4096 /dev/urandom > "$src/photos/2024/small.jpg"
printf 'hello\n' > "$src/docs/readme.txt"
printf 'odd\n' > "$src/docs/deep/er/it's a [test] é.txt"
: > "$src/docs/empty.txt"
ln -s ../docs/readme.txt "$src/photos/link-to-readme"
touch -d '2001-02-03 04:05:06.123456789' "$src/docs/readme.txt"

echo "running: ferry copy $src $dst --db $db --log $log --checksum sha256"
node bin/ferry.js copy "$src" "$dst" --db "$db" --log "$log" --checksum sha256

echo "checking the copy"
diff -r --no-dereference "$src" "$dst" >/dev/null || fail "the destination differs from the source"
while IFS= read -r -d '' f; do
  rel=${f#"$src"/}
  [ "$(stat -c %Y.%y "$f")" = "$(stat -c %Y.%y "$dst/$rel")" ] || fail "mtime differs for $rel"
done < <(find "$src" -type f -print0)
[ -z "$(find "$dst" -name '.ferry-tmp-*')" ] || fail "temp files were left behind"

echo "checking the database"
[ -s "$db" ] || fail "no database at $db"
node --input-type=module -e "
  import Database from 'better-sqlite3';
  const d = new Database(process.argv[1], { readonly: true });
  const r = d.prepare(\"SELECT count(*) AS n, sum(status = 'synced') AS s, sum(kind = 'file' AND hash IS NULL) AS h FROM files\").get();
  if (r.n !== 12 || r.s !== 12 || r.h !== 0) { console.error('rows', r); process.exit(1); }
" "$db" || fail "the database does not hold 12 synced rows with hashes"

echo "checking the audit log"
[ "$(wc -l < "$log")" -eq 5 ] || fail "the audit log should have one line per copied file (5)"
want=$(sha256sum "$src/photos/2024/big.raw" | cut -d' ' -f1)
grep -q "\"status\":\"synced\".*\"checksum\":\"$want\"" "$log" || fail "the audit log lacks big.raw's sha256"

echo "checking that a second run copies nothing"
node bin/ferry.js copy "$src" "$dst" --db "$db" --log "$log" | grep -q 'copied 0 file' || fail "the second run copied files again"

echo "PASS: ferry copy verified (files, times, database, audit log, skip on re-run)"
