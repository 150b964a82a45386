/**
 * The engine's own cost: full failovers (request → approve → completed) against instant
 * in-memory provider fakes and the real Redis, so the time is persistence and machine work only.
 * It prints how many versions (compare-and-set saves) one operation takes, and what writing each
 * step's record before it acts costs: the same failovers on a state Redis with an AOF fsynced on
 * every write and a replica, with the confirmation (WAIT per step, ours) and without it (the
 * reference), their ratio and the cost per step.
 *
 *   npm run bench:engine                 # 20 operations of each kind
 *   npm run bench:engine -- --runs 100
 *   npm run bench:engine -- --json
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRedisServer, freePorts, startRedis, stopRedis } from '../src/lab/index.js';
import { createHarness, inPhase, APPROVER, REQUESTER } from '../test/support/engine-harness.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;
const JSON_OUT = process.argv.includes('--json');

interface Figures {
  p50: number;
  p90: number;
  max: number;
  saves: number;
  steps: number;
}

async function failovers(opts: { redisUrl?: string; unconfirmed?: boolean }): Promise<Figures> {
  const durations: number[] = [];
  let saves = 0;
  let steps = 0;
  for (let i = 0; i < RUNS; i++) {
    // A fresh world per run: a failover cannot be repeated on an already failed-over world.
    const h = await createHarness({ name: 'bench-engine', ...opts });
    const started = performance.now();
    const req = await h.engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'bench',
    });
    if (!req.ok) throw new Error(req.message);
    const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
    await h.engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! });
    const done = await inPhase(h.engine, waiting.id, 'completed');
    durations.push(performance.now() - started);
    saves += (await h.store.load(waiting.id))!.version;
    steps += done.steps.filter((s) => s.status === 'succeeded').length;
    await h.close();
  }
  durations.sort((a, b) => a - b);
  const pct = (p: number) =>
    durations[Math.min(durations.length - 1, Math.floor((p / 100) * durations.length))]!;
  return { p50: pct(50), p90: pct(90), max: pct(100), saves: saves / RUNS, steps: steps / RUNS };
}

/** A state Redis as production should have it: AOF fsynced on every write, one replica. */
async function durableStateRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'dr-bench-state-'));
  const redisServer = findRedisServer();
  const [p, r] = (await freePorts(2)) as [number, number];
  const primary = await startRedis({
    redisServer,
    name: 'bench state',
    port: p,
    dir: join(dir, 'p'),
    durable: true,
  });
  const replica = await startRedis({
    redisServer,
    name: 'bench state replica',
    port: r,
    dir: join(dir, 'r'),
    durable: true,
    replicaOf: { host: '127.0.0.1', port: p },
  });
  return {
    url: primary.url,
    async stop() {
      await stopRedis(replica);
      await stopRedis(primary);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const plain = await failovers({});
const state = await durableStateRedis();
let confirmed: Figures;
let reference: Figures;
try {
  reference = await failovers({ redisUrl: state.url, unconfirmed: true });
  confirmed = await failovers({ redisUrl: state.url });
} finally {
  await state.stop();
}
const ratio = confirmed.p50 / reference.p50;
const perStepMs = (confirmed.p50 - reference.p50) / confirmed.steps;
const ms = (n: number) => `${n.toFixed(1)} ms`;

if (JSON_OUT) {
  console.log(
    JSON.stringify({
      runs: RUNS,
      plain,
      writtenBeforeActing: { confirmed, reference, ratio, perStepMs },
    }),
  );
} else {
  console.log(`engine: ${RUNS} failovers, ${plain.saves.toFixed(1)} saves each`);
  console.log(
    `  request → completed: p50 ${ms(plain.p50)}, p90 ${ms(plain.p90)}, max ${ms(plain.max)}`,
  );
  console.log(
    `written before acting (state Redis: appendfsync always, one replica; ${confirmed.steps.toFixed(0)} steps):`,
  );
  console.log(
    `  confirmed (WAIT per step, ours)   p50 ${ms(confirmed.p50)}, p90 ${ms(confirmed.p90)}`,
  );
  console.log(
    `  unconfirmed (reference)           p50 ${ms(reference.p50)}, p90 ${ms(reference.p90)}`,
  );
  console.log(`  ratio ${ratio.toFixed(2)}, cost per step ${ms(perStepMs)}`);
}
