/**
 * An engine wired to the real Redis (own key prefix), provider fakes and a fixed approver list,
 * plus helpers to wait for what a user would wait for (a phase, a step status).
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { configSchema, type DrConfig, type DrConfigInput } from '../../src/config/schema.js';
import { FINAL_PHASES, type OperationView, type Phase } from '../../src/domain/types.js';
import { createEngine } from '../../src/engine/index.js';
import type { Engine, EngineNotification } from '../../src/engine/index.js';
import type { Providers } from '../../src/providers/types.js';
import { createRedisStore } from '../../src/store/index.js';
import type { OperationStore } from '../../src/store/index.js';
import { createFakeProviders, FakeWorld } from './fakes.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis.js';

export const REQUESTER = 'UREQUEST1';
export const APPROVER = 'UAPPROVE1';
export const APPROVER_2 = 'UAPPROVE2';
export const OUTSIDER = 'UOUTSIDE1';

export function testConfig(overrides: Partial<DrConfigInput> = {}): DrConfig {
  return configSchema.parse({
    environment: 'prod',
    regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'eu-central-1' } },
    slack: { incidentChannel: 'C0INCIDENT' },
    approvals: { approvers: [REQUESTER, APPROVER, APPROVER_2] },
    ...overrides,
  });
}

export interface Harness {
  engine: Engine;
  store: OperationStore;
  world: FakeWorld;
  redis: Redis;
  prefix: string;
  notifications: EngineNotification[];
  /** A second engine on the same store and world (another bot process). */
  another(): Engine;
  close(): Promise<void>;
}

export async function createHarness(opts: {
  name: string;
  only?: readonly (keyof Providers)[];
  world?: FakeWorld;
  config?: DrConfig;
  now?: () => number;
  tickMs?: number;
  recheckDelaysMs?: readonly number[];
  /** Real providers to use instead of the fakes (e.g. the Route 53 provider against its simulator). */
  providers?: Partial<Providers>;
  /** Another state Redis than the tests' one (bench/engine.ts: a durable one with a replica). */
  redisUrl?: string;
  /** A store that never confirms writes on disk or a replica before a step acts (the bench's reference). */
  unconfirmed?: boolean;
}): Promise<Harness> {
  const prefix = uniquePrefix(opts.name);
  const redis = new Redis(opts.redisUrl ?? REDIS_URL);
  const redisStore = createRedisStore({ redis, prefix });
  const { confirmWritten: _confirm, ...unconfirmedStore } = redisStore;
  const store: OperationStore = opts.unconfirmed ? unconfirmedStore : redisStore;
  const world = opts.world ?? (await new FakeWorld().init());
  const config = opts.config ?? testConfig();
  const approvers = new Set(config.approvals.approvers);
  const build = () =>
    createEngine({
      config,
      store,
      providers: { ...createFakeProviders(world, opts.only), ...opts.providers },
      authorizer: { isAuthorized: async (u) => approvers.has(u) },
      log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
      now: opts.now,
      tickMs: opts.tickMs,
      recheckDelaysMs: opts.recheckDelaysMs,
    });
  const engine = build();
  const engines = [engine];
  const notifications: EngineNotification[] = [];
  engine.subscribe((n) => notifications.push(n));
  await engine.start();
  return {
    engine,
    store,
    world,
    redis,
    prefix,
    notifications,
    another() {
      const e = build();
      engines.push(e);
      return e;
    },
    async close() {
      for (const e of engines) await e.stop();
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}

/**
 * Resolves with the operation's view once `pred` holds (checked after every persisted change);
 * rejects as soon as `stuck` holds, so a test that went wrong fails with the reason at once.
 */
function waitFor(
  engine: Engine,
  opId: string,
  pred: (v: OperationView) => boolean,
  stuck: (v: OperationView) => boolean = () => false,
): Promise<OperationView> {
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (v: OperationView) => {
      if (done) return;
      if (pred(v)) {
        done = true;
        unsubscribe();
        resolve(v);
      } else if (stuck(v)) {
        done = true;
        unsubscribe();
        reject(
          new Error(
            `${opId} is ${v.phase}${v.lastError ? ` (${v.lastError.message})` : ''}: the awaited state cannot come`,
          ),
        );
      }
    };
    const unsubscribe = engine.subscribe((n) => {
      if (n.op.id === opId) settle(n.op);
    });
    engine.get(opId).then((v) => v && settle(v), reject);
  });
}

/** Waits for `phase`; fails fast when the operation pauses or finishes in another phase. */
export const inPhase = (engine: Engine, opId: string, phase: Phase) =>
  waitFor(
    engine,
    opId,
    (v) => v.phase === phase,
    (v) => v.phase !== phase && (v.phase === 'paused' || FINAL_PHASES.includes(v.phase)),
  );

/** Waits until a manual step waits for Done; fails fast when the operation pauses or finishes. */
export const waitingForDone = (engine: Engine, opId: string) =>
  waitFor(
    engine,
    opId,
    (v) => (v.waiting?.length ?? 0) > 0,
    (v) => v.phase === 'paused' || FINAL_PHASES.includes(v.phase),
  );
