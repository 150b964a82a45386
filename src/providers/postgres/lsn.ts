/** PostgreSQL LSNs ("16/B374D848") as numbers, to compare and subtract without a round trip. */

export function lsnToNumber(lsn: string): number {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(lsn.trim());
  if (!m) throw new Error(`not an LSN: ${lsn}`);
  // 2^53 bytes of WAL is far beyond any real cluster, so a plain number is exact.
  return parseInt(m[1], 16) * 2 ** 32 + parseInt(m[2], 16);
}

/** Bytes from `from` to `to` (negative when `to` is behind). */
export function lsnDiff(to: string, from: string): number {
  return lsnToNumber(to) - lsnToNumber(from);
}
