import pino from 'pino';
import type { Mode, OperationKind, StepId } from '../../src/domain/types.js';
import { FailedWithRoles, PreconditionFailed } from '../../src/errors.js';
import {
  FAILBACK_RUNBOOK,
  FAILOVER_RUNBOOK,
  runbookSteps,
  STEP_TITLES,
} from '../../src/machine/runbook.js';
import type { Providers } from '../../src/providers/types.js';
import { getStep, STEPS } from '../../src/steps/index.js';
import type { StepContext } from '../../src/steps/index.js';
import { createFakeProviders, FakeWorld } from '../support/fakes.js';

const log = pino({ level: 'silent' });

function ctx(
  providers: Providers,
  kind: OperationKind = 'failover',
  mode: Mode = 'planned',
): StepContext {
  return {
    opId: 'DR-TEST',
    kind,
    mode,
    providers,
    log,
    approvedAt: Date.now() - 1000,
    targets: { rtoMinutes: 30, rpoMinutes: 5 },
  };
}

async function runAll(ids: StepId[], c: StepContext) {
  const out: Record<string, { checked: boolean; result?: string; verified?: boolean }> = {};
  for (const id of ids) {
    const step = getStep(id);
    const check = await step.check(c);
    if (check.done) {
      out[id] = { checked: true };
      continue;
    }
    const outcome = await step.run(c, () => {});
    out[id] = { checked: false, result: outcome.result, verified: outcome.verified };
  }
  return out;
}

describe('steps', () => {
  test('every step id of both runbooks has a step with its card title', () => {
    for (const id of [...runbookSteps(FAILOVER_RUNBOOK), ...runbookSteps(FAILBACK_RUNBOOK)]) {
      expect(STEPS[id].id).toBe(id);
      expect(STEPS[id].title).toBe(STEP_TITLES[id]);
      expect(STEPS[id].needs.length).toBeGreaterThan(0);
    }
  });

  test('failover then failback leave the world as it started, each effect once', async () => {
    const world = await new FakeWorld().init();
    const providers = createFakeProviders(world);
    const failover = await runAll(runbookSteps(FAILOVER_RUNBOOK), ctx(providers));
    expect(failover['verify-secondary']).toEqual({
      checked: false,
      result: 'done',
      verified: true,
    });
    expect(await world.get('database.writer')).toBe('secondary');
    expect(await world.get('dns.target')).toBe('secondary');
    expect(await world.get('cluster.secondary')).toBe('production');

    const failback = await runAll(runbookSteps(FAILBACK_RUNBOOK), ctx(providers, 'failback'));
    expect(failback['verify-primary'].verified).toBe(true);
    expect(failback['verify-consistency'].verified).toBe(true);
    expect(failback['verify-primary-serving'].verified).toBe(true);
    expect(await world.get('database.writer')).toBe('primary');
    expect(await world.get('database.standby')).toBe('secondary');
    expect(await world.get('cache.standby')).toBe('secondary');
    expect(await world.get('dns.target')).toBe('primary');
    expect(await world.get('cluster.secondary')).toBe('standby');
    expect(await world.effects('database.promote')).toBe(2);
    expect(await world.effects('database.resync')).toBe(2);
    expect(await world.effects('dns.switchTo')).toBe(2);
    expect(await world.effects('cluster.scale')).toBe(2);
  });

  test('promote-database reports the promotion evidence and RPO; check() then says it is done', async () => {
    const world = await new FakeWorld().init({
      'database.primaryReachable': 'false',
      'database.lagBytes': '4096',
    });
    const c = ctx(createFakeProviders(world), 'failover', 'unplanned');
    expect((await STEPS['promote-database'].check(c)).done).toBe(false);
    const outcome = await STEPS['promote-database'].run(c, () => {});
    expect(outcome).toMatchObject({
      result: 'done',
      evidence: { writer: 'secondary', lagBytes: 4096, mode: 'unplanned' },
      rpo: [{ component: 'database', bytes: 4096 }],
    });
    // Found done (as after a crash), it still says where the database writes now.
    expect(await STEPS['promote-database'].check(c)).toEqual({
      done: true,
      summary: 'secondary database already accepts writes',
      roles: expect.objectContaining({ component: 'database', writer: 'secondary', changed: true }),
    });
  });

  test('a wrong target is refused with a clear error and nothing changes', async () => {
    const world = await new FakeWorld().init({ 'database.standby': 'none' });
    const c = ctx(createFakeProviders(world));
    const run = STEPS['promote-database'].run(c, () => {});
    // The refusal travels with where the database writes after it: the pause card shows it.
    const failed = await run.catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(FailedWithRoles);
    expect((failed as FailedWithRoles).error).toBeInstanceOf(PreconditionFailed);
    expect((failed as FailedWithRoles).roles).toMatchObject({
      component: 'database',
      writer: 'primary',
      changed: false,
    });
    await expect(run).rejects.toThrow('secondary database is not a standby of the primary');
    expect(await world.get('database.writer')).toBe('primary');
  });

  test('verification fails (verified false) and names the failed checks', async () => {
    const world = await new FakeWorld().init({ 'verification.secondary': 'false' });
    const c = ctx(createFakeProviders(world, ['verification', 'dns']));
    expect(await STEPS['verify-secondary'].check(c)).toEqual({
      done: false,
      summary: 'verification always runs',
    });
    const outcome = await STEPS['verify-secondary'].run(c, () => {});
    expect(outcome.verified).toBe(false);
    expect(outcome.summary).toContain('secondary /healthz: 503 in 5 ms');
    expect(outcome.checks?.map((x) => [x.name, x.ok])).toEqual([
      ['secondary /healthz', false],
      ['dns points at secondary', false],
    ]);
  });

  test('failback verify-primary fails while the primary region is unreachable', async () => {
    const world = await new FakeWorld().init({ 'cluster.primaryReachable': 'false' });
    const outcome = await STEPS['verify-primary'].run(
      ctx(createFakeProviders(world, ['cluster']), 'failback'),
      () => {},
    );
    expect(outcome.verified).toBe(false);
    expect(outcome.checks).toEqual([
      { name: 'primary API server', kind: 'cluster', ok: false, detail: 'connection refused' },
    ]);
  });

  test('a two-component step with only the database configured acts on the database alone', async () => {
    const world = await new FakeWorld().init({
      'database.writer': 'secondary',
      'database.standby': 'primary',
    });
    const c = ctx(createFakeProviders(world, ['database']), 'failback');
    expect((await STEPS['promote-primary'].check(c)).done).toBe(false);
    const outcome = await STEPS['promote-primary'].run(c, () => {});
    expect(outcome.result).toBe('done');
    expect(outcome.rpo).toEqual([
      { component: 'database', bytes: 0, seconds: 0, description: 'zero loss (planned)' },
    ]);
    expect(world.calls.filter((x) => x.startsWith('cache.'))).toEqual([]);
    expect((await STEPS['promote-primary'].check(c)).done).toBe(true);
  });

  test('progress messages reach the reporter', async () => {
    const world = await new FakeWorld().init();
    const messages: string[] = [];
    await STEPS['switch-dns'].run(ctx(createFakeProviders(world)), (m) => messages.push(m));
    expect(messages).toEqual(['change submitted for secondary']);
  });
});

test('verify-primary reports a primary database that does not answer', async () => {
  const world = await new FakeWorld().init();
  world.fail('database.isWriter', 1);
  const outcome = await STEPS['verify-primary'].run(
    ctx(createFakeProviders(world, ['database']), 'failback'),
    () => {},
  );
  expect(outcome.verified).toBe(false);
  expect(outcome.checks?.[0]).toMatchObject({
    name: 'primary database',
    ok: false,
    detail: 'unreachable: fake-database: database.isWriter failed (injected)',
  });
});

describe('verify-primary probes the primary health endpoint (regions.primary.healthUrl)', () => {
  test('a primary whose health endpoint fails stops the failback, listed with whatever else is missing', async () => {
    const world = await new FakeWorld().init({
      'health.primary': 'false',
      'cluster.primaryReachable': 'false',
    });
    const progress: string[] = [];
    const outcome = await STEPS['verify-primary'].run(
      ctx(createFakeProviders(world, ['health', 'cluster', 'database']), 'failback'),
      (m) => progress.push(m),
    );
    expect(outcome.verified).toBe(false);
    expect(outcome.checks?.map((c) => [c.name, c.ok])).toEqual([
      ['primary health endpoint', false],
      ['primary API server', false],
      ['primary database', true],
    ]);
    expect(outcome.summary).toContain(
      'primary health endpoint: https://primary.example.test/healthz → 503',
    );
    expect(world.calls).toContain('health.probe(primary)');
  });

  test('with only a health endpoint configured the step still runs, and passes once it answers', async () => {
    const world = await new FakeWorld().init();
    const c = ctx(createFakeProviders(world, ['health']), 'failback');
    expect(STEPS['verify-primary'].needs).toContain('health');
    const outcome = await STEPS['verify-primary'].run(c, () => {});
    expect(outcome).toMatchObject({ verified: true, summary: 'primary region: 1/1 checks passed' });
  });
});
