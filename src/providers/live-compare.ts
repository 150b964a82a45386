/**
 * Comparing the writer with its standby while the writer keeps serving (the failback's
 * consistency check), for any unit that can be digested on both sides: PostgreSQL chunks, Redis
 * keys. Each round reads the writer, notes its replication position (LSN, offset), waits until
 * the standby has replayed that far, then reads the standby: the standby then holds at least what
 * the writer read showed, so equal digests prove an equal copy. On a mismatch the writer is read
 * again:
 *
 * - the standby equals the second read: equal (the unit changed and the standby has the change);
 * - the writer is unchanged across both reads: a suspect. A suspect is compared once more in a
 *   later round (a write that changed a unit and changed it back, or a commit the standby has
 *   replayed while its writer does not show it yet, can fool one round), after the writes in
 *   flight at that read have ended, and is different only when that round agrees;
 * - the writer changed between its reads: compared again, up to `attempts` rounds in all, then
 *   reported as changing: neither equal nor different.
 *
 * So a row or key written during the check never makes a false difference, and a real difference
 * (on a unit the writer leaves alone for a moment) is always found.
 */

/** One side's view of a batch: a digest per unit, in the batch's order. */
export interface LiveSides<U, P> {
  /** Digests on the writer, then the writer's position after those reads. */
  readWriter(units: readonly U[]): Promise<{ digests: string[]; position: P }>;
  /** Resolves once the standby has replayed up to `position` (throws when it cannot). */
  waitForStandby(position: P): Promise<void>;
  readStandby(units: readonly U[]): Promise<string[]>;
  /**
   * Waits for the writes in flight on the writer to end (PostgreSQL writes a commit's WAL, which
   * the standby may replay, before the writer's readers see it). False when some are still
   * commits the writer hides: its suspects then count as changing. Awaited before a suspect's
   * confirming round; absent where the writer shows a write before replicating it (Redis).
   */
  waitForInFlight?(): Promise<boolean>;
}

export interface LiveComparison<U> {
  /** With the digest both sides agreed on. */
  equal: { unit: U; digest: string }[];
  /** With the writer's and the standby's digests of the last round. */
  different: { unit: U; writer: string; standby: string }[];
  changing: U[];
}

interface Pending<U> {
  unit: U;
  /** The writer's digest from the latest read. */
  writer: string;
  /** Rounds in which the writer stayed put and the standby differed. */
  suspect: number;
  rounds: number;
}

/**
 * Compare `units` (a batch read together on each side). `attempts` bounds the rounds of a unit
 * that keeps changing; a suspect always gets its confirming round.
 */
export async function compareLive<U, P>(
  units: readonly U[],
  sides: LiveSides<U, P>,
  attempts: number,
): Promise<LiveComparison<U>> {
  const out: LiveComparison<U> = { equal: [], different: [], changing: [] };
  const first = await sides.readWriter(units);
  let position = first.position;
  let pending: Pending<U>[] = units.map((unit, i) => ({
    unit,
    writer: first.digests[i]!,
    suspect: 0,
    rounds: 0,
  }));
  while (pending.length > 0) {
    await sides.waitForStandby(position);
    const standby = await sides.readStandby(pending.map((p) => p.unit));
    const mismatched: { p: Pending<U>; standby: string }[] = [];
    pending.forEach((p, i) => {
      if (standby[i] === p.writer) out.equal.push({ unit: p.unit, digest: p.writer });
      else mismatched.push({ p, standby: standby[i]! });
    });
    if (mismatched.length === 0) break;
    const again = await sides.readWriter(mismatched.map((m) => m.p.unit));
    position = again.position;
    pending = [];
    mismatched.forEach(({ p, standby: s }, i) => {
      const now = again.digests[i]!;
      const next = settle(p, s, now, attempts, out);
      if (next) pending.push(next);
    });
    if (pending.some((p) => p.suspect > 0) && (await sides.waitForInFlight?.()) === false)
      // A commit the writer still hides may be what differs: this round proved nothing.
      pending = pending.filter((p) => {
        if (p.suspect === 0) return true;
        if (p.rounds >= attempts) {
          out.changing.push(p.unit);
          return false;
        }
        p.suspect = 0;
        return true;
      });
  }
  return out;
}

/** One unit after a mismatch and the writer's second read: settled into `out`, or the next round's pending. */
function settle<U>(
  p: Pending<U>,
  standby: string,
  writerNow: string,
  attempts: number,
  out: LiveComparison<U>,
): Pending<U> | null {
  const rounds = p.rounds + 1;
  if (writerNow === standby) {
    out.equal.push({ unit: p.unit, digest: writerNow });
    return null;
  }
  if (writerNow === p.writer) {
    if (p.suspect >= 1) {
      out.different.push({ unit: p.unit, writer: writerNow, standby });
      return null;
    }
    return { unit: p.unit, writer: writerNow, suspect: p.suspect + 1, rounds };
  }
  if (rounds >= attempts) {
    out.changing.push(p.unit);
    return null;
  }
  return { unit: p.unit, writer: writerNow, suspect: 0, rounds };
}
