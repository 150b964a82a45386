/**
 * Is a side a server of this cluster? Its system identifier against the other side's, the
 * configured one or the one remembered when both sides were last seen together; and, for a side
 * that accepts writes, whether it was promoted from a standby (and after the other side).
 */
import { createHash } from 'node:crypto';
import type { RegionRole } from '../../domain/types.js';
import { PreconditionFailed } from '../../errors.js';
import {
  other,
  type PgContext,
  type Reachable,
  type SideState,
  type Unreachable,
} from './context.js';
import { switchpointFrom, timelineHistory } from './divergence.js';

export function sameCluster(ctx: PgContext, target: RegionRole, t: Reachable, o: Reachable): void {
  if (t.systemId !== o.systemId) {
    throw new PreconditionFailed(
      `${ctx.where(target)} belongs to another cluster: system identifier ${t.systemId}, but ${ctx.where(other(target))} has ${o.systemId}. It is not a standby of this database: check components.postgres.${target} in the config.`,
      { code: 'wrong-target' },
    );
  }
}

/** The pair's name for the identity memory: its primary's address, never its credentials. */
function clusterName(ctx: PgContext): string {
  try {
    const u = new URL(ctx.opts.primaryUrl);
    return `${u.hostname}:${u.port || '5432'}`;
  } catch {
    // A keyword/value conninfo: a digest names it without keeping a password in Redis.
    return createHash('sha256').update(ctx.opts.primaryUrl).digest('hex').slice(0, 16);
  }
}

/** The identifier this cluster must have: configured, else remembered from both sides seen together. */
export async function expectedId(
  ctx: PgContext,
): Promise<{ id: string; source: 'config' | 'remembered' } | null> {
  if (ctx.opts.systemIdentifier) return { id: ctx.opts.systemIdentifier, source: 'config' };
  if (ctx.knownId === undefined) {
    try {
      ctx.knownId = await ctx.identity.recall(clusterName(ctx));
    } catch (err) {
      // The memory is a help, not a dependency: without it the checks fall back to "nothing known".
      ctx.opts.log.warn(
        { err: (err as Error).message },
        'reading the remembered PostgreSQL system identifier failed',
      );
      return null;
    }
  }
  return ctx.knownId ? { id: ctx.knownId, source: 'remembered' } : null;
}

async function rememberId(ctx: PgContext, id: string): Promise<void> {
  if (ctx.opts.systemIdentifier || ctx.knownId === id) return;
  try {
    await ctx.identity.remember(clusterName(ctx), id);
    ctx.knownId = id;
  } catch (err) {
    ctx.opts.log.warn(
      { err: (err as Error).message },
      'remembering the PostgreSQL system identifier failed',
    );
  }
}

/**
 * Why `target` is not this cluster's server, or null when nothing says so. Both sides answering
 * with one identifier is the evidence that is remembered; a configured identifier always wins.
 * With the other side unreachable, the target is compared with what is configured or remembered.
 */
export async function identityProblem(
  ctx: PgContext,
  target: RegionRole,
  t: Reachable,
  o: SideState,
): Promise<string | null> {
  const expected = await expectedId(ctx);
  if (expected?.source === 'config' && t.systemId !== expected.id) {
    return `${ctx.where(target)} has system identifier ${t.systemId}, but components.postgres.systemIdentifier is ${expected.id}: it is not a server of this cluster. Check components.postgres.${target} (or the configured identifier).`;
  }
  if (o.reachable && o.systemId === t.systemId) {
    if (expected && expected.id !== t.systemId) {
      // Both sides agree on another identifier than the remembered one: the cluster was rebuilt, learn it.
      ctx.opts.log.warn(
        { remembered: expected.id, seen: t.systemId },
        'both PostgreSQL sides have a new system identifier: remembering it',
      );
    }
    await rememberId(ctx, t.systemId);
    return null;
  }
  if (!o.reachable && expected && t.systemId !== expected.id) {
    return `${ctx.where(target)} has system identifier ${t.systemId}, but this cluster's is ${expected.id} (remembered when both sides were last seen together): it is not a server of this cluster. Check components.postgres.${target}; if the cluster was rebuilt on purpose, set components.postgres.systemIdentifier to ${t.systemId}.`;
  }
  return null;
}

/**
 * With the other side unreachable, a target that accepts writes counts as "already promoted" only
 * with evidence that it was promoted from a standby of this cluster: a timeline after 1 and the
 * configured or remembered identifier. Returns why not, or null.
 */
export async function notProvenPromoted(
  ctx: PgContext,
  target: RegionRole,
  t: Reachable,
  o: Unreachable,
): Promise<string | null> {
  const src = other(target);
  const expected = await expectedId(ctx);
  if (!expected) {
    return `${ctx.where(target)} accepts writes and ${src} is unreachable (${o.error.message}): nothing shows it is a promoted standby of this cluster and not an unrelated server, because no system identifier is configured or remembered. Check components.postgres.${target}; if it is right, set components.postgres.systemIdentifier to ${t.systemId} (SELECT system_identifier FROM pg_control_system()) and retry.`;
  }
  if ((t.timeline ?? 1) <= 1) {
    return `${ctx.where(target)} accepts writes on timeline ${t.timeline ?? '?'}: it was never promoted from a standby, so it is not a promoted standby of ${src}. Check components.postgres.${target}.`;
  }
  return null;
}

/**
 * Both sides are writers and `other` is fenced: `target` holds the current data only when it was
 * promoted from other's timeline (a later timeline whose history leaves other's). Returns why
 * not, or null.
 */
export async function notPromotedAfter(
  ctx: PgContext,
  target: RegionRole,
  t: Reachable,
  o: Reachable,
): Promise<string | null> {
  const src = other(target);
  const [tl, otl] = [t.timeline ?? 0, o.timeline ?? 0];
  const fix = `Resync ${target} as a standby of ${src} (the failback's resync stage) and check consistency before promoting it.`;
  if (tl <= otl) {
    return `${target} writes timeline ${tl} and ${src} (fenced read-only) timeline ${otl}: ${src} was promoted after ${target}, so ${target}'s history is the older, diverged one. ${fix}`;
  }
  const history = await ctx.withClient(target, 'reading the timeline history', (c) =>
    timelineHistory(c, tl),
  );
  if (!switchpointFrom(history, otl)) {
    return `${target} writes timeline ${tl}, whose history does not pass through ${src}'s timeline ${otl}: the two diverged. ${fix}`;
  }
  return null;
}
