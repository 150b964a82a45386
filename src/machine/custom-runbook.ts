// Places a team's own steps (`runbook.steps` in the config) into the built-in runbooks. Pure
// data in, data out: the config validates with it and the engine builds its machine from it, so
// what `dr config check` accepts is exactly what runs.
import type {
  CustomStepId,
  CustomStepPlan,
  OperationKind,
  Runbook,
  StepId,
} from '../domain/types.js';
import { RUNBOOKS, runbookSteps } from './runbook.js';

/** One configured step, reduced to what placement needs. */
export interface CustomStepSpec {
  plan: CustomStepPlan;
  /** Absent: every operation whose runbook holds the anchor. */
  operations?: readonly OperationKind[];
  /** Runs once the anchor's stage has finished (a stage of its own, shared with others after it). */
  after?: string;
  /** Runs in a lane of its own beside the anchor, from the start of the anchor's stage. */
  beside?: string;
}

interface PlacementProblem {
  /** Index of the step in `runbook.steps`. */
  index: number;
  key: 'id' | 'after' | 'beside' | 'operations';
  message: string;
}

const KINDS: readonly OperationKind[] = ['failover', 'failback', 'drill'];

export const customStepId = (id: string): CustomStepId => `custom:${id}`;

function isCustomStep(id: StepId): id is CustomStepId {
  return id.startsWith('custom:');
}

/** The configured id of a step (without the internal `custom:` prefix). */
function configuredId(id: StepId): string {
  return isCustomStep(id) ? id.slice('custom:'.length) : id;
}

/** Stages with a marker for the ones inserted for custom steps placed `after` something. */
interface Working {
  stages: StepId[][];
  inserted: Set<StepId[]>;
}

function anchorOf(spec: CustomStepSpec): string | undefined {
  return spec.after ?? spec.beside;
}

/** `after: x` names a built-in id as written or another custom step by its configured id. */
function resolveAnchor(anchor: string, customIds: Set<string>): StepId {
  return customIds.has(anchor) ? customStepId(anchor) : (anchor as StepId);
}

function place(work: Working, spec: CustomStepSpec, anchor: StepId): void {
  const at = work.stages.findIndex((stage) => stage.includes(anchor));
  if (spec.beside !== undefined) {
    work.stages[at].push(spec.plan.id);
    return;
  }
  const next = work.stages[at + 1];
  if (next && work.inserted.has(next)) next.push(spec.plan.id);
  else {
    const stage = [spec.plan.id];
    work.inserted.add(stage);
    work.stages.splice(at + 1, 0, stage);
  }
}

function duplicateProblems(specs: readonly CustomStepSpec[]): PlacementProblem[] {
  const problems: PlacementProblem[] = [];
  const seen = new Map<string, number>();
  const builtin = new Set<string>(
    runbookSteps(RUNBOOKS.drill).concat(runbookSteps(RUNBOOKS.failback)),
  );
  specs.forEach((spec, index) => {
    const id = configuredId(spec.plan.id);
    const first = seen.get(id);
    if (first !== undefined)
      problems.push({
        index,
        key: 'id',
        message: `"${id}" is already the id of runbook.steps[${first}]: give each step its own id`,
      });
    else if (builtin.has(id))
      problems.push({
        index,
        key: 'id',
        message: `"${id}" is a built-in step's id: choose another id`,
      });
    else seen.set(id, index);
  });
  return problems;
}

/** The operations a step joins: as configured, or those whose runbook holds a built-in anchor. */
function operationsOf(
  spec: CustomStepSpec,
  customs: Map<string, CustomStepSpec>,
  seen: Set<CustomStepSpec> = new Set(),
): OperationKind[] {
  if (spec.operations) return [...spec.operations];
  const anchor = anchorOf(spec) ?? '';
  const custom = customs.get(anchor);
  if (custom) return seen.has(custom) ? [] : operationsOf(custom, customs, seen.add(spec));
  return KINDS.filter((k) => runbookSteps(RUNBOOKS[k]).includes(anchor as StepId));
}

/** True when following `after`/`beside` from this step comes back to it. */
function inCircle(spec: CustomStepSpec, customs: Map<string, CustomStepSpec>): boolean {
  const seen = new Set<CustomStepSpec>();
  for (let s = customs.get(anchorOf(spec) ?? ''); s; s = customs.get(anchorOf(s) ?? '')) {
    if (s === spec) return true;
    if (seen.has(s)) return false;
    seen.add(s);
  }
  return false;
}

/** A step that joins no operation at all: its anchor is unknown, or it sits in a circle. */
function homeless(spec: CustomStepSpec, index: number, customs: Map<string, CustomStepSpec>) {
  const anchor = anchorOf(spec) ?? '';
  const key = spec.after !== undefined ? 'after' : 'beside';
  const all = [...new Set(KINDS.flatMap((k) => runbookSteps(RUNBOOKS[k])))];
  return {
    index,
    key,
    message: inCircle(spec, customs)
      ? `"${anchor}" and this step are placed after each other in a circle: anchor one of them on a built-in step`
      : `"${anchor}" is not a step of any runbook: name a built-in step (${all.join(', ')}) or another custom step`,
  } as PlacementProblem;
}

/**
 * The built-in runbooks with the custom steps placed, and what is wrong with the placements.
 * Custom steps anchored on other custom steps are placed after their anchors; a cycle, an
 * unknown anchor or an anchor missing from one of the step's operations is a problem.
 */
export function placeCustomSteps(specs: readonly CustomStepSpec[]): {
  runbooks: Record<OperationKind, Runbook>;
  problems: PlacementProblem[];
} {
  const problems = duplicateProblems(specs);
  const customs = new Map(specs.map((s) => [configuredId(s.plan.id), s]));
  const customIds = new Set(customs.keys());
  specs.forEach((spec, index) => {
    if (anchorOf(spec) !== undefined && operationsOf(spec, customs).length === 0)
      problems.push(homeless(spec, index, customs));
  });
  const runbooks = {} as Record<OperationKind, Runbook>;
  for (const kind of KINDS) {
    const base = RUNBOOKS[kind];
    const work: Working = { stages: base.stages.map((s) => [...s]), inserted: new Set() };
    const members = specs
      .map((spec, index) => ({ spec, index, ops: operationsOf(spec, customs) }))
      .filter((m) => m.ops.includes(kind));
    let pending = members;
    // Each round places the steps whose anchor is already in place; no progress means a cycle or
    // an anchor that is not part of this operation.
    while (pending.length > 0) {
      const placeable = pending.filter((m) => {
        const anchor = resolveAnchor(anchorOf(m.spec) ?? '', customIds);
        return work.stages.some((stage) => stage.includes(anchor));
      });
      if (placeable.length === 0) break;
      for (const m of placeable)
        place(work, m.spec, resolveAnchor(anchorOf(m.spec) ?? '', customIds));
      pending = pending.filter((m) => !placeable.includes(m));
    }
    for (const m of pending) problems.push(unplaceable(m.spec, m.index, kind, customs));
    const ids = new Set(work.stages.flat());
    const custom = members.filter((m) => ids.has(m.spec.plan.id)).map((m) => m.spec.plan);
    runbooks[kind] = custom.length > 0 ? { ...base, stages: work.stages, custom } : base;
  }
  return { runbooks, problems: dedupe(problems) };
}

function unplaceable(
  spec: CustomStepSpec,
  index: number,
  kind: OperationKind,
  customs: Map<string, CustomStepSpec>,
): PlacementProblem {
  const key = spec.after !== undefined ? 'after' : 'beside';
  const anchor = anchorOf(spec) ?? '';
  const custom = customs.get(anchor);
  if (custom && inCircle(spec, customs)) return homeless(spec, index, customs);
  if (custom)
    return {
      index,
      key: 'operations',
      message: `this step runs in ${kind} but its anchor "${anchor}" does not: add ${kind} to that step's operations or remove it here`,
    };
  const known = runbookSteps(RUNBOOKS[kind]);
  const hint = known.includes(anchor as StepId)
    ? ''
    : ` (the ${kind} runbook's steps: ${known.join(', ')})`;
  return {
    index,
    key: known.includes(anchor as StepId) ? 'operations' : key,
    message: `"${anchor}" is not a step of the ${kind} runbook: name one of its steps or another custom step, or leave ${kind} out of operations${hint}`,
  };
}

function dedupe(problems: PlacementProblem[]): PlacementProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.index}|${p.key}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
