/**
 * Redis after a real regional loss: the primary is killed, the failover promotes the replica
 * without demoting it, and the old primary comes back as a master with a new replication id (a
 * restart), sharing no stream with the new master. The failback must not be refused for "two
 * masters": the restarted old primary is the stale side, what it holds is shown before approval,
 * and the resync makes it a replica of the side that served. The engine runs the cache steps only
 * (the other components are left out of the providers), against the lab's real Redis pair.
 */
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/index.js';
import type { ComponentReadiness } from '../../src/domain/types.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { findRedisServer, startRedis, type LabInfo } from '../../src/lab/index.js';
import { createRedisProvider } from '../../src/providers/redis/index.js';
import type { CacheProvider } from '../../src/providers/types.js';
import { createRedisStore } from '../../src/store/index.js';
import { silentLog, startLab, stopLabs, until } from '../support/lab.js';
import { deleteKeys, labRedisClients, REDIS_URL, uniquePrefix } from '../support/redis.js';
import { requestAndApprove } from './support.js';

let lab: LabInfo;
let cache: CacheProvider;
let engine: Engine;
let state: Redis;
const prefix = uniquePrefix('redis-regional-loss');
const { connect, closeAll } = labRedisClients();
let restartedPid = 0;

async function replication(url: string): Promise<Record<string, string>> {
  const text = await connect(url).info('replication');
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((l) => l.includes(':'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
}

beforeAll(async () => {
  lab = await startLab();
  const config = loadConfig({ path: lab.configPath });
  cache = createRedisProvider({
    primaryUrl: lab.redis.primary.url,
    secondaryUrl: lab.redis.secondary.url,
    promoteTimeoutSeconds: 10,
    useFailoverCommand: true,
    log: silentLog,
    connectTimeoutMs: 1000,
  });
  state = new Redis(REDIS_URL);
  engine = createEngine({
    config,
    store: createRedisStore({ redis: state, prefix }),
    providers: { cache },
    authorizer: { isAuthorized: async (u) => config.approvals.approvers.includes(u) },
    log: silentLog,
  });
  await engine.start();
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  await cache?.close();
  await closeAll();
  if (state) {
    await deleteKeys(state, prefix);
    await state.quit();
  }
  await stopLabs();
});

test('primary killed, unplanned failover, old primary restarted: failback readiness warns (not blocked) with what it holds; the resync makes it a replica with every key the new master took', async () => {
  const primary = connect(lab.redis.primary.url);
  for (let i = 1; i <= 20; i++) await primary.set(`before:${i}`, String(i));
  await until(
    'the replica to have the whole stream',
    async () =>
      (await replication(lab.redis.secondary.url)).slave_repl_offset ===
      (await replication(lab.redis.primary.url)).master_repl_offset,
  );
  process.kill(lab.redis.primary.pid, 'SIGKILL');
  await until(
    'the primary to be gone',
    async () => !(await cache.readiness('secondary')).primaryReachable,
  );

  const failover = await requestAndApprove(engine, 'failover');
  expect(failover.after.mode).toBe('unplanned');
  expect(failover.after.steps.find((s) => s.id === 'promote-cache')?.evidence).toMatchObject({
    fenced: false,
  });
  const newMaster = connect(lab.redis.secondary.url);
  for (let i = 1; i <= 30; i++) await newMaster.set(`after:${i}`, String(i));

  // The region is back: the old primary restarts as the master its config says it is, empty (no persistence in the lab).
  restartedPid = (
    await startRedis({
      redisServer: findRedisServer(),
      name: 'lab-primary',
      port: lab.redis.primary.port,
      dir: lab.redis.primary.dir,
    })
  ).pid;
  const restarted = await replication(lab.redis.primary.url);
  expect(restarted.role).toBe('master');
  expect(restarted.master_replid).not.toBe(
    (await replication(lab.redis.secondary.url)).master_replid2,
  );
  // A client that reached it in the meantime: its write is what the resync drops.
  await connect(lab.redis.primary.url).set('late', 'written to the restarted old primary');

  const ready = await cache.readiness('primary');
  expect(ready).toMatchObject({
    status: 'warning',
    primaryReachable: true,
    planFacts: { targetRole: 'stale-master', history: 'restarted' },
  });
  expect(ready.summary).toContain(
    'primary is the old master, back with a new replication id beside secondary',
  );
  expect(ready.details).toMatchObject({
    staleKeys: 1,
    staleKeysNotOnWriter: 1,
    staleKeysDiffering: 0,
  });
  expect(ready.expectedLoss?.description).toBe(
    `primary holds 1 keys, offset 0: 1 not on secondary and 0 with another value there (all 1 compared); the resync replaces them with secondary's data`,
  );

  const failback = await requestAndApprove(engine, 'failback');
  const card = failback.before.preflight?.components.find(
    (c) => c.component === 'cache',
  ) as ComponentReadiness;
  expect(card.status).toBe('warning');
  expect(card.expectedLoss?.description).toContain('1 not on secondary');
  expect(failback.after.phase).toBe('completed');
  const resync = failback.after.steps.find((s) => s.id === 'resync-cache');
  expect(resync).toMatchObject({
    status: 'succeeded',
    evidence: {
      previousRole: 'master',
      droppedKeys: expect.stringContaining('1 not on secondary'),
    },
  });

  // The failback ends with the primary serving again and the secondary its replica, at equal offsets.
  await until('the secondary to follow the primary at its offset', async () => {
    const [p, s] = await Promise.all([
      replication(lab.redis.primary.url),
      replication(lab.redis.secondary.url),
    ]);
    return (
      p.role === 'master' &&
      s.role === 'slave' &&
      s.master_link_status === 'up' &&
      s.slave_repl_offset === p.master_repl_offset
    );
  });
  const back = connect(lab.redis.primary.url);
  expect(await back.exists('late')).toBe(0);
  expect(await back.mget(Array.from({ length: 30 }, (_, i) => `after:${i + 1}`))).toEqual(
    Array.from({ length: 30 }, (_, i) => String(i + 1)),
  );
  expect(await back.get('before:20')).toBe('20');
});

test('resync alone: the restarted old primary becomes a replica of the writer with equal offsets', async () => {
  // After the failback above the primary serves: kill it again and fail over without the engine.
  process.kill(restartedPid, 'SIGKILL');
  await until(
    'the primary to be gone',
    async () => !(await cache.readiness('secondary')).primaryReachable,
  );
  await cache.promote({ target: 'secondary', mode: 'unplanned', progress: () => undefined });
  await connect(lab.redis.secondary.url).set('after-second-loss', 'kept');
  await startRedis({
    redisServer: findRedisServer(),
    name: 'lab-primary',
    port: lab.redis.primary.port,
    dir: lab.redis.primary.dir,
  });

  // This time it restarts from the RDB it loaded as a replica: a history older than the secondary's promotion.
  const ready = await cache.readiness('primary');
  expect(ready).toMatchObject({
    status: 'warning',
    planFacts: { targetRole: 'stale-master', history: 'restarted' },
  });
  expect(Number(ready.details.secondReplOffset)).toBeLessThanOrEqual(
    Number(ready.details.otherSecondReplOffset),
  );
  const result = await cache.resync({ standby: 'primary', progress: () => undefined });
  expect(result.noop).toBe(false);
  expect(result.summary).toMatch(/offsets equal/);
  const [p, s] = await Promise.all([
    replication(lab.redis.primary.url),
    replication(lab.redis.secondary.url),
  ]);
  expect(p).toMatchObject({
    role: 'slave',
    master_link_status: 'up',
    master_replid: s.master_replid,
  });
  expect(Number(p.slave_repl_offset)).toBeGreaterThanOrEqual(Number(result.evidence.offset));
  expect(await connect(lab.redis.primary.url).get('after-second-loss')).toBe('kept');
});
