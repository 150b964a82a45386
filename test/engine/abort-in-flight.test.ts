/**
 * Abort while a step's provider call is under way: the call cannot be interrupted, so the
 * environment must not take a new operation until it has settled, and what it did after all
 * goes on the aborted operation's timeline. The DNS switch is held open by the test.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { TimelineEntry } from '../../src/domain/types.js';
import { createEngine, type Engine, type EngineNotification } from '../../src/engine/index.js';
import type { Providers } from '../../src/providers/types.js';
import { createRedisStore } from '../../src/store/index.js';
import { APPROVER, inPhase, REQUESTER, testConfig } from '../support/engine-harness.js';
import { createFakeProviders, FakeWorld } from '../support/fakes.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

let redis: Redis;
let prefix: string;
const engines: Engine[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
  await deleteKeys(redis, prefix);
});
afterAll(async () => {
  await redis.quit();
});

/** Fake providers whose DNS switch waits for the test to let it go (and then succeeds or throws). */
function gatedDns(world: FakeWorld) {
  const providers = createFakeProviders(world) as Required<Providers>;
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  let release!: (error?: Error) => void;
  const gate = new Promise<Error | undefined>((r) => (release = r));
  const dns = providers.dns;
  providers.dns = {
    ...dns,
    async switchTo(opts) {
      entered();
      const error = await gate;
      if (error) throw error;
      return dns.switchTo(opts);
    },
  };
  return { providers, inside, release };
}

async function setup() {
  prefix = uniquePrefix('abort-in-flight');
  const store = createRedisStore({ redis, prefix });
  const world = await new FakeWorld().init();
  const gated = gatedDns(world);
  const build = () =>
    createEngine({
      config: testConfig(),
      store,
      providers: gated.providers,
      authorizer: { isAuthorized: async () => true },
      log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
    });
  const engine = build();
  engines.push(engine);
  const notes: EngineNotification[] = [];
  engine.subscribe((n) => notes.push(n));
  await engine.start();
  return { engine, store, world, notes, build, ...gated };
}

async function abortDuringDnsSwitch(engine: Engine, inside: Promise<void>): Promise<string> {
  const req = await engine.request({
    kind: 'failover',
    mode: 'auto',
    requester: REQUESTER,
    reason: 'region down',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(engine, req.op.id, 'awaitingApproval');
  expect(
    (await engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! })).ok,
  ).toBe(true);
  await inside;
  const aborted = await engine.abort({ userId: APPROVER, reason: 'wrong region' });
  expect(aborted).toMatchObject({ ok: true, op: { id: waiting.id, phase: 'aborted' } });
  expect(aborted.message).toContain(
    'Switch DNS to secondary was still running and cannot be interrupted',
  );
  return waiting.id;
}

function settledEntry(notes: EngineNotification[], opId: string): Promise<TimelineEntry> {
  return new Promise((resolve) => {
    const look = (): void => {
      const found = notes
        .flatMap((n) => n.entries)
        .find((e) => e.opId === opId && e.type === 'AbortedStepSettled');
      if (found) resolve(found);
      else setTimeout(look, 10);
    };
    look();
  });
}

describe('abort while a step call is under way', () => {
  test('no new operation starts until the abandoned DNS switch has settled; its outcome is on the timeline', async () => {
    const { engine, store, world, notes, inside, release } = await setup();
    const id = await abortDuringDnsSwitch(engine, inside);
    // The lock is released (the operation is over), but the environment is not free yet.
    expect(await store.activeFor('prod')).toBeNull();
    const early = await engine.request({
      kind: 'failback',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'undo',
    });
    expect(early).toEqual({
      ok: false,
      code: 'settling',
      activeId: id,
      stepIds: ['switch-dns'],
      message: `${id} was aborted while Switch DNS to secondary was still running; waiting for it to settle. Its outcome goes on the timeline of ${id}; request again once it is there.`,
    });
    expect(await store.activeFor('prod')).toBeNull();

    release();
    const settled = await settledEntry(notes, id);
    expect(settled).toMatchObject({
      type: 'AbortedStepSettled',
      stepId: 'switch-dns',
      outcome: 'succeeded',
    });
    expect(await world.get('dns.target')).toBe('secondary');
    const tl = (await store.timeline(id)).map((e) => e.type);
    expect(tl.slice(-2)).toEqual(['OperationAborted', 'AbortedStepSettled']);

    const next = await engine.request({
      kind: 'failback',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'undo',
    });
    expect(next.ok).toBe(true);
  });

  test('a call that fails after the abort is recorded as failed, with its error', async () => {
    const { engine, store, notes, inside, release } = await setup();
    const id = await abortDuringDnsSwitch(engine, inside);
    release(new Error('Route 53 throttled the change'));
    const settled = await settledEntry(notes, id);
    expect(settled).toMatchObject({
      type: 'AbortedStepSettled',
      stepId: 'switch-dns',
      outcome: 'failed',
    });
    expect((settled as { detail: string }).detail).toContain('Route 53 throttled the change');
    expect((await store.timeline(id)).at(-1)?.type).toBe('AbortedStepSettled');
    expect(
      (
        await engine.request({
          kind: 'failover',
          mode: 'auto',
          requester: REQUESTER,
          reason: 'again',
        })
      ).ok,
    ).toBe(true);
  });

  test('after a restart the abandoned call died with the old process: nothing to wait for', async () => {
    const { engine, inside, build } = await setup();
    await abortDuringDnsSwitch(engine, inside);
    await engine.stop();
    const restarted = build();
    engines.push(restarted);
    await restarted.start();
    expect(
      (
        await restarted.request({
          kind: 'failback',
          mode: 'auto',
          requester: REQUESTER,
          reason: 'undo',
        })
      ).ok,
    ).toBe(true);
  });
});
