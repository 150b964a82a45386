/**
 * An operation this version cannot resume, met in `dr console`: the engine's answers name the
 * console's own commands (`abort`, `status`), never Slack's `/dr abort`. And one of another
 * environment is refused by `wait` (it never moves in this one).
 */
import { createConsoleSession, type ConsoleSession } from '../../src/console/index.js';
import type { Engine } from '../../src/engine/index.js';
import {
  APPROVER,
  createHarness,
  inPhase,
  REQUESTER,
  testConfig,
  type Harness,
} from '../support/engine-harness.js';

let h: Harness;
let session: ConsoleSession;
let out: string[];

function open(engine: Engine): ConsoleSession {
  return createConsoleSession({
    engine,
    config: testConfig(),
    user: 'alice',
    users: { alice: REQUESTER, bob: APPROVER },
    write: (t) => out.push(t),
  });
}

beforeEach(async () => {
  h = await createHarness({ name: 'console-unrestorable', config: testConfig() });
  out = [];
});

afterEach(async () => {
  session?.close();
  await h.close();
});

test('the refusals name `abort` and `status` as typed in the console; status says why; bob closes it with abort', async () => {
  session = open(h.engine);
  await session.handle('failover planned bad deploy');
  const id = (await h.engine.status()).active!.id;
  await inPhase(h.engine, id, 'awaitingApproval');
  // The bot stops, and its snapshot is found unreadable by the next one (a bad write, an old deploy).
  session.close();
  await h.engine.stop();
  await h.redis.hset(`${h.prefix}op:${id}`, 'snapshot', 'not json');
  const engine = h.another();
  await engine.start();
  session = open(engine);

  const answer = async (line: string): Promise<string> => (await session.handle(line)).answer ?? '';
  const request = await answer('failback');
  expect(request).toMatch(
    new RegExp(
      `^refused: ${id} holds the environment but cannot be resumed by this version of dr-bot \\(its stored snapshot is not valid JSON.*\\)\\. An approver can close it with \`abort\`; then request the failback again\\.$`,
    ),
  );
  // Approving reads the operation first, which is where the console meets it.
  const approve = await answer(`approve ${id} as bob`);
  expect(approve).toMatch(
    new RegExp(
      `^error: ${id} cannot be resumed by this version of dr-bot: its stored snapshot is not valid JSON.*It keeps the environment locked until an approver closes it with \`abort\`\\.$`,
    ),
  );
  const status = await answer('status');
  expect(status).toMatch(
    new RegExp(
      `^Active: ${id} cannot be resumed by this version of dr-bot: its stored snapshot is not valid JSON.*It keeps prod locked; an approver can close it with \`abort\`\\.`,
    ),
  );
  for (const text of [request, approve, status, out.join('')])
    expect(text).not.toMatch(/\/dr |\{\{/);

  expect(await answer('abort as bob')).toMatch(
    new RegExp(`^${id} closed as aborted by bob without resuming it`),
  );
  expect(await h.store.activeFor('prod')).toBeNull();
});

test('`wait` for an operation of another environment on the same state Redis is refused: it never moves in this environment', async () => {
  session = open(h.engine);
  await session.handle('failover planned bad deploy');
  const id = (await h.engine.status()).active!.id;
  await inPhase(h.engine, id, 'awaitingApproval');
  session.close();
  // A console of staging, on the same state Redis: prod's operation never moves there.
  session = createConsoleSession({
    engine: h.engine,
    config: testConfig({ environment: 'staging' }),
    user: 'alice',
    users: { alice: REQUESTER },
    write: (t) => out.push(t),
  });
  const answer = (await session.handle(`wait ${id}`)).answer;
  expect(answer).toBe(
    `refused: ${id} is an operation of prod, not of staging: wait for it in the console (or bot) of prod.`,
  );
});
