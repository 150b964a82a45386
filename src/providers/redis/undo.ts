/**
 * Undo of a promotion that should not have happened (the data tier split: Redis promoted, the
 * database's step failed): the old master takes writes again and the promoted side becomes its
 * replica, by the same zero-loss switch as a planned failover, in the other direction.
 */
import type { RegionRole } from '../../domain/types.js';
import { PreconditionFailed } from '../../errors.js';
import type { ActionResult, Progress } from '../types.js';
import { other, where, type RedisCtx } from './connection.js';
import { promote } from './promotion.js';
import { follows, inspectReachable } from './state.js';

export async function undoPromotion(
  ctx: RedisCtx,
  { promoted, progress }: { promoted: RegionRole; progress: Progress },
): Promise<ActionResult> {
  const back = other(promoted);
  const p = await inspectReachable(ctx, promoted);
  const b = await inspectReachable(ctx, back);
  if (b.role === 'master' && p.role === 'replica' && follows(p, b))
    return {
      noop: true,
      summary: `${back} is already the master and ${promoted} its replica: nothing to undo`,
      evidence: { master: back, offset: b.offset },
    };
  // Only the pair a promotion left (the old master following the promoted one) is put back:
  // anything else may hold writes the switch would drop.
  if (p.role !== 'master' || b.role !== 'replica' || !follows(b, p))
    throw new PreconditionFailed(
      `${where(ctx, promoted)} is ${p.role} and ${where(ctx, back)} is ${b.role}${b.role === 'replica' && !follows(b, p) ? ` of another stream (${b.replid})` : ''}: this is not the pair a promotion of ${promoted} left, so the undo could lose writes. Nothing was changed; put Redis right by hand.`,
      { code: 'wrong-target' },
    );
  progress(`undo: switching Redis back to ${back} (planned, zero loss)`);
  // A planned switch fences the promoted side and waits for equal offsets: nothing it took is lost.
  const result = await promote(ctx, { target: back, mode: 'planned', progress });
  return {
    noop: false,
    summary: `Redis is back: ${back} is the master again and ${promoted} its replica (${result.rpo.description})`,
    evidence: { ...result.evidence, undoneOn: promoted, masterAgain: back },
  };
}
