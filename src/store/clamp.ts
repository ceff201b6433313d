const INT64_MAX = 2n ** 63n - 1n;

/** Times past 2262 or before 1677 do not fit 64-bit nanoseconds: store the nearest that does. */
export function clampNs(ns: bigint): bigint {
  return ns > INT64_MAX ? INT64_MAX : ns < -INT64_MAX ? -INT64_MAX : ns;
}

/**
 * SQL that holds when destination entry `d` has permission bits as `perms` asks of source row `f`
 * (see FinishScanOptions.perms); an entry of a scan before modes were recorded (NULL) passes.
 */
export function permsOk(perms: 'narrow' | 'exact' | 'exact-no-setid' | 'ignore' = 'narrow'): string {
  if (perms === 'ignore') return 'TRUE';
  const bits = perms === 'exact' ? 4095 : perms === 'exact-no-setid' ? 1023 : 511;
  // A directory's copy keeps its owner's rwx (targets/local.ts): that is not "wider".
  const test = perms === 'narrow'
    ? "(d.mode & ~(f.permissions | CASE WHEN f.kind = 'dir' THEN 448 ELSE 0 END) & 511) = 0"
    : `(d.mode & ${bits}) = (f.permissions & ${bits})`;
  return `(d.mode IS NULL OR f.kind = 'symlink' OR ${test})`;
}
