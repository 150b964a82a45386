/**
 * Checks after a switch: that the new writer is a master and takes a write (verifyWriter), and
 * that the standby holds the same data as the writer (consistency).
 */
import type { Redis } from 'ioredis';
import type { ConsistencyScope } from '../../domain/consistency.js';
import { countsText, rangesText, verdictLabel } from '../../domain/consistency.js';
import type { CheckResult, RegionRole } from '../../domain/types.js';
import { ProviderError } from '../../errors.js';
import { compareLive, type LiveComparison, type LiveSides } from '../live-compare.js';
import type { ConsistencyResult, Progress } from '../types.js';
import {
  consistencySettings,
  NAME,
  other,
  poll,
  where,
  withClient,
  type RedisConsistencyOptions,
  type RedisCtx,
} from './connection.js';
import { digestsOf, sampleKeys } from './digest.js';
import { waitForEqualOffsets } from './resync.js';
import { follows, inspect, inspectReachable, parseInfo } from './state.js';

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

/** Keys compared per round trip: pipelined on one connection per side. */
const BATCH = 100;
/** Keys named in the result, per kind (different, changing). */
const NAMED = 10;

/** The writer and the standby as compareLive sees them: digests, the offset, the wait for it. */
function liveSides<U>(
  ctx: RedisCtx,
  sides: { writer: Redis; standby: Redis; standbySide: RegionRole },
  read: (r: Redis, units: readonly U[]) => Promise<string[]>,
): LiveSides<U, number> {
  return {
    async readWriter(units) {
      const digests = await read(sides.writer, units);
      const info = parseInfo(await sides.writer.info('replication'));
      return { digests, position: Number(info.get('master_repl_offset') ?? 0) };
    },
    async waitForStandby(offset) {
      let at: number | null = null;
      const caught = await poll(ctx.opts.promoteTimeoutSeconds * 1000, async () => {
        const info = parseInfo(await sides.standby.info('replication'));
        at = Number(info.get('slave_repl_offset') ?? info.get('master_repl_offset') ?? -1);
        return at >= offset ? true : undefined;
      });
      if (!caught)
        throw new ProviderError(
          NAME,
          `${where(ctx, sides.standbySide)} did not reach the writer's offset ${offset} within ${ctx.opts.promoteTimeoutSeconds} s (at ${at ?? '?'}): check its replication link, then Retry`,
          { code: 'timeout', retryable: true },
        );
    },
    readStandby: (units) => read(sides.standby, units),
  };
}

interface Sample {
  keys: Buffer[];
  whole: boolean;
  dbsize: number;
}

/** Compare the sampled keys batch by batch until done or the budget is spent. */
async function compareKeys(
  sides: LiveSides<Buffer, number>,
  sample: Sample,
  budget: { settings: RedisConsistencyOptions; deadline: number; progress: Progress },
): Promise<{ result: LiveComparison<Buffer>; stopped: boolean }> {
  const result: LiveComparison<Buffer> = { equal: [], different: [], changing: [] };
  let reported = Date.now();
  for (let i = 0; i < sample.keys.length; i += BATCH) {
    if (Date.now() > budget.deadline) return { result, stopped: true };
    const part = await compareLive(
      sample.keys.slice(i, i + BATCH),
      sides,
      budget.settings.attempts,
    );
    result.equal.push(...part.equal);
    result.different.push(...part.different);
    result.changing.push(...part.changing);
    if (Date.now() - reported >= 1000) {
      reported = Date.now();
      budget.progress(`redis: ${i + BATCH} of ${sample.keys.length} sampled keys compared`);
    }
  }
  return { result, stopped: false };
}

function keysScope(
  sample: Sample,
  cmp: LiveComparison<Buffer>,
  stopped: boolean,
): ConsistencyScope {
  const name = (k: Buffer) => k.toString('utf8');
  return {
    component: 'cache',
    name: 'keyspace',
    method: sample.whole
      ? 'every key (SCAN), values digested in pieces'
      : `${sample.keys.length} keys picked at random (RANDOMKEY), values digested in pieces`,
    unit: 'key',
    total: sample.whole ? sample.keys.length : Math.max(sample.dbsize, sample.keys.length),
    equal: cmp.equal.length,
    different: cmp.different.length,
    changing: cmp.changing.length,
    sampled: !sample.whole || stopped,
    rowsEqual: cmp.equal.length,
    differences: cmp.different.slice(0, NAMED).map((d) => name(d.unit)),
    changingRanges: cmp.changing.slice(0, NAMED).map(name),
  };
}

/** DBSIZE compared like a key: equal at one offset, or changing under writes. */
async function keyCountCheck(
  sides: LiveSides<'dbsize', number>,
  attempts: number,
): Promise<CheckResult> {
  const cmp = await compareLive(['dbsize' as const], sides, attempts);
  const base = { name: 'redis key count', kind: 'cache' as const };
  if (cmp.equal.length)
    return { ...base, ok: true, detail: `${cmp.equal[0]!.digest} keys on both` };
  if (cmp.changing.length)
    return { ...base, ok: true, detail: 'changing with every write: compared by sample below' };
  const d = cmp.different[0]!;
  return { ...base, ok: false, detail: `writer: ${d.writer} keys, standby: ${d.standby} keys` };
}

/**
 * Same data on both sides: the standby follows the writer with equal offsets, the key counts
 * agree, and keys picked at random across the keyspace have the same value on both, each compared
 * at one point of the replication stream while the writer keeps serving (see live-compare.ts).
 */
export async function consistency(
  ctx: RedisCtx,
  { writer, progress }: { writer: RegionRole; progress: Progress },
): Promise<ConsistencyResult> {
  const standby = other(writer);
  const settings = consistencySettings(ctx);
  const deadline = Date.now() + settings.timeBudgetSeconds * 1000;
  const [w, s] = await Promise.all([inspectReachable(ctx, writer), inspectReachable(ctx, standby)]);
  const offsets = await waitForEqualOffsets(ctx, writer, standby);
  const checks: CheckResult[] = [
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
  ];
  const scope = await withClient(ctx, writer, 'sampling keys', (wr) =>
    withClient(ctx, standby, 'reading sampled keys', async (sr) => {
      const both = { writer: wr, standby: sr, standbySide: standby };
      checks.push(
        await keyCountCheck(
          liveSides(ctx, both, async (r) => [String(await r.dbsize())]),
          settings.attempts,
        ),
      );
      const dbsize = await wr.dbsize();
      const picked = await sampleKeys(wr, settings.sampleKeys, dbsize, () => Date.now() > deadline);
      const sample = { ...picked, dbsize };
      const keySides = liveSides(ctx, both, (r, keys: readonly Buffer[]) =>
        digestsOf(r, keys, settings.pieceBytes),
      );
      const { result, stopped } = await compareKeys(keySides, sample, {
        settings,
        deadline,
        progress,
      });
      return keysScope(sample, result, stopped);
    }),
  );
  const ranges = rangesText(scope);
  checks.push({
    name: 'redis sampled values',
    kind: 'cache',
    ok: scope.different === 0,
    detail: `${verdictLabel(scope)}: ${countsText(scope)}${ranges ? ` — ${ranges}` : ''}`,
  });
  return { checks, scopes: [scope] };
}
