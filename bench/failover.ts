/**
 * The bot's RTO beside the raw operations it waits for, on a lab this starts itself: N planned
 * and N unplanned failovers, each followed by its failback, through the console (the engine
 * without Slack), then the raw critical path done directly in its best order: the PostgreSQL
 * switch beside the Redis one beside the scale to ready, then the DNS switch until Route 53
 * answers it. The raw data-tier figures are what a correct hand runbook must do for that mode:
 * planned, fence + catch-up to the final LSN + pg_promote and FAILOVER TO until the roles swap;
 * unplanned (the primary reachable, as here), fence + pg_promote and REPLICAOF NO ONE plus
 * REPLICAOF on the old master. No preflight, recheck or verification: the bot's RTO includes
 * them, the raw path does not.
 *
 *   npm run bench:failover                 # 3 of each
 *   npm run -s bench:failover -- --runs 2 --json   # -s: only the JSON on stdout
 *
 * Raw promotions cannot be undone cheaply, so the raw database and cache figures come from one
 * promotion at the end; the reversible ones (scale, DNS) are repeated N times.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  GetHealthCheckCommand,
  Route53Client,
  TestDNSAnswerCommand,
  UpdateHealthCheckCommand,
} from '@aws-sdk/client-route-53';
import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import pg from 'pg';
import { loadConfig } from '../src/config/load.js';
import type { DrConfig } from '../src/config/schema.js';
import { createConsoleSession } from '../src/console/index.js';
import { openConsoleRuntime, type ConsoleRuntime } from '../src/console/runtime.js';
import type { OperationView, StepId } from '../src/domain/types.js';
import { LAB_APPROVERS, labDown, labUp, readLabEnv, type LabInfo } from '../src/lab/index.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(arg('--runs') ?? 3);
const JSON_OUT = process.argv.includes('--json');
/** Print each step's start and end after approval: where the time goes. */
const TIMELINE = process.argv.includes('--timeline');
const say = (line: string): void =>
  void (JSON_OUT ? process.stderr : process.stdout).write(`${line}\n`);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)]!;
};
const now = (): number => Number(process.hrtime.bigint()) / 1e6;
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = now();
  await fn();
  return now() - t0;
}

/** The failover's critical path: the steps the RTO waits for, and the raw operation behind each. */
const RAW_OF: Partial<Record<StepId, 'database' | 'cache' | 'scale' | 'dns'>> = {
  'promote-database': 'database',
  'promote-cache': 'cache',
  'scale-secondary': 'scale',
  'switch-dns': 'dns',
};

interface Run {
  rtoMs: number;
  steps: Partial<Record<StepId, number>>;
}

async function operate(
  runtime: ConsoleRuntime,
  config: DrConfig,
  line: string,
  users: Record<string, string>,
): Promise<OperationView> {
  const session = createConsoleSession({
    engine: runtime.engine,
    config,
    reporter: runtime.reporter,
    user: 'alice',
    users,
    reportsDir: tmpdir(),
    write: () => {},
  });
  try {
    await session.handle(`as alice ${line}`);
    const requested = (await runtime.engine.status()).active;
    if (!requested) throw new Error(`"${line}" was not created`);
    const waiting = await session.settled(requested.id);
    if (waiting.phase !== 'awaitingApproval')
      throw new Error(`${line}: ${waiting.phase} ${waiting.lastError?.message ?? ''}`);
    await session.handle(`as bob approve ${requested.id}`);
    const end = await session.settled(requested.id);
    if (end.phase !== 'completed')
      throw new Error(`${line} ended ${end.phase}: ${end.lastError?.message ?? ''}`);
    return end;
  } finally {
    session.close();
  }
}

/** When a step's lane began: the scale lane at approval (its head start), the others with their step. */
function laneStart(view: OperationView, s: OperationView['steps'][number]): number | undefined {
  return s.id === 'scale-secondary' && view.approvedAt !== undefined
    ? view.approvedAt
    : s.startedAt;
}

function sayTimeline(view: OperationView): void {
  const t0 = view.approvedAt ?? 0;
  for (const s of view.steps) {
    const start = laneStart(view, s);
    if (start !== undefined && s.finishedAt !== undefined)
      say(
        `    ${s.id.padEnd(24)} ${String(start - t0).padStart(5)} → ${String(s.finishedAt - t0).padStart(5)} ms`,
      );
  }
  say(`    ${'completed'.padEnd(24)} ${String((view.finishedAt ?? 0) - t0).padStart(13)} ms`);
}

function runOf(view: OperationView): Run {
  const steps: Run['steps'] = {};
  for (const s of view.steps) {
    const start = laneStart(view, s);
    if (start !== undefined && s.finishedAt !== undefined) steps[s.id] = s.finishedAt - start;
  }
  return { rtoMs: view.rtoMs ?? NaN, steps };
}

/** The raw operations, done directly against the lab's servers and simulators. */
class Raw {
  private readonly kc = new KubeConfig();
  private readonly route53: Route53Client;
  constructor(
    private readonly lab: LabInfo,
    private readonly config: DrConfig,
  ) {
    const k = config.components.kubernetes!;
    this.kc.loadFromFile(k.secondary.kubeconfig!);
    this.kc.setCurrentContext(k.secondary.context!);
    const d = config.components.dns!.route53!;
    this.route53 = new Route53Client({ endpoint: d.endpoint, region: d.region });
  }

  /**
   * What a correct hand-run PostgreSQL switch must do, timed part by part: fence the primary
   * read-only (ALTER SYSTEM + reload, end the client sessions, CHECKPOINT, read the final LSN),
   * wait until the standby replayed it (1 ms apart), then pg_promote(wait => true). A planned
   * switch needs all three; an unplanned one with the primary reachable fences and promotes.
   */
  async database(): Promise<{ fence: number; catchUp: number; promote: number }> {
    const p = new pg.Client({ connectionString: this.lab.postgres.primary.url });
    const s = new pg.Client({ connectionString: this.lab.postgres.secondary.url });
    await Promise.all([p.connect(), s.connect()]);
    try {
      let finalLsn = '';
      const fence = await timed(async () => {
        await p.query('ALTER SYSTEM SET default_transaction_read_only = on');
        await p.query('SELECT pg_reload_conf()');
        await p.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        );
        await p.query('CHECKPOINT');
        finalLsn = (await p.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
      });
      const catchUp = await timed(async () => {
        for (;;) {
          const { rows } = await s.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [
            finalLsn,
          ]);
          if (rows[0].done) return;
          await new Promise((r) => setTimeout(r, 1));
        }
      });
      const promote = await timed(() => s.query('SELECT pg_promote(true, 60)'));
      return { fence, catchUp, promote };
    } finally {
      await Promise.all([p.end(), s.end()]);
    }
  }

  /**
   * Redis, both ways: planned, FAILOVER TO on the master until the target's ROLE says master
   * (zero loss: Redis pauses writes until the replica has the stream); unplanned, back the other
   * way by hand: REPLICAOF NO ONE on the replica, then REPLICAOF on the old master.
   */
  async cache(): Promise<{ planned: number; unplanned: number }> {
    const open = (url: string) => new Redis(url, { disconnectTimeout: 100 });
    const [p, s] = [open(this.lab.redis.primary.url), open(this.lab.redis.secondary.url)];
    const at = (url: string) => new URL(url);
    const role = async (r: Redis) => ((await r.call('ROLE')) as [string])[0];
    const until = async (r: Redis, want: string) => {
      while ((await role(r)) !== want) await new Promise((res) => setTimeout(res, 1));
    };
    try {
      await Promise.all([p.ping(), s.ping()]);
      const sa = at(this.lab.redis.secondary.url);
      const planned = await timed(async () => {
        await p.call('FAILOVER', 'TO', sa.hostname, sa.port, 'TIMEOUT', '10000');
        await until(s, 'master');
        await until(p, 'slave');
      });
      const pa = at(this.lab.redis.primary.url);
      const unplanned = await timed(async () => {
        await p.call('REPLICAOF', 'NO', 'ONE');
        await s.call('REPLICAOF', pa.hostname, pa.port);
      });
      return { planned, unplanned };
    } finally {
      p.disconnect();
      s.disconnect();
    }
  }

  /** PATCH each workload's scale, then read until every one is ready (1 ms apart). */
  async scale(profile: 'production' | 'standby'): Promise<number> {
    const apps = this.kc.makeApiClient(AppsV1Api);
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    const ws = this.config.components.kubernetes!.workloads;
    const want = (w: (typeof ws)[number]): number =>
      profile === 'production' ? w.productionReplicas : w.standbyReplicas;
    return timed(async () => {
      await Promise.all(
        ws.map((w) => {
          const args = {
            name: w.name,
            namespace: w.namespace,
            body: { spec: { replicas: want(w) } },
          };
          return w.kind === 'Deployment'
            ? apps.patchNamespacedDeploymentScale(args, merge)
            : apps.patchNamespacedStatefulSetScale(args, merge);
        }),
      );
      for (;;) {
        const all = await Promise.all(
          ws.map((w) =>
            w.kind === 'Deployment'
              ? apps.readNamespacedDeployment({ name: w.name, namespace: w.namespace })
              : apps.readNamespacedStatefulSet({ name: w.name, namespace: w.namespace }),
          ),
        );
        const ready = all.every(
          (o, i) =>
            (o.status?.readyReplicas ?? 0) === want(ws[i]!) && o.status?.replicas === want(ws[i]!),
        );
        if (ready) return;
        await new Promise((r) => setTimeout(r, 1));
      }
    });
  }

  /** The lab's method: pin the primary's health check, then ask Route 53 until it answers the other side. */
  async dns(toSecondary: boolean): Promise<number> {
    const d = this.config.components.dns!.route53!;
    const answer = async (): Promise<string> =>
      (
        await this.route53.send(
          new TestDNSAnswerCommand({
            HostedZoneId: d.hostedZoneId,
            RecordName: d.recordName,
            RecordType: d.recordType as 'A',
          }),
        )
      ).RecordData?.join(',') ?? '';
    const before = await answer();
    const check = await this.route53.send(
      new GetHealthCheckCommand({ HealthCheckId: d.primaryHealthCheckId! }),
    );
    return timed(async () => {
      await this.route53.send(
        new UpdateHealthCheckCommand({
          HealthCheckId: d.primaryHealthCheckId!,
          HealthCheckVersion: check.HealthCheck?.HealthCheckVersion,
          Inverted: toSecondary,
          Disabled: toSecondary,
        }),
      );
      while ((await answer()) === before) await new Promise((r) => setTimeout(r, 1));
    });
  }
}

type RawPath = Record<'database' | 'cache' | 'scale' | 'dns', number>;

async function rawPaths(
  lab: LabInfo,
  config: DrConfig,
): Promise<{ planned: RawPath; unplanned: RawPath; parts: Record<string, number> }> {
  const raw = new Raw(lab, config);
  const scale: number[] = [];
  const dns: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    scale.push(await raw.scale('production'));
    dns.push(await raw.dns(true));
    await raw.scale('standby');
    await raw.dns(false);
  }
  // Last: the promotions, side by side as the runbook does them.
  const [db, cache] = await Promise.all([raw.database(), raw.cache()]);
  const common = { scale: median(scale), dns: median(dns) };
  return {
    planned: { ...common, database: db.fence + db.catchUp + db.promote, cache: cache.planned },
    unplanned: { ...common, database: db.fence + db.promote, cache: cache.unplanned },
    parts: {
      pgFence: db.fence,
      pgCatchUp: db.catchUp,
      pgPromote: db.promote,
      redisFailover: cache.planned,
      redisReplicaof: cache.unplanned,
    },
  };
}

function table(label: string, runs: Run[], raw: RawPath) {
  const stepMs = (id: StepId): number => median(runs.map((r) => r.steps[id] ?? NaN));
  const rows = (Object.keys(RAW_OF) as StepId[]).map((id) => {
    const r = raw[RAW_OF[id]!];
    return { step: id, botMs: stepMs(id), rawMs: r, ratio: stepMs(id) / r };
  });
  const rawMs = Math.max(raw.database, raw.cache, raw.scale) + raw.dns;
  const handRunMs = raw.database + raw.cache + raw.scale + raw.dns;
  const rtoMs = median(runs.map((r) => r.rtoMs));
  say(`\n${label} (median of ${runs.length})`);
  say(
    `${'step'.padEnd(20)} ${'bot ms'.padStart(9)} ${'raw ms'.padStart(9)} ${'ratio'.padStart(7)}`,
  );
  for (const r of rows)
    say(
      `${r.step.padEnd(20)} ${r.botMs.toFixed(1).padStart(9)} ${r.rawMs.toFixed(1).padStart(9)} ${r.ratio.toFixed(2).padStart(7)}`,
    );
  say(
    `${'RTO (approval→verified)'.padEnd(20)} ${rtoMs.toFixed(0).padStart(6)} ms; raw critical path ${rawMs.toFixed(1)} ms; ratio ${(rtoMs / rawMs).toFixed(2)}; sequential hand-run ${handRunMs.toFixed(1)} ms`,
  );
  return { rtoMs, rawMs, ratio: rtoMs / rawMs, handRunMs, steps: rows };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dr-bench-failover-'));
  await rm(dir, { recursive: true, force: true });
  say(`starting the lab in ${dir}…`);
  const lab = await labUp({ dir });
  let runtime: ConsoleRuntime | undefined;
  try {
    const env = readLabEnv(lab.envFile);
    for (const [k, v] of Object.entries(env))
      if (k.startsWith('AWS_') || k.startsWith('AZURE_')) process.env[k] = v;
    const config = loadConfig({ path: lab.configPath });
    runtime = await openConsoleRuntime({ config, env: { ...process.env, ...env } });
    const users = { alice: LAB_APPROVERS[0], bob: LAB_APPROVERS[1] };
    const planned: Run[] = [];
    const unplanned: Run[] = [];
    for (const [mode, runs] of [
      ['planned', planned],
      ['unplanned', unplanned],
    ] as const) {
      for (let i = 0; i < RUNS; i++) {
        const fo = await operate(runtime, config, `failover ${mode} bench`, users);
        runs.push(runOf(fo));
        say(`${mode} failover ${i + 1}/${RUNS}: RTO ${fo.rtoMs} ms`);
        if (TIMELINE) sayTimeline(fo);
        const fb = await operate(runtime, config, 'failback bench', users);
        say(`  failback: ${(fb.finishedAt ?? 0) - (fb.approvedAt ?? 0)} ms`);
        if (TIMELINE) sayTimeline(fb);
      }
    }
    await runtime.close();
    runtime = undefined;
    const raw = await rawPaths(lab, config);
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    say(
      `\nmachine: ${machine}; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    say(
      `raw parts (ms): ${Object.entries(raw.parts)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(', ')}`,
    );
    const result = {
      machine,
      loadAverage: loadavg(),
      runs: RUNS,
      planned: table('planned failover', planned, raw.planned),
      unplanned: table('unplanned failover', unplanned, raw.unplanned),
      raw,
    };
    if (JSON_OUT) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await runtime?.close().catch(() => undefined);
    await labDown({ dir }).catch(() => undefined);
  }
}

await main();
