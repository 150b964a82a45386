/**
 * Checks after a switch: that the new writer is a master and takes a write (verifyWriter), and
 * that the standby holds the same data as the writer (consistency).
 */
import type { CheckResult, RegionRole } from '../../domain/types.js';
import type { Progress } from '../types.js';
import { other, withClient, type RedisCtx } from './connection.js';
import { digestsOf, sampleDigests } from './digest.js';
import { waitForEqualOffsets } from './resync.js';
import { follows, inspect, inspectReachable } from './state.js';

/** Keys whose values are compared by verify-consistency: enough to catch a wrong or stale copy, cheap on a big keyspace. */
const SAMPLE_KEYS = 200;

export async function verifyWriter(ctx: RedisCtx, target: RegionRole): Promise<CheckResult[]> {
  const s = await inspect(ctx, target);
  if (!s.reachable)
    return [
      { name: `redis ${target} reachable`, kind: 'cache', ok: false, detail: s.error.message },
    ];
  const checks: CheckResult[] = [
    {
      name: `redis ${target} is master`,
      kind: 'cache',
      ok: s.role === 'master',
      detail: `role=${s.role}`,
    },
  ];
  const started = Date.now();
  try {
    await withClient(ctx, target, 'write probe', (r) =>
      r.set(`dr:probe:${target}`, new Date().toISOString(), 'EX', 300),
    );
    checks.push({
      name: `redis ${target} write probe`,
      kind: 'cache',
      ok: true,
      detail: `SET dr:probe:${target} EX 300`,
      durationMs: Date.now() - started,
    });
  } catch (err) {
    checks.push({
      name: `redis ${target} write probe`,
      kind: 'cache',
      ok: false,
      detail: (err as Error).message,
      durationMs: Date.now() - started,
    });
  }
  return checks;
}

/**
 * Same data on both sides: the standby follows the writer with equal offsets, DBSIZE matches and
 * a sample of keys has the same value digest. The writer keeps serving meanwhile, so it is read
 * before and after the standby (which has caught up with the first read): a key whose value
 * changed on the writer in between is in flux, not evidence either way, and is left out; a key
 * that stayed put on the writer must have the same value on the standby.
 */
export async function consistency(
  ctx: RedisCtx,
  { writer }: { writer: RegionRole; progress: Progress },
): Promise<CheckResult[]> {
  const standby = other(writer);
  const [w, s] = await Promise.all([inspectReachable(ctx, writer), inspectReachable(ctx, standby)]);
  const sample = await withClient(ctx, writer, 'sampling keys', (r) =>
    sampleDigests(r, SAMPLE_KEYS),
  );
  const a = await withClient(ctx, writer, 'DBSIZE', (r) => r.dbsize());
  const offsets = await waitForEqualOffsets(ctx, writer, standby);
  const b = await withClient(ctx, standby, 'DBSIZE', (r) => r.dbsize());
  const keys = [...sample.keys()];
  const theirs = await withClient(ctx, standby, 'reading sampled keys', (r) => digestsOf(r, keys));
  const again = await withClient(ctx, writer, 're-reading sampled keys', (r) => digestsOf(r, keys));
  const a2 = await withClient(ctx, writer, 'DBSIZE', (r) => r.dbsize());
  const changing = keys.filter((k) => again.get(k) !== sample.get(k));
  const differing = keys.filter(
    (k) => again.get(k) === sample.get(k) && theirs.get(k) !== sample.get(k),
  );
  const compared = keys.length - changing.length;
  const countOk = b >= Math.min(a, a2) && b <= Math.max(a, a2);
  const inFlux = changing.length
    ? `; ${changing.length} changing on ${writer} during the check left out`
    : '';
  return [
    {
      name: `redis ${standby} follows ${writer}`,
      kind: 'cache',
      ok: s.role === 'replica' && follows(s, w),
      detail: `role=${s.role}, replid ${s.replid} / ${w.replid}`,
    },
    {
      name: `redis ${standby} offset caught up`,
      kind: 'cache',
      ok: offsets.equal,
      detail: `${standby} at ${offsets.standby ?? '?'}, ${writer} at ${offsets.writer}`,
    },
    {
      name: 'redis key count',
      kind: 'cache',
      ok: countOk,
      detail: `${writer}: ${a === a2 ? a : `${a}..${a2}`} keys, ${standby}: ${b} keys`,
    },
    {
      name: 'redis sampled values',
      kind: 'cache',
      ok: differing.length === 0,
      detail:
        differing.length === 0
          ? `${compared} sampled keys have equal values${inFlux}`
          : `${differing.length} of ${compared} sampled keys differ: ${differing.slice(0, 5).join(', ')}${inFlux}`,
    },
  ];
}
