import { FINAL_PHASES } from '../../src/domain/types.js';
import type { TimelineEntry } from '../../src/domain/types.js';
import { FakeWorld } from '../support/fakes.js';
import {
  APPROVER,
  APPROVER_2,
  createHarness,
  inPhase,
  OUTSIDER,
  REQUESTER,
  testConfig,
  type Harness,
} from '../support/engine-harness.js';

const types = (tl: TimelineEntry[]) =>
  tl.map((e) => ('stepId' in e ? `${e.type}:${e.stepId}` : e.type));

async function requestAndApprove(h: Harness, mode: 'auto' | 'planned' | 'unplanned' = 'auto') {
  const req = await h.engine.request({
    kind: 'failover',
    mode,
    requester: REQUESTER,
    reason: 'eu-west-1 down',
  });
  if (!req.ok) throw new Error(req.message);
  const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
  const approved = await h.engine.approve({
    opId: waiting.id,
    userId: APPROVER,
    planHash: waiting.planHash!,
  });
  expect(approved.ok).toBe(true);
  return waiting.id;
}

describe('engine with real Redis and provider fakes', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  test('a failover is requested, approved by a second person and completes every step with evidence', async () => {
    h = await createHarness({ name: 'engine-full' });
    const req = await h.engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'eu-west-1 down',
    });
    expect(req.ok).toBe(true);
    if (!req.ok) return;
    expect(req.op.id).toMatch(/^DR-\d{8}-\d{6}$/);

    const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
    expect(waiting.mode).toBe('planned');
    expect(waiting.preflight?.components.map((c) => [c.component, c.status])).toEqual([
      ['database', 'ready'],
      ['cache', 'ready'],
      ['dns', 'ready'],
      ['cluster', 'ready'],
      ['verification', 'ready'],
      ['health', 'not-configured'],
    ]);

    const answer = await h.engine.approve({
      opId: waiting.id,
      userId: APPROVER,
      planHash: waiting.planHash!,
    });
    expect(answer).toMatchObject({ ok: true });
    const done = await inPhase(h.engine, waiting.id, 'completed');

    expect(done.steps.map((s) => [s.id, s.status])).toEqual([
      ['promote-database', 'succeeded'],
      ['promote-cache', 'succeeded'],
      ['scale-secondary', 'succeeded'],
      ['switch-dns', 'succeeded'],
      ['verify-secondary', 'succeeded'],
    ]);
    expect(done.steps[0].evidence).toMatchObject({ writer: 'secondary', mode: 'planned' });
    expect(done.steps[3].evidence).toMatchObject({ target: 'secondary', changeId: 'C-FAKE' });
    expect(done.steps[4].checks?.every((c) => c.ok)).toBe(true);
    expect(done.rpo?.map((r) => [r.component, r.bytes])).toEqual([
      ['database', 0],
      ['cache', 0],
    ]);
    expect(done.rtoMs).toEqual(expect.any(Number));

    for (const call of [
      'database.promote',
      'cache.promote',
      'dns.switchTo',
      'cluster.scale',
    ] as const) {
      expect(await h.world.effects(call)).toBe(1);
    }

    const tl = await h.engine.timeline(waiting.id);
    const t = types(tl);
    // the final approval is announced at once; the scale lane's head start (it needs no data)
    // goes first, then the re-check of the components, before the data tier changes
    expect(t.slice(0, 7)).toEqual([
      'OperationRequested',
      'PreflightCompleted',
      'ApprovalRequested',
      'ApprovalRecorded',
      'OperationApproved',
      'StepProgress:scale-secondary',
      'PreflightCompleted',
    ]);
    expect(t.at(-1)).toBe('OperationCompleted');
    for (const id of [
      'promote-database',
      'promote-cache',
      'switch-dns',
      'scale-secondary',
      'verify-secondary',
    ]) {
      expect(t.filter((x) => x === `StepStarted:${id}`)).toHaveLength(1);
      expect(t.filter((x) => x === `StepSucceeded:${id}`)).toHaveLength(1);
      expect(t.indexOf(`StepStarted:${id}`)).toBeLessThan(t.indexOf(`StepSucceeded:${id}`));
    }
    // the scaling starts beside the data tier; DNS only after both
    expect(t.indexOf('StepStarted:scale-secondary')).toBeLessThan(
      t.indexOf('StepSucceeded:promote-database'),
    );
    for (const lane of ['promote-database', 'promote-cache', 'scale-secondary'])
      expect(t.indexOf(`StepSucceeded:${lane}`)).toBeLessThan(t.indexOf('StepStarted:switch-dns'));
    expect(t.indexOf('StepSucceeded:switch-dns')).toBeLessThan(
      t.indexOf('StepStarted:verify-secondary'),
    );
    // progress from the providers lands between start and success of its step
    const progress = t.indexOf('StepProgress:switch-dns');
    expect(progress).toBeGreaterThan(t.indexOf('StepStarted:switch-dns'));
    expect(progress).toBeLessThan(t.indexOf('StepSucceeded:switch-dns'));
    expect(tl.every((e) => e.opId === waiting.id && typeof e.at === 'number')).toBe(true);

    // adapters were told about every persisted entry, in the stored order
    const notified = h.notifications
      .filter((n) => n.op.id === waiting.id)
      .flatMap((n) => n.entries);
    expect(types(notified)).toEqual(t);

    const status = await h.engine.status();
    expect(status.active).toBeNull();
    expect(status.last).toMatchObject({ id: waiting.id, phase: 'completed' });
  });

  test('steps whose component is not configured show as skipped — not configured', async () => {
    h = await createHarness({ name: 'engine-notconf', only: ['database', 'dns'] });
    const id = await requestAndApprove(h);
    const done = await inPhase(h.engine, id, 'completed');
    const byId = Object.fromEntries(done.steps.map((s) => [s.id, s]));
    expect(byId['promote-cache']).toMatchObject({
      status: 'skipped',
      skipReason: 'not-configured',
      summary: 'skipped — not configured',
    });
    expect(byId['scale-secondary']).toMatchObject({
      status: 'skipped',
      skipReason: 'not-configured',
    });
    expect(byId['promote-database'].status).toBe('succeeded');
    expect(byId['verify-secondary'].status).toBe('succeeded');
    expect(done.preflight?.components.find((c) => c.component === 'cache')?.status).toBe(
      'not-configured',
    );
    expect(h.world.calls.some((c) => c.startsWith('cache.') || c.startsWith('cluster.'))).toBe(
      false,
    );
  });

  test('a step already done is a no-op that says so', async () => {
    const world = await new FakeWorld().init({ 'dns.target': 'secondary' });
    h = await createHarness({ name: 'engine-already', world });
    const id = await requestAndApprove(h);
    const done = await inPhase(h.engine, id, 'completed');
    const dns = done.steps.find((s) => s.id === 'switch-dns')!;
    expect(dns.status).toBe('succeeded');
    expect(dns.summary).toBe(
      'already done, nothing changed: DNS already sends users to the secondary',
    );
    expect(await world.effects('dns.switchTo')).toBe(0);
    expect(world.calls.filter((c) => c.startsWith('dns.switchTo'))).toEqual([]);
  });

  test('a failing step pauses the operation; Retry runs it again and the operation completes', async () => {
    h = await createHarness({ name: 'engine-retry' });
    h.world.fail('dns.switchTo', 1);
    const id = await requestAndApprove(h);
    const paused = await inPhase(h.engine, id, 'paused');
    expect(paused.currentSteps).toEqual(['switch-dns']);
    expect(paused.lastError).toMatchObject({
      code: 'provider',
      message: 'fake-dns: dns.switchTo failed (injected)',
      retryable: true,
    });
    expect(paused.steps.find((s) => s.id === 'verify-secondary')?.status).toBe('pending');

    const skipByOutsider = await h.engine.skip({ opId: id, userId: OUTSIDER });
    expect(skipByOutsider).toMatchObject({ ok: false, reason: 'unauthorized' });

    const retried = await h.engine.retry({ opId: id, userId: REQUESTER });
    expect(retried.ok).toBe(true);
    const done = await inPhase(h.engine, id, 'completed');
    expect(done.steps.find((s) => s.id === 'switch-dns')).toMatchObject({
      status: 'succeeded',
      attempts: 2,
    });
    expect(await h.world.effects('dns.switchTo')).toBe(1);
    const t = types(await h.engine.timeline(id));
    expect(t.filter((x) => x === 'StepStarted:switch-dns')).toHaveLength(2);
    expect(t).toContain('StepFailed:switch-dns');
    expect(t).toContain('OperationPaused');
    expect(t).toContain('StepRetried:switch-dns');
    expect(t).toContain('ActionRefused');
  });

  test('Skip moves past a failed step; it shows who skipped it', async () => {
    h = await createHarness({ name: 'engine-skip' });
    // Twice: the head start at approval, then the scale step.
    h.world.fail('cluster.scale', 2);
    const id = await requestAndApprove(h);
    await inPhase(h.engine, id, 'paused');
    const skipped = await h.engine.skip({ opId: id, userId: APPROVER });
    expect(skipped.ok).toBe(true);
    const done = await inPhase(h.engine, id, 'completed');
    expect(done.steps.find((s) => s.id === 'scale-secondary')).toMatchObject({
      status: 'skipped',
      skipReason: 'skipped-by-user',
      skippedBy: APPROVER,
    });
    expect(await h.world.get('cluster.secondary')).toBe('standby');
  });

  test('Abort of a paused operation finishes it and frees the environment', async () => {
    h = await createHarness({ name: 'engine-abort' });
    h.world.fail('database.promote', 1);
    const id = await requestAndApprove(h);
    await inPhase(h.engine, id, 'paused');
    const aborted = await h.engine.abort({ userId: APPROVER, reason: 'doing it by hand' });
    expect(aborted).toMatchObject({ ok: true, op: { id, phase: 'aborted', abortedBy: APPROVER } });
    expect(await h.store.activeFor('prod')).toBeNull();
    const status = await h.engine.status();
    expect(status.active).toBeNull();
    expect(status.last).toMatchObject({ id, phase: 'aborted' });
    expect(await h.world.effects('dns.switchTo')).toBe(0);
    const again = await h.engine.retry({ opId: id, userId: REQUESTER });
    expect(again).toMatchObject({ ok: false, reason: 'finished' });
    expect(again.message).toBe(`${id} is already aborted; nothing was changed.`);
  });

  test('Abort while a step runs finishes the operation at once and says the step outcome is unknown', async () => {
    h = await createHarness({ name: 'engine-abort-running' });
    h.world.delay('dns.switchTo', 300_000);
    const entered = h.world.entered('dns.switchTo');
    const id = await requestAndApprove(h);
    await entered;
    const outsider = await h.engine.abort({ opId: id, userId: OUTSIDER });
    expect(outsider).toMatchObject({ ok: false, reason: 'unauthorized' });
    const aborted = await h.engine.abort({ opId: id, userId: APPROVER });
    expect(aborted).toMatchObject({ ok: true, op: { phase: 'aborted' } });
    const dns = aborted.ok ? aborted.op.steps.find((s) => s.id === 'switch-dns') : undefined;
    expect(dns?.status).toBe('failed');
    expect(dns?.error?.message).toContain('outcome is unknown');
    expect(await h.store.activeFor('prod')).toBeNull();
    const t = types(await h.engine.timeline(id));
    expect(t.at(-1)).toBe('OperationAborted');
    expect(t).not.toContain('StepStarted:verify-secondary');
  });

  test('failback: a failed consistency check pauses with the failing checks; Retry after the fix completes it', async () => {
    const world = await new FakeWorld().init({
      'database.writer': 'secondary',
      'database.standby': 'none',
      'cache.writer': 'secondary',
      'cache.standby': 'none',
      'dns.target': 'secondary',
      'cluster.secondary': 'production',
      'database.consistent': 'false',
    });
    h = await createHarness({ name: 'engine-failback', world });
    const req = await h.engine.request({
      kind: 'failback',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'primary region back',
    });
    if (!req.ok) throw new Error(req.message);
    const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
    await h.engine.approve({ opId: waiting.id, userId: APPROVER, planHash: waiting.planHash! });
    const paused = await inPhase(h.engine, waiting.id, 'paused');
    expect(paused.currentSteps).toEqual(['verify-consistency']);
    expect(paused.lastError).toMatchObject({ code: 'verification-failed' });
    expect(paused.lastError?.message).toContain('database consistency (checksums differ)');
    // nothing past the failed check has happened
    expect(await world.get('dns.target')).toBe('secondary');

    await world.set('database.consistent', 'true');
    await h.engine.retry({ opId: waiting.id, userId: APPROVER });
    const done = await inPhase(h.engine, waiting.id, 'completed');
    expect(done.steps.map((s) => s.status)).toEqual(Array(10).fill('succeeded'));
    expect(await world.get('database.writer')).toBe('primary');
    expect(await world.get('database.standby')).toBe('secondary');
    expect(await world.get('dns.target')).toBe('primary');
    expect(await world.get('cluster.secondary')).toBe('standby');
  });

  test('a second request while one is active is refused with the active id', async () => {
    h = await createHarness({ name: 'engine-second' });
    const first = await h.engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'first',
    });
    if (!first.ok) throw new Error('first request refused');
    const second = await h.engine.request({
      kind: 'failback',
      mode: 'auto',
      requester: APPROVER,
      reason: 'second',
    });
    expect(second).toEqual({
      ok: false,
      code: 'already-active',
      activeId: first.op.id,
      activeKind: 'failover',
      message: `${first.op.id} is already in progress (a failover): only one operation per environment runs at a time. Let it finish or abort it, then request the failback again.`,
    });
    expect((await h.engine.status()).active?.id).toBe(first.op.id);
  });

  test('refusals: self-approval, an outsider, a stale plan, a double click, unknown and finished operations', async () => {
    h = await createHarness({
      name: 'engine-refusals',
      config: testConfig({
        approvals: { approvers: [REQUESTER, APPROVER, APPROVER_2], required: 2 },
      }),
    });
    const req = await h.engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'drill',
    });
    if (!req.ok) throw new Error('refused');
    const op = await inPhase(h.engine, req.op.id, 'awaitingApproval');
    const planHash = op.planHash!;

    const self = await h.engine.approve({ opId: op.id, userId: REQUESTER, planHash });
    expect(self).toMatchObject({
      ok: false,
      reason: 'self-approval',
      message: `You requested ${op.id} — someone else has to approve it.`,
    });
    expect(await h.engine.approve({ opId: op.id, userId: OUTSIDER, planHash })).toMatchObject({
      ok: false,
      reason: 'unauthorized',
    });
    expect(
      await h.engine.approve({ opId: op.id, userId: APPROVER, planHash: '0000' }),
    ).toMatchObject({ ok: false, reason: 'stale-plan' });
    const first = await h.engine.approve({ opId: op.id, userId: APPROVER, planHash });
    expect(first).toMatchObject({
      ok: true,
      op: { phase: 'awaitingApproval', approvals: [{ userId: APPROVER }] },
    });
    expect(first.message).toBe(`Approval recorded for ${op.id} (1/2); waiting for more approvers.`);
    expect(await h.engine.approve({ opId: op.id, userId: APPROVER, planHash })).toMatchObject({
      ok: false,
      reason: 'duplicate',
    });
    expect(await h.engine.retry({ opId: op.id, userId: APPROVER })).toMatchObject({
      ok: false,
      reason: 'not-paused',
    });
    expect(
      await h.engine.approve({ opId: 'DR-19990101-0001', userId: APPROVER, planHash }),
    ).toMatchObject({ ok: false, reason: 'unknown-operation' });

    // the refusals changed nothing but are on the timeline
    expect((await h.engine.get(op.id))?.approvals.map((a) => a.userId)).toEqual([APPROVER]);
    const refused = (await h.engine.timeline(op.id)).filter((e) => e.type === 'ApprovalRefused');
    expect(refused.map((e) => (e.type === 'ApprovalRefused' ? [e.userId, e.reason] : []))).toEqual([
      [REQUESTER, 'self-approval'],
      [OUTSIDER, 'unauthorized'],
      [APPROVER, 'stale-plan'],
      [APPROVER, 'duplicate'],
    ]);

    const rejected = await h.engine.reject({ opId: op.id, userId: APPROVER_2, reason: 'not now' });
    expect(rejected).toMatchObject({ ok: true, op: { phase: 'rejected', rejectedBy: APPROVER_2 } });
    expect(await h.engine.approve({ opId: op.id, userId: APPROVER_2, planHash })).toMatchObject({
      ok: false,
      reason: 'finished',
    });
    expect(h.world.calls.some((c) => c.startsWith('database.promote'))).toBe(false);
  });

  test('preflight: unplanned while the primary answers warns; planned while it is gone is refused; auto picks unplanned', async () => {
    h = await createHarness({ name: 'engine-preflight' });
    const warn = await h.engine.request({
      kind: 'failover',
      mode: 'unplanned',
      requester: REQUESTER,
      reason: 'r',
    });
    if (!warn.ok) throw new Error('refused');
    const warned = await inPhase(h.engine, warn.op.id, 'awaitingApproval');
    const db = warned.preflight?.components.find((c) => c.component === 'database');
    expect(db?.status).toBe('warning');
    expect(db?.warnings?.[0]).toContain('writes not yet replicated are lost');
    await h.engine.abort({ userId: REQUESTER });

    await h.world.set('database.primaryReachable', 'false');
    await h.world.set('database.lagBytes', '2048');
    const planned = await h.engine.request({
      kind: 'failover',
      mode: 'planned',
      requester: REQUESTER,
      reason: 'r',
    });
    if (!planned.ok) throw new Error('refused');
    const refused = await inPhase(h.engine, planned.op.id, 'refused');
    expect(refused.lastError?.message).toContain('request `unplanned`');
    expect(await h.store.activeFor('prod')).toBeNull();

    const auto = await h.engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'r',
    });
    if (!auto.ok) throw new Error('refused');
    const chosen = await inPhase(h.engine, auto.op.id, 'awaitingApproval');
    expect(chosen.mode).toBe('unplanned');
    expect(
      chosen.preflight?.components.find((c) => c.component === 'database')?.expectedLoss?.bytes,
    ).toBe(2048);
  });

  test('an approval not given in time expires the operation', async () => {
    let clock = Date.UTC(2030, 0, 1);
    h = await createHarness({ name: 'engine-expire', now: () => clock, tickMs: 20 });
    const req = await h.engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'r',
    });
    if (!req.ok) throw new Error('refused');
    const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
    clock = waiting.expiresAt! + 1;
    const expired = await inPhase(h.engine, req.op.id, 'expired');
    expect(FINAL_PHASES).toContain(expired.phase);
    expect(await h.store.activeFor('prod')).toBeNull();
  });

  test('an approval clicked after the deadline is refused as expired, with an answer for the person', async () => {
    let clock = Date.UTC(2030, 0, 1);
    // No tick during the test: the click is what finds the deadline passed.
    h = await createHarness({ name: 'engine-late-approve', now: () => clock, tickMs: 3_600_000 });
    const req = await h.engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'r',
    });
    if (!req.ok) throw new Error('refused');
    const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
    clock = waiting.expiresAt! + 1;
    const late = await h.engine.approve({
      opId: waiting.id,
      userId: APPROVER,
      planHash: waiting.planHash!,
    });
    expect(late).toMatchObject({ ok: false, reason: 'expired', op: { phase: 'expired' } });
    expect(late.message).toBe(
      `Too late: the approval window of ${waiting.id} closed at ${new Date(waiting.expiresAt!).toISOString()}, so your approval did not count and nothing was changed. Request it again if it is still needed.`,
    );
    const tl = await h.engine.timeline(waiting.id);
    expect(types(tl).slice(-2)).toEqual(['ApprovalRefused', 'OperationExpired']);
    expect(tl.find((e) => e.type === 'ApprovalRefused')).toMatchObject({
      userId: APPROVER,
      reason: 'expired',
    });
    expect(types(tl)).not.toContain('ApprovalRecorded');
    expect(await h.world.effects('database.promote')).toBe(0);
    expect(await h.store.activeFor('prod')).toBeNull();
  });

  test('status() works from the store after a restart', async () => {
    h = await createHarness({ name: 'engine-status' });
    const id = await requestAndApprove(h);
    await inPhase(h.engine, id, 'completed');
    const req = await h.engine.request({
      kind: 'failback',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'primary back',
    });
    if (!req.ok) throw new Error(req.message);
    await inPhase(h.engine, req.op.id, 'awaitingApproval');
    await h.engine.stop();

    const restarted = h.another();
    await restarted.start();
    const status = await restarted.status();
    expect(status.active).toMatchObject({
      id: req.op.id,
      kind: 'failback',
      phase: 'awaitingApproval',
    });
    expect(status.last).toMatchObject({ id, kind: 'failover', phase: 'completed' });
    // the restarted process drives the operation
    const approved = await restarted.approve({
      opId: req.op.id,
      userId: APPROVER,
      planHash: status.active!.planHash!,
    });
    expect(approved.ok).toBe(true);
    const done = await inPhase(restarted, req.op.id, 'completed');
    expect(done.steps.every((s) => s.status === 'succeeded')).toBe(true);
    expect(await h.world.get('database.writer')).toBe('primary');
  });

  test('stopped during the re-check after the final approval: the restarted bot announces that approval once and measures RTO from it', async () => {
    h = await createHarness({ name: 'engine-recheck-stop' });
    const req = await h.engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'practice',
    });
    if (!req.ok) throw new Error(req.message);
    const waiting = await inPhase(h.engine, req.op.id, 'awaitingApproval');
    // The re-check is slow, and the person leaves (dr console: `exit`) before it ends.
    h.world.delay('database.readiness', 1500);
    const clickedBefore = Date.now();
    const approved = await h.engine.approve({
      opId: waiting.id,
      userId: APPROVER,
      planHash: waiting.planHash!,
    });
    const clickedAfter = Date.now();
    expect(approved.op?.phase).toBe('recheck');
    await h.engine.stop();
    h.world.delay('database.readiness', 0);
    // A second later the console is opened again.
    await new Promise((r) => setTimeout(r, 1000));

    const restarted = h.another();
    await restarted.start();
    const done = await inPhase(restarted, waiting.id, 'completed');
    const tl = await restarted.timeline(waiting.id);
    expect(tl.filter((e) => e.type === 'OperationApproved')).toHaveLength(1);
    expect(tl.filter((e) => e.type === 'ApprovalRecorded')).toHaveLength(1);
    const recorded = tl.find((e) => e.type === 'ApprovalRecorded')!;
    const announced = tl.find((e) => e.type === 'OperationApproved')!;
    // Announced with the click, before the interrupted re-check and the resumed one.
    expect(announced.at - recorded.at).toBeLessThan(100);
    expect(tl.indexOf(announced)).toBe(tl.indexOf(recorded) + 1);
    expect(done.approvedAt).toBeGreaterThanOrEqual(clickedBefore);
    expect(done.approvedAt).toBeLessThanOrEqual(clickedAfter);
    const verified = done.steps.find((s) => s.id === 'verify-secondary')!;
    expect(done.rtoMs).toBe(verified.finishedAt! - done.approvedAt!);
    // The time the bot was away counts: RTO runs from the click, not from the resumed re-check.
    expect(done.rtoMs).toBeGreaterThanOrEqual(1000);
  });

  test('two processes: the one holding a stale version is refused and does not overwrite', async () => {
    h = await createHarness({
      name: 'engine-stale',
      config: testConfig({
        approvals: { approvers: [REQUESTER, APPROVER, APPROVER_2], required: 2 },
      }),
    });
    const req = await h.engine.request({
      kind: 'failover',
      mode: 'auto',
      requester: REQUESTER,
      reason: 'r',
    });
    if (!req.ok) throw new Error('refused');
    const op = await inPhase(h.engine, req.op.id, 'awaitingApproval');

    // a second bot process takes the operation over from the same store
    const other = h.another();
    await other.start();
    const before = await h.store.load(op.id);

    const mine = await other.approve({ opId: op.id, userId: APPROVER, planHash: op.planHash! });
    expect(mine.ok).toBe(true);
    const afterOther = await h.store.load(op.id);
    expect(afterOther!.version).toBe(before!.version + 1);

    // the first process still holds the older version: its write is refused, the store keeps the other's
    await expect(
      h.engine.approve({ opId: op.id, userId: APPROVER_2, planHash: op.planHash! }),
    ).rejects.toMatchObject({ code: 'conflict' });
    const stored = await h.store.load(op.id);
    expect(stored!.version).toBe(afterOther!.version);
    expect((await other.get(op.id))?.approvals.map((a) => a.userId)).toEqual([APPROVER]);
    const approvalsInTimeline = (await h.store.timeline(op.id)).filter(
      (e) => e.type === 'ApprovalRecorded',
    );
    expect(approvalsInTimeline).toHaveLength(1);
    // and it no longer acts on it
    await expect(
      h.engine.approve({ opId: op.id, userId: APPROVER_2, planHash: op.planHash! }),
    ).rejects.toThrow('not driven by this dr-bot process');
  });
});
