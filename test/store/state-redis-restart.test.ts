/**
 * The state Redis killed (SIGKILL) during a planned failover and restarted from its append-only
 * file (appendfsync always), on real servers: the bot's saves fail while it is away and are
 * retried; once it is back the operation completes, each effect applied once, and its timeline
 * shows every step started and succeeded exactly once, in order, without a gap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createEngine } from '../../src/engine/index.js';
import {
  findRedisServer,
  freePorts,
  startRedis,
  stopRedis,
  type RedisServerInfo,
} from '../../src/lab/index.js';
import { createInstanceLease, createRedisStore } from '../../src/store/index.js';
import { APPROVER, inPhase, REQUESTER, testConfig } from '../support/engine-harness.js';
import { createFakeProviders, FakeWorld } from '../support/fakes.js';

const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
const config = testConfig();
let dir: string;
let server: RedisServerInfo;
let port: number;

const start = () =>
  startRedis({
    redisServer: findRedisServer(),
    name: 'state (restarted)',
    port,
    dir: join(dir, 'state'),
    durable: true,
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dr-state-restart-'));
  [port] = (await freePorts(1)) as [number];
  server = await start();
}, 30_000);

afterAll(async () => {
  await stopRedis(server, 'SIGKILL').catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('SIGKILL of the state Redis mid-failover, restarted from its AOF: the failover completes once, its timeline without a gap or a duplicate', async () => {
  const world = await new FakeWorld().init();
  const lease = createInstanceLease({
    url: server.url,
    environment: config.environment,
    command: 'dr start',
    ttlMs: 10_000,
    log,
  });
  const store = createRedisStore({ url: server.url, fence: () => lease.fence() });
  const lost: string[] = [];
  expect(await lease.tryAcquire()).toEqual({ acquired: true });
  lease.hold((reason) => lost.push(reason));
  const approvers = new Set(config.approvals.approvers);
  const engine = createEngine({
    config,
    store,
    providers: createFakeProviders(world),
    authorizer: { isAuthorized: async (u) => approvers.has(u) },
    log,
  });
  try {
    await engine.start();
    const req = await engine.request({
      kind: 'failover',
      mode: 'planned',
      requester: REQUESTER,
      reason: 'state redis restart',
    });
    if (!req.ok) throw new Error(req.message);
    const waiting = await inPhase(engine, req.op.id, 'awaitingApproval');
    world.delay('dns.switchTo', 1000);
    const switching = world.entered('dns.switchTo');
    await engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! });
    await switching;

    // The state Redis dies while DNS is being switched, and comes back from its AOF.
    await stopRedis(server, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    server = await start();

    const done = await inPhase(engine, req.op.id, 'completed');
    expect(lost).toEqual([]);
    expect(done.steps.every((s) => s.status === 'succeeded')).toBe(true);
    for (const call of ['database.promote', 'dns.switchTo', 'cluster.scale'] as const)
      expect(await world.effects(call)).toBe(1);

    const timeline = await store.timeline(req.op.id);
    const ofType = (type: string) =>
      timeline.filter((e) => e.type === type).map((e) => (e as { stepId: string }).stepId);
    const steps = done.steps.map((s) => s.id);
    expect([...ofType('StepStarted')].sort()).toEqual([...steps].sort());
    expect([...ofType('StepSucceeded')].sort()).toEqual([...steps].sort());
    expect(timeline.filter((e) => e.type === 'OperationCompleted')).toHaveLength(1);
    expect(timeline.at(-1)?.type).toBe('OperationCompleted');
  } finally {
    await engine.stop();
    await lease.close();
    await store.close();
  }
}, 90_000);
