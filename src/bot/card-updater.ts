/**
 * Keeps one status card per operation in the incident channel, and its thread.
 *
 * The first notification posts the card and remembers its channel+ts in the store, so a restarted
 * bot edits the same card instead of posting a second one. Later notifications edit it in place,
 * coalesced: at most one chat.update in flight per card, at least `minIntervalMs` apart, and the
 * latest view wins, which keeps a chatty operation inside Slack's per-channel rate limits. Thread
 * replies (steps, approvals, the summary) go out in timeline order, one at a time per operation.
 *
 * Slack failures are logged and swallowed: the operation is the engine's, and a missed render must
 * never stop or crash it.
 */
import { renderManualReply } from './manual-step.js';
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { DomainEventType, OperationView } from '../domain/types.js';
import type { EngineNotification } from '../engine/types.js';
import type { OperationStore } from '../store/types.js';
import { channelFailure, describeSlackFailure } from './slack-errors.js';
import {
  renderCard,
  renderEventReply,
  renderStepReply,
  renderSummary,
  type SlackMessage,
  type Targets,
} from './render.js';

export const CARD_META_KEY = 'slack.card';

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
  now?: () => number;
}

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
  now: () => number;
  cards: Map<string, CardState>;
  closed: boolean;
}

export function createCardUpdater(opts: CardUpdaterOptions): CardUpdater {
  const u: Updater = {
    client: opts.client,
    store: opts.store,
    log: opts.log,
    channel: opts.channel,
    targets: opts.targets,
    minIntervalMs: opts.minIntervalMs ?? 1000,
    now: opts.now ?? Date.now,
    cards: new Map<string, CardState>(),
    closed: false,
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
  try {
    const res = await client.chat.postMessage({ channel, text: msg.text, blocks: msg.blocks });
    if (!res.ts || !res.channel) throw new Error('chat.postMessage answered without channel/ts');
    s.ref = { channel: res.channel, ts: res.ts };
    s.lastSentJson = JSON.stringify(msg);
    s.lastSentAt = now();
  } catch (err) {
    log.error(
      { err, opId: view.id, channel },
      `could not post the status card: ${channelFailure(err, channel)}`,
    );
    return null;
  }
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

async function reply(u: Updater, ref: CardRef, opId: string, msg: SlackMessage): Promise<void> {
  try {
    await u.client.chat.postMessage({
      channel: ref.channel,
      thread_ts: ref.ts,
      text: msg.text,
      blocks: msg.blocks,
    });
  } catch (err) {
    u.log.error(
      { err, opId },
      `could not post a thread reply on the status card: ${channelFailure(err, ref.channel)}`,
    );
  }
}

async function sendUpdate(u: Updater, opId: string, s: CardState): Promise<void> {
  const view = s.latest;
  if (!view || !s.ref) return;
  const msg = renderCard(view, u.targets);
  const json = JSON.stringify(msg);
  if (json === s.lastSentJson) return;
  try {
    await u.client.chat.update({
      channel: s.ref.channel,
      ts: s.ref.ts,
      text: msg.text,
      blocks: msg.blocks,
    });
    s.lastSentJson = json;
  } catch (err) {
    u.log.error({ err, opId }, `could not update the status card: ${describeSlackFailure(err)}`);
  } finally {
    s.lastSentAt = u.now();
  }
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
      renderEventReply(entry);
    if (msg) await reply(u, ref, n.op.id, msg);
    // The summary follows the final event, not the final phase: a notification's view may
    // already be further along than its entries, and the summary must come after every step.
    if (FINAL_EVENTS.has(entry.type) && !s.summaryPosted) {
      s.summaryPosted = true;
      await reply(u, ref, n.op.id, renderSummary(n.op, u.targets));
    }
  }
  scheduleUpdate(u, n.op.id, s);
}
