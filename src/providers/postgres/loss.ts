/**
 * The loss window (RPO) of an unplanned failover, from what the standby shows and what this bot
 * last read on the primary: when it starts and ends, how much WAL is lost for certain, and the
 * sentence people approve.
 */
import type { Evidence, ExpectedLoss, RegionRole } from '../../domain/types.js';
import { formatBytes } from '../bytes.js';
import type { Contact, PgContext, Reachable } from './context.js';
import { lsnDiff } from './lsn.js';
import type { WriterReading } from './memory.js';

/** The loss window's ends and the WAL behind, with the readings they come from. */
interface LossMeasure {
  remembered: Contact;
  received: string | null;
  walEnd: string | null;
  have: string | null;
  reportedBehind: number;
  seenBehind: number | null;
  bytes: number | null;
  inSyncAt: string | null;
  contactAt: string | null;
  lostBy: string | null;
  aheadAfterContact: boolean;
  from: string | null;
  until: string | null;
  seconds: number | null;
}

/**
 * With the primary gone, what the standby can tell. All it received is replayed at promotion.
 * The loss window ends at its last contact with the primary: the receiver's last message while
 * it streams; once its row is gone, "lost by" the first time this provider saw it without one,
 * so the window is fixed then and does not grow while people approve (the primary may have
 * written after the contact too; nothing here can time that, except a reading of the primary
 * by this bot after the contact that found WAL the standby lacks: the window reaches at least
 * that reading). It starts at the later of two
 * points before which nothing can be missing: the last replayed commit, and the last time this
 * bot read the primary's flushed WAL (readiness rounds, preflights) if the standby holds all of
 * it — every acknowledged commit was flushed, so none before that reading is lost. On an idle
 * primary the first is long ago and the second recent: that reading keeps the window honest
 * without inflating it.
 * Bytes: what lies past the received WAL, of the primary's end of WAL as last reported to the
 * standby (latest_end_lsn) or of the flushed WAL this bot last read there, is lost for certain: a
 * lower bound. Zero there proves nothing about later writes, so the size is then unknown.
 * Times mix clocks: commit and reading times are the primary's, contact times the standby's.
 */
export function expectedLoss(
  ctx: PgContext,
  target: RegionRole,
  t: Reachable,
  why: string,
  seen: WriterReading | null,
): ExpectedLoss & { bytes: number | null; seconds: number | null; evidence: Evidence } {
  const m = measureLoss(ctx, target, t, seen);
  const { remembered, walEnd, bytes, seconds, inSyncAt, contactAt, lostBy, from, until } = m;
  return {
    bytes,
    seconds,
    description: describeLoss(t, m, seen, why),
    evidence: {
      lastContactAt: contactAt ?? remembered.lastSeen?.at ?? null,
      contactLostBy: lostBy,
      primaryReportedWalEnd: walEnd,
      primarySeenFlushLsn: seen?.flushLsn ?? null,
      primarySeenAt: seen?.at ?? null,
      inSyncAt,
      lossWindowFrom: from,
      lossWindowUntil: until,
      lostBytesIsLowerBound: bytes !== null,
    },
  };
}

/** The numbers behind the expected loss; `seen` is this bot's last reading of the primary. */
function measureLoss(
  ctx: PgContext,
  target: RegionRole,
  t: Reachable,
  seen: WriterReading | null,
): LossMeasure {
  const w = t.receiver?.status === 'streaming' ? t.receiver : null;
  const remembered = ctx.contact.get(target) ?? { lastSeen: null, lostBy: null };
  const received = t.receiveLsn ?? t.replayLsn;
  const walEnd = w ? w.latestEndLsn : (remembered.lastSeen?.latestEndLsn ?? null);
  const have = w?.flushedLsn ?? received;
  const reportedBehind = walEnd && have ? lsnDiff(walEnd, have) : 0;
  const seenBehind = seen && have ? lsnDiff(seen.flushLsn, have) : null;
  const behind = Math.max(reportedBehind, seenBehind ?? 0);
  const bytes = behind > 0 ? behind : null;
  // The standby holds everything the primary had flushed when this bot last read it.
  const inSyncAt = seen && seenBehind !== null && seenBehind <= 0 ? seen.at : null;
  const contactAt = w?.lastMsgReceiptAt ?? null;
  const lostBy = w ? null : (remembered.lostBy ?? t.checkedAt);
  const contactEnd = contactAt ?? lostBy;
  // A reading after the last contact that found the primary ahead of the standby: it was still
  // writing then, so its commits up to that reading are in the window too (a partition between
  // the regions before the primary region went down), and the window is at least that long.
  const aheadAfterContact =
    seen !== null &&
    seenBehind !== null &&
    seenBehind > 0 &&
    (contactEnd === null || Date.parse(seen.at) > Date.parse(contactEnd));
  const until = aheadAfterContact ? seen.at : contactEnd;
  const from =
    [t.lastReplayAt, inSyncAt]
      .filter((x): x is string => x !== null)
      .sort((a, b) => Date.parse(a) - Date.parse(b))
      .at(-1) ?? null;
  const seconds =
    from && until
      ? Math.max(0, Math.round((Date.parse(until) - Date.parse(from)) / 100) / 10)
      : null;
  return {
    remembered,
    received,
    walEnd,
    have,
    reportedBehind,
    seenBehind,
    bytes,
    inSyncAt,
    contactAt,
    lostBy,
    aheadAfterContact,
    from,
    until,
    seconds,
  };
}

/** The sentence people approve: what the standby holds, the window, and the WAL lost. */
function describeLoss(
  t: Reachable,
  m: LossMeasure,
  seen: WriterReading | null,
  why: string,
): string {
  const {
    received,
    remembered,
    inSyncAt,
    contactAt,
    lostBy,
    aheadAfterContact,
    from,
    until,
    seconds,
  } = m;
  const last = t.lastReplayAt
    ? `its last replayed transaction committed at ${t.lastReplayAt}`
    : 'it has replayed no transaction yet';
  const sync = inSyncAt
    ? `; it holds all the WAL the primary had flushed (up to ${seen!.flushLsn}) when this bot last read the primary at ${inSyncAt}: 0 B behind the last primary position seen, so no transaction committed before ${inSyncAt} is lost`
    : '';
  const contact = contactAt
    ? `its last message from the primary arrived at ${contactAt}`
    : remembered.lastSeen
      ? `it was last seen in contact with the primary at ${remembered.lastSeen.at} and had lost contact by ${lostBy}`
      : `it had no contact with the primary when first checked at ${lostBy}`;
  const window =
    seconds === null
      ? 'the loss window cannot be timed'
      : aheadAfterContact
        ? `transactions the primary committed in the at least ${seconds} s from ${from} to ${until}, if any, are lost: this bot read the primary then, after the standby's last contact, with WAL the standby does not have`
        : `transactions the primary committed in the ${contactAt ? '' : 'at most '}${seconds} s from ${from} to ${until}, if any, are lost`;
  const pending = t.replayGapBytes
    ? `; ${formatBytes(t.replayGapBytes)} received but not yet replayed will be replayed at promotion, not lost`
    : '';
  return `the standby received WAL up to ${received ?? 'nothing'}, ${last}${sync}; ${contact}: ${window}${pending}; anything the primary committed after the last contact is lost too (${lostBytesText(m, seen)}; primary: ${why})`;
}

/** How much WAL is lost for certain (a lower bound), or why that is unknown. */
function lostBytesText(m: LossMeasure, seen: WriterReading | null): string {
  const { bytes, seenBehind, reportedBehind, have, walEnd, inSyncAt } = m;
  return bytes !== null
    ? seenBehind !== null && seenBehind >= reportedBehind
      ? `at least ${formatBytes(bytes)} of WAL lost: the primary had flushed WAL up to ${seen!.flushLsn} when this bot read it at ${seen!.at}, the standby received up to ${have} (a lower bound: it may have written more after)`
      : `at least ${formatBytes(bytes)} of WAL lost: the primary reported its WAL at ${walEnd}, the standby received up to ${have} (a lower bound: it may have written more after)`
    : inSyncAt
      ? `WAL lost in bytes unknown: none was missing at ${inSyncAt}; what the primary wrote after cannot be measured while it is unreachable`
      : walEnd
        ? `WAL lost in bytes unknown: the standby had received all WAL the primary reported (up to ${walEnd}); what it wrote after cannot be measured while it is unreachable`
        : "WAL lost in bytes unknown: the primary's end of WAL was never seen by this bot and cannot be measured while it is unreachable";
}
