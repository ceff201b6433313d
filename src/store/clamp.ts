const INT64_MAX = 2n ** 63n - 1n;

/** Times past 2262 or before 1677 do not fit 64-bit nanoseconds: store the nearest that does. */
export function clampNs(ns: bigint): bigint {
  return ns > INT64_MAX ? INT64_MAX : ns < -INT64_MAX ? -INT64_MAX : ns;
}
