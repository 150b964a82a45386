/**
 * The words for a split data tier, shared by the Slack card and the console: each component's
 * role per region, what the undo puts back, and the undo's timeline entries.
 */
import type {
  DataComponent,
  DataTierRole,
  DataTierSplit,
  OperationView,
  TimelineEntry,
} from './types.js';

const NAME: Record<DataComponent, string> = { database: 'PostgreSQL', cache: 'Redis' };

export function componentNames(components: readonly DataComponent[]): string {
  return components.map((c) => NAME[c]).join(' and ');
}

/** "Redis: primary in eu-central-1 (changed)", "PostgreSQL: no writer — primary fenced (changed)". */
function roleText(r: DataTierRole): string {
  const where = r.writer ? `primary in ${r.regions[r.writer]}` : 'no writer';
  const note = r.note ? ` — ${r.note}` : '';
  return `${NAME[r.component]}: ${where}${note} (${r.changed ? 'changed' : 'unchanged'})`;
}

/** One line for the card: every data component's role, side by side. */
export function splitLine(split: DataTierSplit): string {
  return split.roles.map(roleText).join(' · ');
}

/** What Undo does to each component it can put back, for the hint and the confirm dialog. */
export function undoEffect(split: DataTierSplit): string {
  return split.roles
    .filter((r) => r.changed && r.undo !== undefined)
    .map((r) =>
      r.undo === 'lift-fence'
        ? `${NAME[r.component]}: the old primary's fence is lifted and it takes writes again (its standby was never promoted)`
        : `${NAME[r.component]}: back to a replica of the old primary, which takes writes again`,
    )
    .join('; ');
}

/** Why a changed component has no undo: said, not hidden. */
function whyNot(r: DataTierRole): string {
  if (r.component === 'cache') return 'this Redis driver cannot switch back';
  return r.writer === 'secondary'
    ? 'a promoted PostgreSQL is not simply demoted: it may hold writes'
    : 'nothing proves its standby was not promoted, or the fence is not one the bot set: lift it by hand once the standby is checked, as the error says';
}

/** What a person reads under the roles: what Undo does, or why there is none. */
export function undoHint(split: DataTierSplit, requiredApprovals: number): string {
  const stuck = split.roles.filter((r) => r.changed && r.undo === undefined);
  const cannot = stuck
    .map((r) => ` The bot cannot undo ${NAME[r.component]} (${whyNot(r)}).`)
    .join('');
  if (split.undoable.length === 0)
    return `The data tier is split.${cannot} Retry the failed step, or abort and put it right by hand.`;
  const names = componentNames(split.undoable);
  return `The data tier is split: Retry the failed step, or Undo ${names} (${undoEffect(split)}; asked by one person, approved by ${requiredApprovals} other). After an undo the operation ends aborted.${cannot}`;
}

/** Who asked for the undo and how many approvals it has, while it waits. */
export function undoWaiting(
  view: Pick<OperationView, 'undo' | 'requiredApprovals'>,
): string | null {
  const u = view.undo;
  if (!u || u.finishedAt !== undefined || u.error !== undefined) return null;
  return `Undo ${componentNames(u.components)} asked by ${u.requestedBy}: ${u.approvals.length}/${view.requiredApprovals} approval(s); another approver clicks Undo too.`;
}

type UndoEntry = Extract<
  TimelineEntry,
  { type: 'UndoRequested' | 'UndoStarted' | 'DataTierUndone' | 'UndoFailed' }
>;

export function describeUndo(e: UndoEntry): string {
  const names = componentNames(e.components);
  switch (e.type) {
    case 'UndoRequested':
      return e.count === 0
        ? `${e.userId} asked to undo ${names}: needs ${e.required} approval(s) by another approver`
        : `${e.userId} approved the undo of ${names} (${e.count}/${e.required})`;
    case 'UndoStarted':
      return `Undoing ${names}, approved by ${e.approvers.join(', ')}`;
    case 'DataTierUndone':
      return `Undone: ${e.summary}`;
    case 'UndoFailed':
      return `Undo of ${names} failed: ${e.error.message}`;
  }
}
