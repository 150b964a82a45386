/**
 * Keeps one status card per operation in the incident channel, and its thread.
 *
 * The first notification posts the card and remembers its channel+ts in the store, so a restarted
 * bot edits the same card instead of posting a second one. Later notifications edit it in place,
 * coalesced: at most one chat.update in flight per card, at least `minIntervalMs` apart, and the
 * latest view wins, which keeps a chatty operation inside Slack's per-channel rate limits. Thread
 * replies (steps, approvals, the summary) go out in timeline order, one at a time per operation.
 *
 * Slack failures never stop or crash the operation: it is the engine's. A call Slack may take later
 * (no answer, HTTP 5xx, a rate limit) is sent again, waiting longer each time, so the thread
 * catches up once Slack does, in order and each reply once; one Slack refuses (not_in_channel,
 * ...) is logged and given up.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { renderManualAborted, renderManualReply, renderManualSettled } from './manual-step.js';
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DomainEventType, OperationView, TimelineEntry } from '../domain/types.js';
import type { EngineNotification } from '../engine/types.js';
import type { OperationStore } from '../store/types.js';
import { channelFailure, describeSlackFailure, slackRetryAfterMs } from './slack-errors.js';
import {
  renderCard,
  renderEventReply,
  renderStepReply,
  renderSummary,
  type SlackMessage,
  type Targets,
} from './render.js';

export const CARD_META_KEY = 'slack.card';
/** A manual step's checklist message (its ts), so Done or Skip can take its buttons away. */
const manualMetaKey = (stepId: string): string => `slack.manual.${stepId}`;

const FINAL_EVENTS: ReadonlySet<DomainEventType> = new Set([
  'OperationCompleted',
  'OperationRejected',
  'OperationAborted',
  'OperationExpired',
  'OperationRefused',
]);

export interface CardRef {
  channel: string;
  ts: string;
}

interface CardUpdaterOptions {
  client: webApi.WebClient;
  store: OperationStore;
  log: Logger;
  channel: string;
  targets: Targets;
  minIntervalMs?: number;
  /** First wait before sending a call Slack did not take again; doubles up to 10 s. Default 1 s. */
  retryBaseMs?: number;
  now?: () => number;
}

const MAX_RETRY_WAIT_MS = 10_000;

interface CardState {
  ref: CardRef | null;
  /** Serializes posting, thread replies and the summary of one operation. */
  chain: Promise<void>;
  latest: OperationView | null;
  lastSentJson: string | null;
  lastSentAt: number;
  timer: NodeJS.Timeout | null;
  updating: Promise<void> | null;
  summaryPosted: boolean;
}

export interface CardUpdater {
  onNotification(n: EngineNotification): void;
  /** The card of an operation, from memory or the store. */
  cardRef(opId: string): Promise<CardRef | null>;
  /** Send pending updates now and wait for everything in flight. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export async function readCardRef(store: OperationStore, opId: string): Promise<CardRef | null> {
  const raw = await store.getMeta(opId, CARD_META_KEY);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<CardRef>;
    return typeof v.channel === 'string' && typeof v.ts === 'string'
      ? { channel: v.channel, ts: v.ts }
      : null;
  } catch {
    return null;
  }
}

/** What every step of the updater shares: its options with defaults, and each card's state. */
interface Updater {
  client: webApi.WebClient;
  store: OperationStore;
  log: Logger;
  channel: string;
  targets: Targets;
  minIntervalMs: number;
  retryBaseMs: number;
  now: () => number;
  cards: Map<string, CardState>;
  closed: boolean;
  /** Aborted by close(): calls still failing get one more try, then are given up. */
  stopping: AbortController;
}

export function createCardUpdater(opts: CardUpdaterOptions): CardUpdater {
  const u: Updater = {
    client: opts.client,
    store: opts.store,
    log: opts.log,
    channel: opts.channel,
    targets: opts.targets,
    minIntervalMs: opts.minIntervalMs ?? 1000,
    retryBaseMs: opts.retryBaseMs ?? 1000,
    now: opts.now ?? Date.now,
    cards: new Map<string, CardState>(),
    closed: false,
    stopping: new AbortController(),
  };
  const { store, log, cards } = u;

  return {
    onNotification(n) {
      if (u.closed) return;
      const s = stateOf(u, n.op.id);
      s.latest = n.op;
      s.chain = s.chain
        .then(() => handle(u, n, s))
        .catch((err: unknown) => {
          log.error({ err, opId: n.op.id }, 'status card rendering failed');
        });
    },
    async cardRef(opId) {
      const s = cards.get(opId);
      if (s?.ref) return s.ref;
      return readCardRef(store, opId);
    },
    async flush() {
      await Promise.all([...cards.values()].map((s) => s.chain));
      await Promise.all(
        [...cards.entries()].map(async ([opId, s]) => {
          if (s.updating) await s.updating;
          if (s.timer) {
            clearTimeout(s.timer);
            s.timer = null;
          }
          await sendUpdate(u, opId, s);
        }),
      );
    },
    async close() {
      u.stopping.abort();
      await this.flush();
      u.closed = true;
      for (const s of cards.values()) if (s.timer) clearTimeout(s.timer);
    },
  };
}

function stateOf(u: Updater, opId: string): CardState {
  let s = u.cards.get(opId);
  if (!s) {
    s = {
      ref: null,
      chain: Promise.resolve(),
      latest: null,
      lastSentJson: null,
      lastSentAt: 0,
      timer: null,
      updating: null,
      summaryPosted: false,
    };
    u.cards.set(opId, s);
  }
  return s;
}

async function ensureCard(u: Updater, s: CardState, view: OperationView): Promise<CardRef | null> {
  const { client, store, log, channel, targets, now } = u;
  if (s.ref) return s.ref;
  try {
    s.ref = await readCardRef(store, view.id);
  } catch (err) {
    log.warn({ err, opId: view.id }, 'could not read the status card reference from the store');
  }
  if (s.ref) return s.ref;
  const msg = renderCard(view, targets);
  const res = await deliver(u, { opId: view.id, channel, what: 'post the status card' }, () =>
    client.chat.postMessage({ channel, text: msg.text, blocks: msg.blocks }),
  );
  if (!res) return null;
  if (!res.ts || !res.channel) {
    log.error({ opId: view.id, channel }, 'chat.postMessage answered without channel/ts');
    return null;
  }
  s.ref = { channel: res.channel, ts: res.ts };
  s.lastSentJson = JSON.stringify(msg);
  s.lastSentAt = now();
  try {
    await store.setMeta(view.id, CARD_META_KEY, JSON.stringify(s.ref));
  } catch (err) {
    log.warn(
      { err, opId: view.id },
      'could not remember the status card in the store; a restart will post a new one',
    );
  }
  return s.ref;
}

interface Delivery {
  opId: string;
  /** Set for posts into a channel: their failures say what to do about the channel. */
  channel?: string;
  what: string;
}

/**
 * `send` until Slack takes it. A refusal Slack would repeat is logged and given up at once; any
 * other failure is logged once and sent again after 1 s, 2 s, ... 10 s (or Slack's Retry-After),
 * until close(). This waits on the operation's card chain only, never on the engine.
 */
async function deliver<T>(u: Updater, d: Delivery, send: () => Promise<T>): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await send();
      if (attempt > 1) u.log.info({ opId: d.opId, attempts: attempt }, `${d.what}: Slack took it`);
      return res;
    } catch (err) {
      const retryAfterMs = slackRetryAfterMs(err);
      const why = d.channel ? channelFailure(err, d.channel) : describeSlackFailure(err);
      if (retryAfterMs === undefined || u.stopping.signal.aborted) {
        u.log.error({ err, opId: d.opId }, `could not ${d.what}: ${why}`);
        return undefined;
      }
      if (attempt === 1)
        u.log.warn({ err, opId: d.opId }, `could not ${d.what}: ${why}; trying again`);
      const backoff = Math.min(u.retryBaseMs * 2 ** (attempt - 1), MAX_RETRY_WAIT_MS);
      await sleep(Math.max(backoff, retryAfterMs), undefined, {
        signal: u.stopping.signal,
      }).catch(() => undefined);
    }
  }
}

/** Posts a thread reply; its ts, or undefined when Slack did not take it. */
async function reply(
  u: Updater,
  ref: CardRef,
  opId: string,
  msg: SlackMessage,
): Promise<string | undefined> {
  const res = await deliver(
    u,
    { opId, channel: ref.channel, what: 'post a thread reply on the status card' },
    () =>
      u.client.chat.postMessage({
        channel: ref.channel,
        thread_ts: ref.ts,
        text: msg.text,
        blocks: msg.blocks,
      }),
  );
  return res?.ts;
}

/**
 * Remembers a checklist item's message in the store (a restarted bot edits it too), or, once the
 * item is settled, edits that message: no buttons left, and who settled it.
 */
async function trackManualItem(
  u: Updater,
  ref: CardRef,
  op: OperationView,
  entry: TimelineEntry,
  postedTs: string | undefined,
): Promise<void> {
  if (entry.type === 'ManualStepWaiting') {
    if (postedTs)
      await u.store.setMeta(op.id, manualMetaKey(entry.stepId), postedTs).catch((err: unknown) => {
        u.log.warn({ err, opId: op.id }, 'could not remember a checklist message in the store');
      });
    return;
  }
  if (entry.type === 'OperationAborted') return settleAbortedItems(u, ref, op, entry);
  const settled = renderManualSettled(entry, op);
  if (!settled || !('stepId' in entry)) return;
  const ts = await u.store.getMeta(op.id, manualMetaKey(entry.stepId)).catch(() => null);
  if (!ts) return;
  await deliver(u, { opId: op.id, what: 'take the buttons off a checklist item' }, () =>
    u.client.chat.update({ channel: ref.channel, ts, text: settled.text, blocks: settled.blocks }),
  );
}

/** An abort fails the items still waiting: each one posted loses its Done and Skip too. */
async function settleAbortedItems(
  u: Updater,
  ref: CardRef,
  op: OperationView,
  entry: Extract<TimelineEntry, { type: 'OperationAborted' }>,
): Promise<void> {
  for (const step of op.steps.filter((s) => s.status === 'failed')) {
    // Only a manual step's checklist message is remembered; other steps have none to edit.
    const ts = await u.store.getMeta(op.id, manualMetaKey(step.id)).catch(() => null);
    if (!ts) continue;
    const msg = renderManualAborted(step.title, entry, op.kind);
    await deliver(u, { opId: op.id, what: 'take the buttons off a checklist item' }, () =>
      u.client.chat.update({ channel: ref.channel, ts, text: msg.text, blocks: msg.blocks }),
    );
  }
}

async function sendUpdate(u: Updater, opId: string, s: CardState): Promise<void> {
  const ref = s.ref;
  if (!s.latest || !ref) return;
  let json = '';
  // Each try renders the latest view: a card that catches up after an outage shows the newest.
  await deliver(u, { opId, what: 'update the status card' }, async () => {
    const msg = renderCard(s.latest!, u.targets);
    json = JSON.stringify(msg);
    if (json === s.lastSentJson) return;
    await u.client.chat.update({
      channel: ref.channel,
      ts: ref.ts,
      text: msg.text,
      blocks: msg.blocks,
    });
    s.lastSentJson = json;
  });
  s.lastSentAt = u.now();
}

function scheduleUpdate(u: Updater, opId: string, s: CardState): void {
  if (u.closed || s.timer || s.updating) return;
  const wait = Math.max(0, s.lastSentAt + u.minIntervalMs - u.now());
  s.timer = setTimeout(() => {
    s.timer = null;
    s.updating = sendUpdate(u, opId, s).finally(() => {
      s.updating = null;
      // A newer view arrived while this one was in flight: send it in turn.
      if (s.latest && JSON.stringify(renderCard(s.latest, u.targets)) !== s.lastSentJson)
        scheduleUpdate(u, opId, s);
    });
  }, wait);
}

async function handle(u: Updater, n: EngineNotification, s: CardState): Promise<void> {
  const ref = await ensureCard(u, s, n.op);
  if (!ref) return;
  for (const entry of n.entries) {
    const msg =
      renderManualReply(entry, n.op) ??
      renderStepReply(entry, n.op, u.targets) ??
      renderEventReply(entry, n.op.steps);
    const ts = msg ? await reply(u, ref, n.op.id, msg) : undefined;
    await trackManualItem(u, ref, n.op, entry, ts);
    // The summary follows the final event, not the final phase: a notification's view may
    // already be further along than its entries, and the summary must come after every step.
    if (FINAL_EVENTS.has(entry.type) && !s.summaryPosted) {
      s.summaryPosted = true;
      await reply(u, ref, n.op.id, renderSummary(n.op, u.targets));
    }
  }
  scheduleUpdate(u, n.op.id, s);
}
