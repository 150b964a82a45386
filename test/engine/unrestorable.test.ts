/**
 * Operations this version cannot resume: a snapshot that is not JSON any more, or an operation
 * started under a runbook that a deploy has changed since. Start-up goes on and says so, the
 * environment stays locked (nothing is run for it), and an approver's `/dr abort` closes it
 * without a machine. An operation stored before snapshots carried their runbook still resumes.
 */
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { commandRef } from '../../src/domain/commands.js';
import type { DrConfigInput } from '../../src/config/schema.js';
import type { TimelineEntry } from '../../src/domain/types.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { createRedisStore, type OperationStore } from '../../src/store/index.js';
import {
  APPROVER,
  inPhase,
  OUTSIDER,
  REQUESTER,
  testConfig,
  waitingForDone,
} from '../support/engine-harness.js';
import { createFakeProviders, FakeWorld } from '../support/fakes.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

let redis: Redis;
let prefix: string;
let store: OperationStore;
let world: FakeWorld;
const engines: Engine[] = [];
let logs: Array<{ level: number; msg: string; opId?: string }>;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
beforeEach(async () => {
  prefix = uniquePrefix('unrestorable');
  store = createRedisStore({ redis, prefix });
  world = await new FakeWorld().init();
  logs = [];
});
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
  await deleteKeys(redis, prefix);
});
afterAll(async () => {
  await redis.quit();
});

async function startEngine(
  environment = 'prod',
  overrides: Partial<DrConfigInput> = {},
): Promise<Engine> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        logs.push(JSON.parse(line) as (typeof logs)[number]);
      done();
    },
  });
  const approvers = new Set([APPROVER]);
  const engine = createEngine({
    config: testConfig({ environment, ...overrides }),
    store,
    providers: createFakeProviders(world),
    authorizer: { isAuthorized: async (u) => approvers.has(u) },
    log: pino({ level: 'warn' }, sink),
  });
  engines.push(engine);
  await engine.start();
  return engine;
}

async function stopAll(): Promise<void> {
  for (const e of engines.splice(0)) await e.stop();
}

/** Rewrite the stored snapshot the way a bad write or an old deploy would have left it. */
async function tamper(
  id: string,
  change: (snapshot: { value: unknown; context: Record<string, unknown> }) => void,
): Promise<void> {
  const raw = await redis.hget(`${prefix}op:${id}`, 'snapshot');
  const snapshot = JSON.parse(raw!) as { value: unknown; context: Record<string, unknown> };
  change(snapshot);
  await redis.hset(`${prefix}op:${id}`, 'snapshot', JSON.stringify(snapshot));
}

/** A checklist item after the DNS switch (config runbook.steps). */
const WITH_MANUAL_STEP: Partial<DrConfigInput> = {
  runbook: {
    steps: [
      {
        id: 'tell-support',
        title: 'Tell customer support',
        after: 'switch-dns',
        manual: { text: 'Tell support we serve from the secondary region.' },
      },
    ],
  },
};

async function awaitingFailover(engine: Engine): Promise<string> {
  const req = await engine.request({
    kind: 'failover',
    mode: 'auto',
    requester: REQUESTER,
    reason: 'region down',
  });
  if (!req.ok) throw new Error(req.message);
  return (await inPhase(engine, req.op.id, 'awaitingApproval')).id;
}

const types = (tl: TimelineEntry[]) => tl.map((e) => e.type);

describe('an operation this version cannot resume', () => {
  test('a snapshot that is not JSON: start-up says so, the environment stays locked, an approver closes it with abort', async () => {
    const id = await awaitingFailover(await startEngine());
    await stopAll();
    await redis.hset(`${prefix}op:${id}`, 'snapshot', '{"status":"active","value":"awaitingAppr');

    const engine = await startEngine();
    const report = logs.find((l) => l.opId === id && l.level === 50);
    expect(report?.msg).toMatch(
      new RegExp(
        `^${id} cannot be resumed by this version of dr-bot: its stored snapshot is not valid JSON .*It keeps the environment locked until an approver closes it with \`abort\`\\. Nothing was run for it\\.$`,
      ),
    );

    const status = await engine.status();
    expect(status.active).toBeNull();
    expect(status.unrestorable).toEqual({
      id,
      reason: expect.stringContaining('its stored snapshot is not valid JSON'),
    });

    const request = await engine.request({
      kind: 'failback',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'r',
    });
    expect(request).toMatchObject({
      ok: false,
      code: 'already-active',
      activeId: id,
      unrestorable: expect.stringContaining('not valid JSON'),
    });
    expect(request.ok || request.message).toContain(
      `${id} holds the environment but cannot be resumed by this version of dr-bot`,
    );
    // Commands by verb, for each adapter to spell: `/dr abort` in Slack, `abort` in the console.
    expect(request.ok || request.message).toContain(
      `An approver can close it with ${commandRef('abort')}; then request the failback again.`,
    );
    const approve = await engine.approve({ opId: id, userId: APPROVER, planHash: 'x' });
    expect(approve).toMatchObject({ ok: false, reason: 'unrestorable' });
    expect(approve.message).toContain(`until an approver closes it with ${commandRef('abort')}.`);
    expect(approve.message).not.toContain('/dr');

    const outsider = await engine.abort({ userId: OUTSIDER });
    expect(outsider).toMatchObject({ ok: false, reason: 'unauthorized' });
    // Not even the requester: whether it was approved yet cannot be read.
    expect(await engine.abort({ userId: REQUESTER })).toMatchObject({
      ok: false,
      reason: 'unauthorized',
    });
    expect(await store.activeFor('prod')).toBe(id);

    const closed = await engine.abort({ userId: APPROVER, reason: 'bad deploy' });
    expect(closed).toMatchObject({
      ok: true,
      op: { id, phase: 'aborted', abortedBy: APPROVER, kind: 'failover' },
    });
    expect(closed.message).toContain(
      `${id} closed as aborted by <@${APPROVER}> without resuming it (its stored snapshot is not valid JSON`,
    );
    expect(await store.activeFor('prod')).toBeNull();
    const tl = await store.timeline(id);
    expect(types(tl).slice(-3)).toEqual(['ActionRefused', 'ActionRefused', 'OperationAborted']);
    expect(tl.at(-1)).toMatchObject({
      userId: APPROVER,
      reason: 'bad deploy',
      notResumed: expect.stringContaining('not valid JSON'),
    });

    // Closed, it reads like any finished operation, here and after a restart.
    expect((await engine.status()).last).toMatchObject({ id, phase: 'aborted' });
    await stopAll();
    const again = await startEngine();
    expect(await again.status()).toMatchObject({ active: null, last: { id, phase: 'aborted' } });
    expect(
      (
        await again.request({
          kind: 'failover',
          mode: 'auto',
          requester: REQUESTER,
          reason: 'again',
        })
      ).ok,
    ).toBe(true);
  });

  test('an operation of another environment on the same state Redis is refused by id, not acted on or closed from this one', async () => {
    // Staging's bot requested a failover and stopped; prod's bot shares the state Redis.
    const id = await awaitingFailover(await startEngine('staging'));
    await stopAll();
    const prod = await startEngine('prod');
    const notOurs = `${id} is an operation of staging, not of prod: act on it with the bot (or dr console) of staging.`;
    expect(await prod.approve({ opId: id, userId: APPROVER, planHash: 'x' })).toEqual({
      ok: false,
      reason: 'other-environment',
      message: notOurs,
    });
    expect(await prod.abort({ opId: id, userId: APPROVER, reason: 'typed the wrong id' })).toEqual({
      ok: false,
      reason: 'other-environment',
      message: notOurs,
    });
    // Unreadable there too: prod's approvers still cannot close it.
    await redis.hset(`${prefix}op:${id}`, 'snapshot', 'not json');
    expect(await prod.abort({ opId: id, userId: APPROVER, reason: 'typed the wrong id' })).toEqual({
      ok: false,
      reason: 'other-environment',
      message: notOurs,
    });
    expect(await prod.reject({ opId: id, userId: APPROVER })).toEqual({
      ok: false,
      reason: 'other-environment',
      message: notOurs,
    });
    expect(await store.activeFor('staging')).toBe(id);
    expect((await store.load(id))?.status).toBe('active');
  });

  test('a runbook changed by a deploy mid-operation: the running step is not run again, abort closes it with that step unknown', async () => {
    world.delay('dns.switchTo', 300_000);
    const entered = world.entered('dns.switchTo');
    const first = await startEngine();
    const id = await awaitingFailover(first);
    const waiting = (await first.get(id))!;
    expect(
      (await first.approve({ opId: id, userId: APPROVER, planHash: waiting.planHash! })).ok,
    ).toBe(true);
    await entered;
    await stopAll();
    // Started under a runbook with a stage this version no longer has.
    await tamper(id, (s) => {
      s.context.runbook = [
        ['promote-database', 'promote-cache'],
        ['switch-dns'],
        ['warm-caches'],
        ['scale-secondary'],
        ['verify-secondary'],
      ];
    });
    const calls = world.calls.length;

    const engine = await startEngine();
    expect(world.calls.slice(calls)).toEqual([]);
    const status = await engine.status();
    expect(status.unrestorable).toEqual({
      id,
      reason:
        'the failover runbook changed since it started (then: promote-database + promote-cache → switch-dns → warm-caches → scale-secondary → verify-secondary; now: promote-database + promote-cache + scale-secondary → switch-dns → verify-secondary)',
    });
    expect(await store.activeFor('prod')).toBe(id);

    const closed = await engine.abort({ opId: id, userId: APPROVER });
    expect(closed).toMatchObject({ ok: true, op: { id, phase: 'aborted' } });
    const dns = closed.op!.steps.find((s) => s.id === 'switch-dns');
    expect(dns).toMatchObject({
      status: 'failed',
      error: { message: expect.stringContaining('its outcome is unknown') },
    });
    expect(closed.op!.steps.find((s) => s.id === 'promote-database')?.status).toBe('succeeded');
    expect(await store.activeFor('prod')).toBeNull();
    expect(world.calls.slice(calls)).toEqual([]);
  });

  test('a checklist item waiting for Done when a deploy removed it: abort closes it as failed, not left waiting', async () => {
    const first = await startEngine('prod', WITH_MANUAL_STEP);
    const id = await awaitingFailover(first);
    const view = (await first.get(id))!;
    expect((await first.approve({ opId: id, userId: APPROVER, planHash: view.planHash! })).ok).toBe(
      true,
    );
    await waitingForDone(first, id);
    await stopAll();

    // The new deploy's config has no such step: its runbook differs, so it cannot resume.
    const engine = await startEngine();
    expect((await engine.status()).unrestorable?.id).toBe(id);
    const closed = await engine.abort({ opId: id, userId: APPROVER });
    expect(closed).toMatchObject({ ok: true, op: { id, phase: 'aborted' } });
    expect(closed.op!.steps.find((s) => s.id === 'custom:tell-support')).toMatchObject({
      status: 'failed',
      error: { message: expect.stringContaining('nobody confirmed it') },
    });
    expect(closed.op!.steps.filter((s) => s.status === 'waiting')).toEqual([]);
    expect(closed.op!.waiting ?? []).toEqual([]);
    expect(await store.activeFor('prod')).toBeNull();
  });

  test('an operation stored before snapshots carried their runbook is resumed and completes', async () => {
    const id = await awaitingFailover(await startEngine());
    await stopAll();
    await tamper(id, (s) => {
      delete s.context.runbook;
    });
    const engine = await startEngine();
    const view = (await engine.get(id))!;
    expect(view.phase).toBe('awaitingApproval');
    expect(
      (await engine.approve({ opId: id, userId: APPROVER, planHash: view.planHash! })).ok,
    ).toBe(true);
    await inPhase(engine, id, 'completed');
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);
  });
});
