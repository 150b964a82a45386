/**
 * The last resort on the Slack card (issue 20), driven by the real operation machine: the extra
 * button shows only where a failed step's driver offers it, never on the approval card nor as
 * the default, with its own confirm dialog saying what it does; Approve never runs it; two
 * distinct authorized people; and after it, the card says how to fail back by hand.
 */
import { waitFor } from 'xstate';
import {
  ACTION_IDS,
  renderCard,
  renderEventReply,
  type SlackMessage,
} from '../../src/bot/render.js';
import { ProviderError } from '../../src/errors.js';
import { toView } from '../../src/machine/index.js';
import {
  ALICE,
  approve,
  BOB,
  done,
  Harness,
  MALLORY,
  phase,
  REQUESTER,
  settle,
  T0,
  until,
} from '../machine/harness.js';

const targets = { rtoMinutes: 30, rpoMinutes: 5 };

function offering(): ProviderError {
  const e = new ProviderError(
    'elasticache-global',
    'FailoverGlobalReplicationGroup to lab-cache-usw2 failed, InternalFailure',
  );
  e.lastResort = {
    action: 'detach-cache',
    why: 'FailoverGlobalReplicationGroup cannot switch while us-east-1 is out',
  };
  return e;
}

function buttons(msg: SlackMessage): Array<Record<string, any>> {
  return msg.blocks.filter((b) => b.type === 'actions').flatMap((b) => (b as any).elements);
}

const text = (msg: SlackMessage): string => JSON.stringify(msg.blocks);
const detach = (userId: string, authorized = true, at = T0 + 5000) => ({
  type: 'DETACH' as const,
  userId,
  authorized,
  at,
});

async function paused(h: Harness) {
  const actor = h.start();
  await until(actor, 'awaitingApproval');
  const card = renderCard(toView(actor.getSnapshot()), targets);
  expect(buttons(card).map((b) => b.action_id)).not.toContain(ACTION_IDS.detach);
  actor.send(approve(ALICE, actor.getSnapshot().context.planHash!));
  await until(actor, 'paused');
  return actor;
}

describe('the last resort on the card', () => {
  it('shows only where the driver offers it: its own dialog, never the default, never Approve', async () => {
    const h = new Harness({ steps: { 'promote-cache': [offering(), done('detached')] } });
    const actor = await paused(h);
    const card = renderCard(toView(actor.getSnapshot()), targets);
    const all = buttons(card);
    expect(all.map((b) => b.action_id)).toEqual([
      ACTION_IDS.retry,
      ACTION_IDS.skip,
      ACTION_IDS.detach,
      ACTION_IDS.abort,
    ]);
    const last = all.find((b) => b.action_id === ACTION_IDS.detach)!;
    expect(last.text.text).toBe('Detach the secondary cache (last resort)');
    expect(last.style).toBe('danger');
    expect(last.confirm.title.text).toBe('Detach the secondary cache?');
    expect(last.confirm.text.text).toMatch(
      /leaves the global datastore and becomes a standalone writable cluster\. The old primary keeps its data but is no longer linked\. One-way: re-adding a region to a datastore wipes that region’s data\. Runs once 1 other approver\(s\) click it too\./,
    );
    expect(last.confirm.text.text.length).toBeLessThanOrEqual(300);
    expect(last.confirm.confirm.text).toBe('Detach (one-way)');
    expect(text(card)).toContain('Last resort offered:');

    // The approval card's Approve sent now is refused and asks for nothing.
    actor.send(approve(BOB, actor.getSnapshot().context.planHash!, T0 + 4000));
    await settle();
    expect(phase(actor)).toBe('paused');
    expect(actor.getSnapshot().context.lastResort).toBeUndefined();
    expect(h.stepCalls.filter((c) => c.lastResort)).toEqual([]);

    // Asked by one, refused to the same person and to someone unauthorized.
    actor.send(detach(REQUESTER));
    actor.send(detach(REQUESTER));
    actor.send(detach(MALLORY, false));
    await settle();
    expect(h.ofType('ApprovalRefused').map((e) => [e.userId, e.reason])).toEqual([
      [BOB, 'not-awaiting-approval'],
    ]);
    expect(h.ofType('ActionRefused').map((e) => [e.userId, e.action, e.reason])).toEqual([
      [REQUESTER, 'detach', 'self-approval'],
      [MALLORY, 'detach', 'unauthorized'],
    ]);
    expect(text(renderCard(toView(actor.getSnapshot()), targets))).toContain(
      'Asked by <@U-REQUESTER>: 0/1 approval(s)',
    );

    // The second person: the step runs the detach, the card then says how to fail back.
    actor.send(detach(BOB));
    await waitFor(actor, (s) => s.status === 'done');
    const end = toView(actor.getSnapshot());
    expect(end.phase).toBe('completed');
    expect(h.stepCalls.filter((c) => c.lastResort).map((c) => c.stepId)).toEqual(['promote-cache']);
    expect(h.ofType('LastResortStarted')[0]!.approvers).toEqual([REQUESTER, BOB]);
    const after = text(renderCard(end, targets));
    expect(after).toContain('Last resort done.');
    expect(after).toMatch(/re-add the old primary’s region \(this wipes the old primary’s data\)/);
    const started = h.events.find((e) => e.type === 'LastResortStarted')!;
    expect(renderEventReply({ ...started, opId: end.id, at: T0 })?.text).toMatch(
      /Running the detach of the secondary cache \(last resort\), approved by U-REQUESTER, U-BOB/,
    );
  });

  it('no offer, no button; a retry drops a pending request', async () => {
    const plain = new Harness({
      steps: { 'promote-cache': [new ProviderError('redis', 'FAILOVER timed out')] },
    });
    const a = await paused(plain);
    const card = renderCard(toView(a.getSnapshot()), targets);
    expect(buttons(card).map((b) => b.action_id)).not.toContain(ACTION_IDS.detach);
    a.send(detach(ALICE));
    await settle();
    expect(plain.ofType('ActionRefused').map((e) => e.reason)).toEqual(['no-last-resort']);

    const h = new Harness({ steps: { 'promote-cache': [offering(), done('promoted')] } });
    const actor = await paused(h);
    actor.send(detach(ALICE));
    await settle();
    expect(actor.getSnapshot().context.lastResort?.requestedBy).toBe(ALICE);
    actor.send({ type: 'RETRY', userId: BOB, authorized: true, at: T0 + 9000 });
    await waitFor(actor, (s) => s.status === 'done');
    expect(actor.getSnapshot().context.lastResort).toBeUndefined();
    expect(h.stepCalls.filter((c) => c.lastResort)).toEqual([]);
  });
});
