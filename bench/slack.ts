/**
 * How fast the bot acknowledges `/dr status` under a burst while a failover runs: the real Bolt
 * app over HTTP with signed requests, the real engine and Redis store, providers whose steps are
 * slowed so the failover is still running during the burst, and the Slack Web API simulated.
 * The ack is the HTTP 200 of the slash command; Slack allows 3 s.
 *
 *   npm run bench:slack                      # a burst of 50
 *   npm run -s bench:slack -- --burst 100 --json
 *
 * Needs a Redis at REDIS_URL (default 127.0.0.1:6379), as the engine benchmark does.
 */
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { configSchema } from '../src/config/schema.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { FakeWorld } from '../test/support/fakes.js';
import { REDIS_URL, uniquePrefix } from '../test/support/redis.js';
import { startBotHarness } from '../test/support/slack-bot-harness.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const BURST = Number(arg('--burst') ?? 50);
const JSON_OUT = process.argv.includes('--json');
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function main(): Promise<void> {
  const config = configSchema.parse({
    environment: 'bench',
    regions: { primary: { name: 'eu-west-1' }, secondary: { name: 'eu-central-1' } },
    slack: { incidentChannel: 'C0INCIDENT' },
    approvals: { approvers: [BOB], required: 1, timeoutMinutes: 30 },
  });
  const redis = new Redis(REDIS_URL);
  const slack = await startFakeSlack();
  const world = await new FakeWorld().init();
  // Every step of the failover takes a while: the burst arrives while it runs.
  for (const call of ['database.promote', 'cache.promote', 'cluster.scale'] as const)
    world.delay(call, 5000);
  const h = await startBotHarness({
    slack,
    redis,
    config,
    signingSecret: 'bench-signing-secret',
    prefix: uniquePrefix('bench-slack'),
    log: pino({ level: 'silent' }),
    world,
  });
  try {
    await h.command('failover planned bench', ALICE);
    const active = await waitFor(async () => {
      const op = (await h.engine.status()).active;
      return op?.phase === 'awaitingApproval' ? op : null;
    });
    await h.engine.approve({ opId: active.id, userId: BOB, planHash: active.planHash ?? '' });
    await waitFor(async () =>
      (await h.engine.status()).active?.phase === 'running' ? true : null,
    );
    const acks = await Promise.all(
      Array.from({ length: BURST }, async () => {
        const t0 = performance.now();
        const res = await h.command('status', ALICE);
        if (res.status !== 200) throw new Error(`status answered HTTP ${res.status}`);
        return performance.now() - t0;
      }),
    );
    const phase = (await h.engine.status()).active?.phase;
    const result = {
      burst: BURST,
      duringPhase: phase ?? 'finished',
      ackP50Ms: pct(acks, 50),
      ackP99Ms: pct(acks, 99),
      ackMaxMs: Math.max(...acks),
      machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}`,
    };
    const line = `burst of ${BURST} /dr status (failover ${result.duringPhase}): ack p50 ${result.ackP50Ms.toFixed(1)} ms, p99 ${result.ackP99Ms.toFixed(1)} ms (target < 50 ms; Slack allows 3000 ms)`;
    if (JSON_OUT) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`${line}\nmachine: ${result.machine}\n`);
  } finally {
    await h.stop();
    await slack.close();
    redis.disconnect();
  }
}

async function waitFor<T>(probe: () => Promise<T | null | undefined>): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the failover did not get under way');
}

await main();
