/**
 * In-memory fakes of every provider interface, for engine and Slack tests. They model the real
 * state (who writes, who streams from whom, where DNS points, how big each cluster is), count each
 * effect that actually changed something, and let a test inject failures, slow calls and hangs.
 *
 * The state lives behind a small backend: a Map by default, or Redis (`redisBackend`) so that the
 * state and the effect counters survive a killed process in the crash tests.
 */
import type { Redis } from 'ioredis';
import type { CheckResult, ComponentReadiness, RegionRole } from '../../src/domain/types.js';
import { PreconditionFailed, ProviderError } from '../../src/errors.js';
import type {
  ActionResult,
  CacheProvider,
  ClusterProvider,
  DatabaseProvider,
  DnsProvider,
  HealthProvider,
  Progress,
  PromotionResult,
  Providers,
  ScaleProfile,
  VerificationProvider,
  WriteLoadProvider,
} from '../../src/providers/types.js';

interface StateBackend {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  incr(key: string): Promise<number>;
}

function memoryBackend(): StateBackend {
  const m = new Map<string, string>();
  return {
    async get(k) {
      return m.get(k) ?? null;
    },
    async set(k, v) {
      m.set(k, v);
    },
    async incr(k) {
      const n = Number(m.get(k) ?? '0') + 1;
      m.set(k, String(n));
      return n;
    },
  };
}

export function redisBackend(redis: Redis, prefix: string): StateBackend {
  return {
    get: (k) => redis.get(prefix + k),
    async set(k, v) {
      await redis.set(prefix + k, v);
    },
    incr: (k) => redis.incr(prefix + k),
  };
}

/** Calls a test can make fail, slow down or hang: `database.promote`, `dns.switchTo`, ... */
export type FakeCall =
  | `${'database' | 'cache'}.${'readiness' | 'isWriter' | 'promote' | 'verifyWriter' | 'isStreamingStandby' | 'resync' | 'consistency' | 'detach'}`
  | `dns.${'readiness' | 'currentTarget' | 'switchTo' | 'verify'}`
  // `cluster.scaleWrite`: a scale's writes, once it has decided to change something.
  | `cluster.${'readiness' | 'isScaled' | 'scale' | 'scaleWrite' | 'reachable'}`
  | `verification.${'readiness' | 'run'}`
  | `health.${'readiness' | 'probe'}`
  | `writeLoad.${'start' | 'stop'}`;

/** The world the fakes act on: a steady state before a failover (primary writes, secondary streams). */
const INITIAL_STATE = {
  'database.writer': 'primary',
  'database.standby': 'secondary',
  'database.primaryReachable': 'true',
  'database.lagBytes': '0',
  'database.consistent': 'true',
  'cache.writer': 'primary',
  'cache.standby': 'secondary',
  'cache.primaryReachable': 'true',
  'cache.lagBytes': '0',
  'cache.consistent': 'true',
  'dns.target': 'primary',
  'cluster.primary': 'production',
  'cluster.secondary': 'standby',
  'cluster.primaryReachable': 'true',
  'verification.primary': 'true',
  'verification.secondary': 'true',
  /** The regions' health endpoints (regions.*.healthUrl) answer 2xx. */
  'health.primary': 'true',
  'health.secondary': 'true',
  /** Acknowledged drill writes the fake "loses" (missing when the load is counted at the end). */
  'writeLoad.lostWrites': '0',
} as const;
type StateKey = keyof typeof INITIAL_STATE;

export class FakeWorld {
  readonly backend: StateBackend;
  /** Every call, in order ("database.promote(secondary)"), for tests that look at what was asked. */
  readonly calls: string[] = [];
  private readonly failures = new Map<string, { error: Error; times: number }>();
  private readonly delays = new Map<string, number>();
  private readonly hangs = new Set<string>();
  private readonly waiters = new Map<string, (() => void)[]>();

  constructor(backend: StateBackend = memoryBackend()) {
    this.backend = backend;
  }

  /** Write the steady state (only keys not already set, so a restarted process keeps its world). */
  async init(overrides: Partial<Record<StateKey, string>> = {}): Promise<this> {
    for (const [k, v] of Object.entries({ ...INITIAL_STATE, ...overrides })) {
      if ((await this.backend.get(`state:${k}`)) === null) await this.backend.set(`state:${k}`, v);
    }
    return this;
  }

  async get(key: StateKey): Promise<string> {
    return (await this.backend.get(`state:${key}`)) ?? INITIAL_STATE[key];
  }

  async set(key: StateKey, value: string): Promise<void> {
    await this.backend.set(`state:${key}`, value);
  }

  /** How many times `call` changed the world (no-ops do not count). */
  async effects(call: FakeCall): Promise<number> {
    return Number((await this.backend.get(`effects:${call}`)) ?? '0');
  }

  /** The next `times` calls of `call` throw `error` (default: a retryable ProviderError). */
  fail(call: FakeCall, times = 1, error?: Error): void {
    const [provider] = call.split('.');
    this.failures.set(call, {
      error:
        error ??
        new ProviderError(`fake-${provider}`, `${call} failed (injected)`, { retryable: true }),
      times,
    });
  }

  delay(call: FakeCall, ms: number): void {
    this.delays.set(call, ms);
  }

  /** `call` applies its effect, then never returns: the process dies before it can record success. */
  hangAfterEffect(call: FakeCall): void {
    this.hangs.add(call);
  }

  /** Resolves when `call` is next entered (tests wait for a slow step to be running). */
  entered(call: FakeCall): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.set(call, [...(this.waiters.get(call) ?? []), resolve]);
    });
  }

  /** Entry into a call: log, wake waiters, then apply injected delay and failure. */
  async enter(call: FakeCall, arg = ''): Promise<void> {
    this.calls.push(`${call}(${arg})`);
    const ws = this.waiters.get(call);
    if (ws) {
      this.waiters.delete(call);
      for (const w of ws) w();
    }
    const ms = this.delays.get(call);
    // unref: a call abandoned by an aborted operation must not keep the test process alive.
    if (ms) await new Promise((r) => setTimeout(r, ms).unref());
    const f = this.failures.get(call);
    if (f && f.times > 0) {
      f.times -= 1;
      throw f.error;
    }
  }

  /** Record an applied effect; a hang-after-effect call stops here forever. */
  async effect(call: FakeCall): Promise<void> {
    await this.backend.incr(`effects:${call}`);
    if (this.hangs.has(call)) await new Promise(() => {});
  }
}

const other = (r: RegionRole): RegionRole => (r === 'primary' ? 'secondary' : 'primary');

function dataProvider(world: FakeWorld, c: 'database' | 'cache'): DatabaseProvider & CacheProvider {
  const key = (k: string) => `${c}.${k}` as StateKey;
  const call = (m: string) => `${c}.${m}` as FakeCall;
  const isWriter = async (t: RegionRole) => (await world.get(key('writer'))) === t;
  const isStandby = async (s: RegionRole) =>
    (await world.get(key('standby'))) === s && !(await isWriter(s));
  return {
    name: `fake-${c}`,
    async readiness(target): Promise<ComponentReadiness> {
      await world.enter(call('readiness'), target);
      const primaryReachable = (await world.get(key('primaryReachable'))) === 'true';
      const writer = await world.get(key('writer'));
      const standby = await world.get(key('standby'));
      const lagBytes = Number(await world.get(key('lagBytes')));
      // Failback first resyncs the old primary, so it need not be a standby yet; a failover needs one.
      const ok = writer === target || standby === target || target === 'primary';
      const summary = !ok
        ? `${target} is not a standby`
        : writer === target
          ? `${target} already writes`
          : standby === target
            ? `${target} streams from ${writer}, lag ${lagBytes} B`
            : `${target} will be resynced from ${writer}`;
      return {
        component: c,
        status: ok ? 'ready' : 'blocked',
        summary,
        details: { writer, standby, lagBytes },
        planFacts: { writer, standby },
        primaryReachable,
        ...(primaryReachable
          ? {}
          : {
              expectedLoss: {
                bytes: lagBytes,
                seconds: null,
                description: `≈ ${lagBytes} B not replayed`,
              },
            }),
      };
    },
    async isWriter(t) {
      await world.enter(call('isWriter'), t);
      return isWriter(t);
    },
    async promote({ target, mode, progress }): Promise<PromotionResult> {
      await world.enter(call('promote'), target);
      const lagBytes = Number(await world.get(key('lagBytes')));
      const rpo = {
        component: c,
        bytes: mode === 'planned' ? 0 : lagBytes,
        seconds: mode === 'planned' ? 0 : null,
        description: mode === 'planned' ? 'zero loss (planned)' : `${lagBytes} B lost`,
      } as const;
      if (await isWriter(target))
        return {
          noop: true,
          summary: `${target} ${c} already the writer`,
          evidence: { writer: target },
          mode,
          rpo,
        };
      if ((await world.get(key('standby'))) !== target) {
        throw new PreconditionFailed(
          `${target} ${c} is not a standby of the ${other(target)}: refusing to promote`,
          { code: 'wrong-target' },
        );
      }
      if (mode === 'planned' && (await world.get(key('primaryReachable'))) !== 'true') {
        throw new PreconditionFailed(
          `the old ${c} writer is unreachable: a planned promotion cannot fence it; use unplanned`,
        );
      }
      progress(
        mode === 'planned'
          ? `fenced ${other(target)}, standby caught up`
          : `fencing ${other(target)} where reachable`,
        { lagBytes },
      );
      await world.set(key('writer'), target);
      await world.set(key('standby'), 'none');
      await world.effect(call('promote'));
      return {
        noop: false,
        summary: `promoted ${target} ${c} (${mode})`,
        evidence: { writer: target, lagBytes },
        mode,
        rpo,
      };
    },
    /** The last resort (a managed cache's detach): `target` writes alone, nothing streams. */
    async detach({ target, progress }): Promise<PromotionResult> {
      await world.enter(call('detach'), target);
      const rpo = { component: c, bytes: null, seconds: null, description: 'detached' } as const;
      if (await isWriter(target))
        return {
          noop: true,
          summary: `${target} ${c} already detached`,
          evidence: {},
          mode: 'unplanned',
          rpo,
        };
      progress(`detaching ${target} ${c}`);
      await world.set(key('writer'), target);
      await world.set(key('standby'), 'none');
      await world.effect(call('detach'));
      return {
        noop: false,
        summary: `detached ${target} ${c}`,
        evidence: {},
        mode: 'unplanned',
        rpo,
      };
    },
    async verifyWriter(t): Promise<CheckResult[]> {
      await world.enter(call('verifyWriter'), t);
      const ok = await isWriter(t);
      return [
        {
          name: `${c} ${t} takes writes`,
          kind: c,
          ok,
          detail: ok ? 'write probe ok' : `${t} is read-only`,
        },
      ];
    },
    async isStreamingStandby(s) {
      await world.enter(call('isStreamingStandby'), s);
      return isStandby(s);
    },
    async resync({ standby, progress }): Promise<ActionResult> {
      await world.enter(call('resync'), standby);
      if (await isStandby(standby))
        return { noop: true, summary: `${standby} ${c} already streams`, evidence: { standby } };
      if (await isWriter(standby)) {
        throw new PreconditionFailed(
          `${standby} ${c} is the writer: refusing to turn it into a standby`,
          { code: 'wrong-target' },
        );
      }
      progress(`rewinding ${standby} ${c}`);
      await world.set(key('standby'), standby);
      await world.effect(call('resync'));
      return {
        noop: false,
        summary: `${standby} ${c} now streams from ${other(standby)}`,
        evidence: { standby, method: 'rewind' },
      };
    },
    async consistency({ writer }) {
      await world.enter(call('consistency'), writer);
      const ok = (await world.get(key('consistent'))) === 'true';
      const checks: CheckResult[] = [
        {
          name: `${c} consistency`,
          kind: c,
          ok,
          detail: ok ? 'checksums equal' : 'checksums differ',
        },
      ];
      return { checks, scopes: [] };
    },
    async close() {},
  };
}

function dnsProvider(world: FakeWorld): DnsProvider {
  return {
    name: 'fake-dns',
    async readiness(target) {
      await world.enter('dns.readiness', target);
      const current = await world.get('dns.target');
      return {
        component: 'dns',
        status: 'ready',
        summary: `record points at ${current}`,
        details: { current },
        planFacts: { current },
      };
    },
    async currentTarget() {
      await world.enter('dns.currentTarget');
      return (await world.get('dns.target')) as RegionRole;
    },
    async switchTo({ target, progress }): Promise<ActionResult> {
      await world.enter('dns.switchTo', target);
      if ((await world.get('dns.target')) === target)
        return { noop: true, summary: `DNS already on ${target}`, evidence: { target } };
      progress(`change submitted for ${target}`);
      await world.set('dns.target', target);
      await world.effect('dns.switchTo');
      return {
        noop: false,
        summary: `DNS switched to ${target}`,
        evidence: { target, changeId: 'C-FAKE' },
      };
    },
    async verify(target) {
      await world.enter('dns.verify', target);
      const ok = (await world.get('dns.target')) === target;
      return [
        {
          name: `dns points at ${target}`,
          kind: 'dns',
          ok,
          detail: ok ? 'record matches' : 'record elsewhere',
        },
      ];
    },
    async close() {},
  };
}

/** Each fake workload's replicas at the two sizes, as the real provider's readiness details give them. */
const FAKE_WORKLOADS: Record<string, { production: number; standby: number }> = {
  'deployment/api': { production: 3, standby: 1 },
  'deployment/worker': { production: 2, standby: 0 },
};

function clusterProvider(world: FakeWorld): ClusterProvider {
  return {
    name: 'fake-cluster',
    async readiness(target) {
      await world.enter('cluster.readiness', target);
      const profile = await world.get(
        target === 'primary' ? 'cluster.primary' : 'cluster.secondary',
      );
      return {
        component: 'cluster',
        status: 'ready',
        summary: `${target} at ${profile} size`,
        details: {
          profile,
          ...Object.fromEntries(
            Object.entries(FAKE_WORKLOADS).map(([name, w]) => [
              name,
              { spec: profile === 'production' ? w.production : w.standby, ...w },
            ]),
          ),
        },
        // As the real provider's: which workloads, not their size (a head start at approval
        // changes the size, not the plan).
        planFacts: { workloads: Object.keys(FAKE_WORKLOADS).join(',') },
      };
    },
    async isScaled(region, profile) {
      await world.enter('cluster.isScaled', `${region},${profile}`);
      return (
        (await world.get(region === 'primary' ? 'cluster.primary' : 'cluster.secondary')) ===
        profile
      );
    },
    async scale({
      region,
      profile,
      progress,
      onlyFrom,
      beforeChange,
    }: {
      region: RegionRole;
      profile: ScaleProfile;
      progress: Progress;
      wait?: boolean;
      onlyFrom?: ScaleProfile;
      beforeChange?: () => Promise<void>;
    }): Promise<ActionResult> {
      await world.enter('cluster.scale', `${region},${profile}`);
      const key = region === 'primary' ? 'cluster.primary' : 'cluster.secondary';
      const now = await world.get(key);
      if (onlyFrom && now !== onlyFrom)
        return { noop: true, summary: `${region} not at ${onlyFrom} size`, evidence: { now } };
      if ((await world.get(key)) === profile)
        return {
          noop: true,
          summary: `${region} already at ${profile} size`,
          evidence: { profile },
        };
      await beforeChange?.();
      await world.enter('cluster.scaleWrite', `${region},${profile}`);
      progress(`scaling ${region} to ${profile}`);
      await world.set(key, profile);
      await world.effect('cluster.scale');
      return {
        noop: false,
        summary: `${region} scaled to ${profile}`,
        evidence: { profile, workloads: 2 },
      };
    },
    async reachable(region) {
      await world.enter('cluster.reachable', region);
      const ok = region === 'secondary' || (await world.get('cluster.primaryReachable')) === 'true';
      return {
        name: `${region} API server`,
        kind: 'cluster',
        ok,
        detail: ok ? 'reachable' : 'connection refused',
      };
    },
    // The fake's workloads have no autoscalers: there is never anything to hand back.
    async releaseAutoscalers({ region }) {
      return { noop: true, summary: `no autoscaler raised in the ${region}`, evidence: {} };
    },
    async autoscalersReleased() {
      return true;
    },
    async close() {},
  };
}

function verificationProvider(world: FakeWorld): VerificationProvider {
  return {
    name: 'fake-verification',
    async readiness(target) {
      await world.enter('verification.readiness', target);
      return {
        component: 'verification',
        status: 'ready',
        summary: '1 check configured',
        details: {},
        planFacts: { checks: 1 },
      };
    },
    async run({ region }) {
      await world.enter('verification.run', region);
      const ok =
        (await world.get(
          region === 'primary' ? 'verification.primary' : 'verification.secondary',
        )) === 'true';
      return [
        {
          name: `${region} /healthz`,
          kind: 'http',
          ok,
          detail: ok ? '200 in 5 ms' : '503 in 5 ms',
          durationMs: 5,
        },
      ];
    },
    async close() {},
  };
}

function healthProvider(world: FakeWorld): HealthProvider {
  const url = (region: RegionRole) => `https://${region}.example.test/healthz`;
  const check = async (region: RegionRole): Promise<CheckResult> => {
    const ok =
      (await world.get(region === 'primary' ? 'health.primary' : 'health.secondary')) === 'true';
    return {
      name: `${region} health endpoint`,
      kind: 'http',
      ok,
      detail: `${url(region)} → ${ok ? '200' : '503 (expected 2xx)'} in 5 ms`,
      durationMs: 5,
    };
  };
  return {
    name: 'fake-health',
    url,
    async probe(region) {
      await world.enter('health.probe', region);
      return check(region);
    },
    async readiness(target) {
      await world.enter('health.readiness', target);
      const r = await check(target);
      return {
        component: 'health',
        status: r.ok ? 'ready' : 'warning',
        summary: r.detail,
        details: { ok: r.ok },
        planFacts: { region: target, url: url(target) },
      };
    },
    async close() {},
  };
}

/**
 * A drill write load over the world: every few ms one acknowledged write per component, on the
 * side the world says writes (none while no side does); `writeLoad.lostWrites` of them go missing.
 */
function writeLoadProvider(world: FakeWorld): WriteLoadProvider {
  type Part = {
    acknowledged: number;
    failed: number;
    writer: RegionRole | null;
    onPrimary: number;
    onSecondary: number;
  };
  let run: {
    runId: string;
    startedAt: number;
    timer: NodeJS.Timeout;
    database: Part;
    cache: Part;
  } | null = null;
  const part = (): Part => ({
    acknowledged: 0,
    failed: 0,
    writer: null,
    onPrimary: 0,
    onSecondary: 0,
  });
  const write = async (p: Part, key: 'database.writer' | 'cache.writer') => {
    const side = (await world.get(key)) as RegionRole | 'none';
    if (side !== 'primary' && side !== 'secondary') {
      p.failed += 1;
      return;
    }
    p.acknowledged += 1;
    p.writer = side;
    if (side === 'primary') p.onPrimary += 1;
    else p.onSecondary += 1;
  };
  const sample = () =>
    run
      ? {
          runId: run.runId,
          startedAt: run.startedAt,
          database: { ...run.database },
          cache: { ...run.cache },
        }
      : null;
  return {
    name: 'fake-write-load',
    async readiness() {
      return {
        component: 'database',
        status: 'ready',
        summary: 'drill write load available',
        details: {},
        planFacts: {},
      };
    },
    running: (runId) => run?.runId === runId,
    sample,
    async start({ runId }) {
      await world.enter('writeLoad.start', runId);
      if (run?.runId === runId)
        return { noop: true, summary: 'already running', evidence: { runId } };
      const database = part();
      const cache = part();
      const timer = setInterval(() => {
        void write(database, 'database.writer');
        void write(cache, 'cache.writer');
      }, 5);
      timer.unref();
      run = { runId, startedAt: Date.now(), timer, database, cache };
      return { noop: false, summary: 'fake write load started', evidence: { runId } };
    },
    async stop({ runId }) {
      await world.enter('writeLoad.stop', runId);
      if (!run || run.runId !== runId)
        throw new PreconditionFailed(`the write load of ${runId} is not running in this process`);
      clearInterval(run.timer);
      const s = sample()!;
      run = null;
      const lost = Number(await world.get('writeLoad.lostWrites'));
      const rpo = (['database', 'cache'] as const).map((component) => ({
        component,
        source: 'write-load' as const,
        bytes: null,
        seconds: lost === 0 ? 0 : lost * 0.005,
        description:
          lost === 0
            ? `zero loss: all ${s[component].acknowledged} acknowledged writes present`
            : `${lost} of ${s[component].acknowledged} acknowledged writes missing`,
      }));
      const evidence = Object.fromEntries(
        (['database', 'cache'] as const).map((c) => [
          c,
          { acknowledged: s[c].acknowledged, present: s[c].acknowledged - lost, lost },
        ]),
      );
      return {
        noop: false,
        summary: rpo.map((r) => `${r.component}: ${r.description}`).join('; '),
        evidence,
        rpo,
        sample: s,
      };
    },
    async close() {
      if (run) clearInterval(run.timer);
      run = null;
    },
  };
}

/**
 * Providers over one world; `only` leaves the others out ("not configured"). Without `only`, all
 * but `health`: a config without regions.*.healthUrl, as most tests' are.
 */
export function createFakeProviders(
  world: FakeWorld,
  only?: readonly (keyof Providers)[],
): Providers {
  // Object storage is exercised against the S3 simulator and Azurite, not faked.
  const all: Required<Omit<Providers, 'objectStorage' | 'terraformState' | 'customActions'>> = {
    database: dataProvider(world, 'database'),
    cache: dataProvider(world, 'cache'),
    dns: dnsProvider(world),
    cluster: clusterProvider(world),
    verification: verificationProvider(world),
    health: healthProvider(world),
    writeLoad: writeLoadProvider(world),
  };
  if (!only) {
    const { health: _health, ...rest } = all;
    return rest;
  }
  return Object.fromEntries(
    only.filter((k) => k !== 'objectStorage').map((k) => [k, all[k as keyof typeof all]]),
  ) as Providers;
}
