// A split data tier: the pause after one data component was switched while the other's step
// failed. Pure: read from the step records, so the card, the policy and the undo agree.
import type {
  DataComponent,
  DataTierRole,
  DataTierSplit,
  StepId,
  StepState,
  UndoState,
} from '../domain/types.js';

const DATA_STEPS: Partial<Record<StepId, DataComponent>> = {
  'promote-database': 'database',
  'promote-cache': 'cache',
};

/** A failed step whose roles could not be read: the card says so rather than guess. */
function unread(component: DataComponent, regions: DataTierRole['regions']): DataTierRole {
  return { component, writer: null, regions, changed: false, note: 'role not read' };
}

/**
 * The split, when a data step failed and some data component is no longer as approved (Redis
 * promoted, PostgreSQL fenced or promoted); undefined for an ordinary pause.
 */
export function splitOf(steps: readonly StepState[]): DataTierSplit | undefined {
  const data = steps.filter((s) => DATA_STEPS[s.id] !== undefined);
  if (!data.some((s) => s.status === 'failed')) return undefined;
  if (!data.some((s) => s.roles?.changed)) return undefined;
  const regions = data.find((s) => s.roles)!.roles!.regions;
  const roles = data.map((s) => s.roles ?? unread(DATA_STEPS[s.id]!, regions));
  return {
    roles,
    undoable: roles.filter((r) => r.changed && r.undo !== undefined).map((r) => r.component),
  };
}

/** An undo asked and not yet run nor failed: further clicks approve it. */
export function pendingUndo(undo: UndoState | undefined): UndoState | undefined {
  return undo && undo.finishedAt === undefined && undo.error === undefined ? undo : undefined;
}
