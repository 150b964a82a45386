/**
 * A bot process for the crash tests: the real engine and Redis store, with provider fakes whose
 * world (state and effect counters) lives in Redis too, so it survives a SIGKILL of this process.
 *
 *   node --import tsx test/support/engine-process.ts --prefix P [--delay call=ms]... [--hang call]...
 *     [--custom-dir DIR]  (a custom command step after promote-database that works in DIR)
 *
 * Reads JSON commands on stdin, one a line: {"cmd":"request"} | {"cmd":"approve","opId","planHash"}.
 * Writes JSON lines on stdout: {"type":"ready"}, {"type":"result",...}, {"type":"op",id,phase,planHash,entries},
 * {"type":"entered","call"} when a delayed or hanging call starts.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createEngine } from '../../src/engine/index.js';
import { createCustomActionProvider } from '../../src/providers/custom-actions.js';
import { createRedisStore } from '../../src/store/index.js';
import { createFakeProviders, FakeWorld, redisBackend, type FakeCall } from './fakes.js';
import { APPROVER, REQUESTER, testConfig } from './engine-harness.js';
import { REDIS_URL } from './redis.js';

const { values } = parseArgs({
  options: {
    prefix: { type: 'string' },
    delay: { type: 'string', multiple: true, default: [] },
    hang: { type: 'string', multiple: true, default: [] },
    'custom-dir': { type: 'string' },
  },
});
if (!values.prefix) throw new Error('--prefix is required');

const out = (msg: unknown) => process.stdout.write(`${JSON.stringify(msg)}\n`);

const redis = new Redis(REDIS_URL);
const store = createRedisStore({ redis, prefix: values.prefix });
const world = await new FakeWorld(redisBackend(redis, `${values.prefix}world:`)).init();
for (const spec of values.delay) {
  const [call, ms] = spec.split('=');
  world.delay(call as FakeCall, Number(ms));
  void world.entered(call as FakeCall).then(() => out({ type: 'entered', call }));
}
for (const call of values.hang) {
  world.hangAfterEffect(call as FakeCall);
  void world.entered(call as FakeCall).then(() => out({ type: 'entered', call }));
}

const dir = values['custom-dir'];
// The effect (a line in `count`, the marker) comes first, then a long sleep the test kills the bot in.
const script = `echo $$ > ${dir}/pid; echo ran >> ${dir}/count; touch ${dir}/marker; sleep 30`;
const config = testConfig(
  dir
    ? {
        runbook: {
          steps: [
            {
              id: 'write-marker',
              title: 'Write the marker',
              after: 'promote-database',
              command: {
                argv: ['sh', '-c', script],
                check: { argv: ['test', '-f', `${dir}/marker`] },
              },
            },
          ],
        },
      }
    : {},
);
const engine = createEngine({
  config,
  store,
  providers: { ...createFakeProviders(world), customActions: createCustomActionProvider() },
  authorizer: { isAuthorized: async (u) => config.approvals.approvers.includes(u) },
  log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }, pino.destination(2)),
  tickMs: 200,
});
engine.subscribe((n) =>
  out({
    type: 'op',
    id: n.op.id,
    phase: n.op.phase,
    planHash: n.op.planHash,
    entries: n.entries.map((e) => e.type),
  }),
);
await engine.start();
out({ type: 'ready' });

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { cmd: 'request' | 'approve'; opId?: string; planHash?: string };
  if (cmd.cmd === 'request') {
    out({
      type: 'result',
      cmd: cmd.cmd,
      result: await engine.request({
        kind: 'failover',
        mode: 'auto',
        requester: REQUESTER,
        reason: 'crash test',
      }),
    });
  } else {
    out({
      type: 'result',
      cmd: cmd.cmd,
      result: await engine.approve({ opId: cmd.opId!, userId: APPROVER, planHash: cmd.planHash! }),
    });
  }
}
// stdin closed: shut down cleanly (the test's normal stop; SIGKILL is the crash).
await engine.stop();
await store.close();
await redis.quit();
