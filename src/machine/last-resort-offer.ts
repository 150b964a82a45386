// A failed step's last resort read from the records (pure): the offer its driver made and the
// request pending on it, so the card, the policy and the machine agree (see last-resort.ts).
import type { LastResortOfferView, LastResortState, StepState } from '../domain/types.js';

/** The failed step whose driver offers a last resort, if any (the card's extra button). */
export function lastResortOffer(steps: readonly StepState[]): LastResortOfferView | undefined {
  const s = steps.find((x) => x.status === 'failed' && x.error?.lastResort);
  return s ? { stepId: s.id, ...s.error!.lastResort! } : undefined;
}

/** Asked and not yet started nor failed: further clicks approve it. */
export function pendingLastResort(lr: LastResortState | undefined): LastResortState | undefined {
  return lr && lr.startedAt === undefined && lr.error === undefined ? lr : undefined;
}
