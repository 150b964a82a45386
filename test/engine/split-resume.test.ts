/**
 * A split data tier found on resume: Redis was promoted just before the bot stopped, and the
 * PostgreSQL promotion fails once the restarted bot resumes the stage. The resumed Redis step
 * finds its promotion done (check() says so, run() is not called) and still records where Redis
 * writes, so the pause shows the split and not an ordinary failed step.
 */
import { splitLine, undoHint } from '../../src/domain/split-text.js';
import {
  APPROVER,
  createHarness,
  inPhase,
  REQUESTER,
  type Harness,
} from '../support/engine-harness.js';

let h: Harness;
afterEach(async () => {
  await h.close();
});

test('Redis promoted before the bot stopped, PostgreSQL fails on resume: the pause shows the split', async () => {
  h = await createHarness({ name: 'split-resume' });
  // Redis promotes and the bot dies before recording it; PostgreSQL is still on its way.
  h.world.hangAfterEffect('cache.promote');
  h.world.delay('database.promote', 300_000);
  const entered = Promise.all([
    h.world.entered('cache.promote'),
    h.world.entered('database.promote'),
  ]);
  const req = await h.engine.request({
    kind: 'failover',
    mode: 'planned',
    requester: REQUESTER,
    reason: 'practice',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
  await h.engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! });
  await entered;
  while ((await h.world.get('cache.writer')) !== 'secondary')
    await new Promise((r) => setTimeout(r, 10));
  await h.engine.stop();

  // The restarted bot resumes both steps; PostgreSQL's promotion now fails.
  h.world.delay('database.promote', 0);
  h.world.fail('database.promote', 1);
  const restarted = h.another();
  await restarted.start();
  const paused = await inPhase(restarted, waiting.id, 'paused');

  const cache = paused.steps.find((s) => s.id === 'promote-cache')!;
  expect(cache.status).toBe('succeeded');
  expect(cache.summary).toMatch(/^already done, nothing changed/);
  expect(await h.world.effects('cache.promote')).toBe(1);
  expect(paused.split?.roles).toEqual([
    expect.objectContaining({ component: 'database', writer: 'primary', changed: false }),
    expect.objectContaining({ component: 'cache', writer: 'secondary', changed: true }),
  ]);
  expect(splitLine(paused.split!)).toBe(
    'PostgreSQL: primary in eu-west-1 (unchanged) · Redis: primary in eu-central-1 (changed)',
  );
  // The fake Redis driver has no undo: the card says so instead of offering one.
  expect(paused.split!.undoable).toEqual([]);
  expect(undoHint(paused.split!, 1)).toContain('The bot cannot undo Redis');
}, 60_000);
