import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { StepId, TimelineEntry } from '../../src/domain/types.js';
import { createRedisStore } from '../../src/store/index.js';
import { FakeWorld, redisBackend, type FakeCall } from '../support/fakes.js';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis.js';

const SCRIPT = fileURLToPath(new URL('../support/engine-process.ts', import.meta.url));
const FAILOVER_STEPS: StepId[] = [
  'promote-database',
  'promote-cache',
  'scale-secondary',
  'switch-dns',
  'verify-secondary',
];
const EFFECTS: FakeCall[] = ['database.promote', 'cache.promote', 'dns.switchTo', 'cluster.scale'];

type Line = { type: string; [k: string]: unknown };

/** One bot process, driven over stdin/stdout JSON lines. */
class BotProcess {
  readonly child: ChildProcess;
  private readonly lines: Line[] = [];
  private waiters: { pred: (l: Line) => boolean; resolve: (l: Line) => void }[] = [];
  private readonly exited: Promise<void>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = new Promise((r) => this.child.once('exit', () => r()));
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as Line;
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => (w.pred(line) ? (w.resolve(line), false) : true));
    });
  }

  /** The first line (already seen or still to come) that matches. */
  next(pred: (l: Line) => boolean): Promise<Line> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ pred, resolve });
      void this.exited.then(() =>
        reject(new Error('the bot process exited before the awaited line')),
      );
    });
  }

  send(cmd: object): void {
    this.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    this.child.stdin!.end();
    await this.exited;
  }
}

const phaseLine = (id: string, phase: string) => (l: Line) =>
  l.type === 'op' && l.id === id && l.phase === phase;

describe('crash and resume with real Redis and a real bot process', () => {
  let redis: Redis;
  let prefix: string;
  let procs: BotProcess[];

  beforeEach(() => {
    redis = new Redis(REDIS_URL);
    procs = [];
  });

  afterEach(async () => {
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) await p.kill();
    await deleteKeys(redis, prefix);
    await redis.quit();
  });

  function startBot(args: string[] = []): BotProcess {
    const p = new BotProcess(['--prefix', prefix, ...args]);
    procs.push(p);
    return p;
  }

  /** Request and approve on `bot`; resolves with the operation id. */
  async function requestAndApprove(bot: BotProcess): Promise<string> {
    await bot.next((l) => l.type === 'ready');
    bot.send({ cmd: 'request' });
    const req = (await bot.next((l) => l.type === 'result' && l.cmd === 'request')).result as {
      ok: boolean;
      op: { id: string };
    };
    expect(req.ok).toBe(true);
    const waiting = await bot.next(phaseLine(req.op.id, 'awaitingApproval'));
    bot.send({ cmd: 'approve', opId: req.op.id, planHash: waiting.planHash });
    const approved = (await bot.next((l) => l.type === 'result' && l.cmd === 'approve')).result as {
      ok: boolean;
    };
    expect(approved.ok).toBe(true);
    return req.op.id;
  }

  async function readBack(id: string) {
    const store = createRedisStore({ redis, prefix });
    const world = new FakeWorld(redisBackend(redis, `${prefix}world:`));
    const effects = Object.fromEntries(
      await Promise.all(EFFECTS.map(async (c) => [c, await world.effects(c)] as const)),
    );
    return { op: await store.load(id), timeline: await store.timeline(id), effects, store };
  }

  function expectNoDuplicates(timeline: TimelineEntry[]) {
    for (const stepId of FAILOVER_STEPS) {
      const started = timeline.filter((e) => e.type === 'StepStarted' && e.stepId === stepId);
      const succeeded = timeline.filter((e) => e.type === 'StepSucceeded' && e.stepId === stepId);
      expect({ stepId, started: started.length, succeeded: succeeded.length }).toEqual({
        stepId,
        started: 1,
        succeeded: 1,
      });
    }
    const once = [
      'OperationRequested',
      'ApprovalRequested',
      'ApprovalRecorded',
      'OperationApproved',
      'OperationCompleted',
    ];
    for (const type of once) expect(timeline.filter((e) => e.type === type)).toHaveLength(1);
  }

  test('killed while a slow step runs, the restarted bot finishes the operation: each effect once, no duplicate entries', async () => {
    prefix = uniquePrefix('crash-slow');
    const first = startBot(['--delay', 'cache.promote=600000']);
    const id = await requestAndApprove(first);
    await first.next((l) => l.type === 'entered' && l.call === 'cache.promote');
    await first.kill();

    const before = await readBack(id);
    expect(before.op?.status).toBe('active');
    expect(before.effects['cache.promote']).toBe(0);

    const second = startBot();
    await second.next(phaseLine(id, 'completed'));
    await second.stop();

    const after = await readBack(id);
    expect(after.op?.status).toBe('finished');
    // The scaling runs beside the slow cache promotion: the kill may land after it scaled the world
    // and before the fake counted it. Then the restart finds it done; it never scales twice.
    const { 'cluster.scale': scaled, ...others } = after.effects;
    expect(others).toEqual({ 'database.promote': 1, 'cache.promote': 1, 'dns.switchTo': 1 });
    expect(scaled).toBeLessThanOrEqual(1);
    expectNoDuplicates(after.timeline);
    const resumed = after.timeline
      .filter((e) => e.type === 'StepResumed')
      .map((e) => (e.type === 'StepResumed' ? e.stepId : null));
    expect(resumed.filter((s) => s === 'promote-cache')).toHaveLength(1);
    expect(new Set(resumed).size).toBe(resumed.length);
    // the resume note sits between the step's start and its success
    const types = after.timeline.map((e) => ('stepId' in e ? `${e.type}:${e.stepId}` : e.type));
    expect(types.indexOf('StepResumed:promote-cache')).toBeGreaterThan(
      types.indexOf('StepStarted:promote-cache'),
    );
    expect(types.indexOf('StepResumed:promote-cache')).toBeLessThan(
      types.indexOf('StepSucceeded:promote-cache'),
    );
    expect(await after.store.activeFor('prod')).toBeNull();
    expect(await after.store.lastFinished('prod')).toBe(id);
  });

  test('killed after a step changed the world but before its success was saved, the restart sees it done and does not repeat it', async () => {
    prefix = uniquePrefix('crash-hang');
    const first = startBot(['--hang', 'dns.switchTo']);
    const id = await requestAndApprove(first);
    await first.next((l) => l.type === 'entered' && l.call === 'dns.switchTo');
    // the effect is applied (counted in Redis) and the call never returns
    const world = new FakeWorld(redisBackend(redis, `${prefix}world:`));
    while ((await world.effects('dns.switchTo')) === 0) await new Promise((r) => setTimeout(r, 20));
    await first.kill();
    const before = await readBack(id);
    expect(
      before.timeline.some((e) => e.type === 'StepSucceeded' && e.stepId === 'switch-dns'),
    ).toBe(false);

    const second = startBot();
    await second.next(phaseLine(id, 'completed'));
    await second.stop();

    const after = await readBack(id);
    expect(after.effects['dns.switchTo']).toBe(1);
    expect(after.effects).toEqual({
      'database.promote': 1,
      'cache.promote': 1,
      'dns.switchTo': 1,
      'cluster.scale': 1,
    });
    expectNoDuplicates(after.timeline);
    const dns = after.timeline.find((e) => e.type === 'StepSucceeded' && e.stepId === 'switch-dns');
    expect(dns?.type === 'StepSucceeded' && dns.outcome).toMatchObject({
      result: 'already-done',
      summary: 'already done, nothing changed: DNS already sends users to the secondary',
    });
    expect(
      after.timeline
        .filter((e) => e.type === 'StepResumed')
        .map((e) => (e.type === 'StepResumed' ? e.stepId : '')),
    ).toEqual(['switch-dns']);
  });

  test('killed while the data tier and the scaling run side by side, the restart resumes both lanes and switches DNS only after them', async () => {
    prefix = uniquePrefix('crash-lanes');
    // The cache promotion is slow; the scaling has changed the world but never answers.
    const first = startBot(['--delay', 'cache.promote=600000', '--hang', 'cluster.scale']);
    const id = await requestAndApprove(first);
    await first.next((l) => l.type === 'entered' && l.call === 'cache.promote');
    await first.next((l) => l.type === 'entered' && l.call === 'cluster.scale');
    const world = new FakeWorld(redisBackend(redis, `${prefix}world:`));
    while ((await world.effects('cluster.scale')) === 0)
      await new Promise((r) => setTimeout(r, 20));
    // The instant database lane is recorded done before the kill (its record is confirmed written
    // first, which takes a moment): then exactly the two slow lanes are cut off.
    const databaseDone = (b: Awaited<ReturnType<typeof readBack>>) =>
      b.timeline.some((e) => e.type === 'StepSucceeded' && e.stepId === 'promote-database');
    while (!databaseDone(await readBack(id))) await new Promise((r) => setTimeout(r, 20));
    await first.kill();
    const before = await readBack(id);
    expect(before.op?.status).toBe('active');
    expect(before.effects['dns.switchTo']).toBe(0);

    const second = startBot();
    await second.next(phaseLine(id, 'completed'));
    await second.stop();

    const after = await readBack(id);
    expect(after.effects).toEqual({
      'database.promote': 1,
      'cache.promote': 1,
      'dns.switchTo': 1,
      'cluster.scale': 1,
    });
    expectNoDuplicates(after.timeline);
    const resumed = after.timeline
      .filter((e) => e.type === 'StepResumed')
      .map((e) => (e.type === 'StepResumed' ? e.stepId : ''))
      .sort();
    expect(resumed).toEqual(['promote-cache', 'scale-secondary']);
    const types = after.timeline.map((e) => ('stepId' in e ? `${e.type}:${e.stepId}` : e.type));
    for (const lane of ['promote-database', 'promote-cache', 'scale-secondary'])
      expect(types.indexOf(`StepSucceeded:${lane}`)).toBeLessThan(
        types.indexOf('StepStarted:switch-dns'),
      );
    const scaled = after.timeline.find(
      (e) => e.type === 'StepSucceeded' && e.stepId === 'scale-secondary',
    );
    expect(scaled?.type === 'StepSucceeded' && scaled.outcome.result).toBe('already-done');
  });
  test('killed during a custom command, the restarted bot re-checks it: its effect happens once', async () => {
    prefix = uniquePrefix('crash-custom');
    const dir = mkdtempSync(join(tmpdir(), 'dr-custom-crash-'));
    try {
      const first = startBot(['--custom-dir', dir]);
      const id = await requestAndApprove(first);
      // The command has written its marker and sleeps: the bot dies with it in flight.
      while (!existsSync(join(dir, 'marker'))) await new Promise((r) => setTimeout(r, 20));
      await first.kill();
      // A SIGKILLed bot cannot end the group it started (the container would): end it here.
      process.kill(-Number(readFileSync(join(dir, 'pid'), 'utf8')), 'SIGKILL');
      const before = await readBack(id);
      expect(
        before.timeline.some(
          (e) => e.type === 'StepSucceeded' && e.stepId === 'custom:write-marker',
        ),
      ).toBe(false);

      const second = startBot(['--custom-dir', dir]);
      await second.next(phaseLine(id, 'completed'));
      await second.stop();

      expect(readFileSync(join(dir, 'count'), 'utf8')).toBe('ran\n');
      const after = await readBack(id);
      const types = after.timeline.map((e) => ('stepId' in e ? `${e.type}:${e.stepId}` : e.type));
      expect(types).toContain('StepResumed:custom:write-marker');
      const done = after.timeline.find(
        (e) => e.type === 'StepSucceeded' && e.stepId === 'custom:write-marker',
      );
      expect(done?.type === 'StepSucceeded' && done.outcome.result).toBe('already-done');
      expect(done?.type === 'StepSucceeded' && done.outcome.summary).toContain('exited with 0');
      // It ran after the database's stage and before DNS.
      expect(types.indexOf('StepStarted:custom:write-marker')).toBeGreaterThan(
        types.indexOf('StepSucceeded:promote-database'),
      );
      expect(types.indexOf('StepStarted:switch-dns')).toBeGreaterThan(
        types.indexOf('StepSucceeded:custom:write-marker'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
