/**
 * The engine's own cost: full failovers (request → approve → completed) against instant
 * in-memory provider fakes and the real Redis, so the time is persistence and machine work only.
 * It prints how many versions (compare-and-set saves) one operation takes.
 *
 *   node --import tsx bench/engine.ts              # 20 operations
 *   node --import tsx bench/engine.ts --runs 100
 */
import { createHarness, inPhase, APPROVER, REQUESTER } from '../test/support/engine-harness.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;

const durations: number[] = [];
let saves = 0;
for (let i = 0; i < RUNS; i++) {
  // A fresh world per run: a failover cannot be repeated on an already failed-over world.
  const h = await createHarness({ name: 'bench-engine' });
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
  await inPhase(h.engine, waiting.id, 'completed');
  durations.push(performance.now() - started);
  saves += (await h.store.load(waiting.id))!.version;
  await h.close();
}

durations.sort((a, b) => a - b);
const pct = (p: number) =>
  durations[Math.min(durations.length - 1, Math.floor((p / 100) * durations.length))].toFixed(1);
console.log(`engine: ${RUNS} failovers, ${(saves / RUNS).toFixed(1)} saves each`);
console.log(`  request → completed: p50 ${pct(50)} ms, p90 ${pct(90)} ms, max ${pct(100)} ms`);
