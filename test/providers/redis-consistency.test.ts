/**
 * The Redis half of the failback's consistency check on a real lab pair: keys sampled at random
 * across the keyspace, large values read in pieces, no false difference while the writer keeps
 * taking writes, and a partial check that says "sampled", never "consistent".
 */
import type { ConsistencyScope } from '../../src/domain/consistency.js';
import { verdictLabel } from '../../src/domain/consistency.js';
import type { LabInfo } from '../../src/lab/index.js';
import { createRedisProvider } from '../../src/providers/redis/index.js';
import type { RedisConsistencyOptions } from '../../src/providers/redis/connection.js';
import type { CacheProvider } from '../../src/providers/types.js';
import { silentLog, startLab, stopLabs, until } from '../support/lab.js';
import { labRedisClients } from '../support/redis.js';

const { connect, closeAll } = labRedisClients();
let lab: LabInfo;
const opened: CacheProvider[] = [];

function provider(consistency: Partial<RedisConsistencyOptions> = {}): CacheProvider {
  const p = createRedisProvider({
    primaryUrl: lab.redis.primary.url,
    secondaryUrl: lab.redis.secondary.url,
    promoteTimeoutSeconds: 10,
    useFailoverCommand: true,
    log: silentLog,
    consistency,
  });
  opened.push(p);
  return p;
}

async function check(p: CacheProvider): Promise<{ scope: ConsistencyScope; ok: boolean }> {
  const { checks, scopes } = await p.consistency({ writer: 'primary', progress: () => undefined });
  return { scope: scopes[0]!, ok: checks.every((c) => c.ok) };
}

async function replicated(): Promise<void> {
  const info = async (url: string, f: string) =>
    Number(new RegExp(`^${f}:(\\d+)`, 'm').exec(await connect(url).info('replication'))?.[1]);
  await until(
    'the replica to apply the whole stream',
    async () =>
      (await info(lab.redis.secondary.url, 'slave_repl_offset')) ===
      (await info(lab.redis.primary.url, 'master_repl_offset')),
  );
}

/** A write only a replica someone made writable takes: a difference behind replication. */
async function onReplicaOnly(write: (r: ReturnType<typeof connect>) => Promise<unknown>) {
  const replica = connect(lab.redis.secondary.url);
  await replica.config('SET', 'replica-read-only', 'no');
  try {
    await write(replica);
  } finally {
    await replica.config('SET', 'replica-read-only', 'yes');
  }
}

beforeAll(async () => {
  lab = await startLab();
}, 120_000);

afterAll(async () => {
  await Promise.all(opened.map((p) => p.close()));
  await closeAll();
  await stopLabs();
});

beforeEach(async () => {
  await connect(lab.redis.primary.url).flushall();
  await replicated();
});

test('large values are read in pieces, never whole, and a byte changed in the middle of one is found by key', async () => {
  const w = connect(lab.redis.primary.url);
  await w.set('big:string', 'x'.repeat(3 * 1024 * 1024));
  const fields: string[] = [];
  for (let i = 0; i < 20_000; i++) fields.push(`f${i}`, `value ${i}`);
  await w.hset('big:hash', ...fields);
  await w.rpush('big:list', ...fields);
  await w.sadd('big:set', ...fields);
  await w.zadd('big:zset', ...fields.flatMap((f, i) => [i, f]));
  const stream = w.pipeline();
  for (let i = 0; i < 3000; i++) stream.xadd('big:stream', '*', 'n', String(i));
  await stream.exec();
  await replicated();
  await w.config('RESETSTAT');

  const p = provider({ pieceBytes: 64 * 1024 });
  const equal = await check(p);
  expect(equal.ok).toBe(true);
  expect(equal.scope).toMatchObject({ total: 6, equal: 6, different: 0, sampled: false });
  expect(verdictLabel(equal.scope)).toBe('consistent');
  // What the writer served: pieces (GETRANGE, HSCAN, ...), no command that copies a value whole.
  const stats = await w.info('commandstats');
  const calls = (cmd: string) =>
    Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  expect(calls('getrange')).toBeGreaterThanOrEqual(48);
  expect(calls('hscan')).toBeGreaterThan(1);
  expect(calls('sscan')).toBeGreaterThan(1);
  expect(calls('lrange')).toBeGreaterThan(1);
  expect(calls('zrange')).toBeGreaterThan(1);
  expect(calls('xrange')).toBeGreaterThan(1);
  expect([calls('get'), calls('hgetall'), calls('smembers'), calls('dump')]).toEqual([0, 0, 0, 0]);

  await onReplicaOnly((r) => r.setrange('big:string', 2_000_000, 'y'));
  const changed = await check(p);
  expect(changed.ok).toBe(false);
  expect(changed.scope).toMatchObject({ different: 1, differences: ['big:string'], equal: 5 });
});

test('a keyspace larger than the sample is sampled at random across it and says "sampled N %", never "consistent"', async () => {
  const w = connect(lab.redis.primary.url);
  for (let i = 0; i < 5000; i += 500)
    await w.mset(...Array.from({ length: 500 }, (_, j) => [`k:${i + j}`, 'v']).flat());
  await replicated();
  // Every tenth key differs on the replica: a sample of 200 finds some, and two samples find others.
  await onReplicaOnly(async (r) => {
    for (let i = 0; i < 5000; i += 10) await r.set(`k:${i}`, 'stale');
  });

  const p = provider({ sampleKeys: 200 });
  const a = await check(p);
  const b = await check(p);
  expect(a.ok).toBe(false);
  expect(a.scope).toMatchObject({ total: 5000, sampled: true });
  expect(a.scope.equal + a.scope.different).toBe(200);
  expect(a.scope.different).toBeGreaterThan(0);
  expect(a.scope.differences.every((k) => Number(k.slice(2)) % 10 === 0)).toBe(true);
  expect(a.scope.differences).not.toEqual(b.scope.differences);

  await onReplicaOnly(async (r) => {
    for (let i = 0; i < 5000; i += 10) await r.set(`k:${i}`, 'v');
  });
  const clean = await check(p);
  expect(clean.ok).toBe(true);
  expect(verdictLabel(clean.scope)).toBe('sampled 4 %');
});

test('keys the writer keeps changing during the check are no false difference', async () => {
  const w = connect(lab.redis.primary.url);
  await w.mset(...Array.from({ length: 50 }, (_, i) => [`hot:${i}`, '0']).flat());
  await w.mset(...Array.from({ length: 50 }, (_, i) => [`cold:${i}`, 'v']).flat());
  await replicated();
  const writer = connect(lab.redis.primary.url);
  let writing = true;
  let writes = 0;
  const load = (async () => {
    while (writing) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => writer.incr(`hot:${i}`)));
      await writer.set(`new:${writes++}`, 'x');
    }
  })();
  try {
    await until('the load to be running', async () => writes > 5);
    const p = provider();
    for (let round = 0; round < 3; round++) {
      const { scope, ok } = await check(p);
      expect(ok).toBe(true);
      expect(scope.different).toBe(0);
      expect(scope.equal + scope.changing).toBe(scope.total);
      expect(scope.equal).toBeGreaterThanOrEqual(50);
    }
  } finally {
    writing = false;
    await load;
  }
});

test('a time budget spent before the keys were compared: "sampled", never "consistent"', async () => {
  const w = connect(lab.redis.primary.url);
  await w.mset(...Array.from({ length: 1000 }, (_, j) => [`b:${j}`, 'v']).flat());
  await replicated();
  // A budget gone before the first batch: how fast keys compare on this machine does not matter.
  const spent = await check(provider({ timeBudgetSeconds: 0.001 }));
  expect(spent.ok).toBe(true);
  expect(spent.scope).toMatchObject({ sampled: true, equal: 0, total: 1000 });
  expect(verdictLabel(spent.scope)).toBe('sampled 0 %');
  const whole = await check(provider());
  expect(verdictLabel(whole.scope)).toBe('consistent');
});
