/**
 * The README's picture of an operation: a compact Mermaid flowchart read from the operation
 * machine itself (its top-level states, the transitions between them, and the runbook stages
 * under `running`), so the picture cannot name a stage or an edge the bot does not have.
 */
import type { AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { createOperationMachine, STEP_TITLES } from '../../src/machine/index.js';

/** The kinds drawn as the README's flow; a drill is a failover and a failback in one operation. */
const KINDS = ['failover', 'failback'] as const;

/** Words for the machine's events on an arrow; anything unlisted is shown as the event itself. */
const EVENT_WORDS: Record<string, string> = {
  APPROVE: 'Approve',
  REJECT: 'Reject',
  ABORT: 'Abort',
  RETRY: 'Retry',
  SKIP: 'Skip',
  UNDO: 'Undo',
  DETACH: 'Detach',
  TICK: 'deadline',
};

/** Which top-level state a node belongs to (its first path segment). */
function topOf(node: AnyStateNode): string {
  return node.path[0];
}

function eventWords(t: AnyTransitionDefinition): string {
  const type = String(t.eventType);
  if (type.startsWith('xstate.done.actor.')) return 'done';
  if (type.startsWith('xstate.error.actor.')) return 'error';
  if (type.startsWith('xstate.after.')) return 'deadline';
  if (type.startsWith('xstate.done.state.')) return 'stage done';
  return EVENT_WORDS[type] ?? type;
}

/**
 * Words for the machine's guards. `allowed` (the clicker may do this) is left out: it decides who,
 * not where to. An unlisted guard is shown by its name.
 */
const GUARD_WORDS: Record<string, string> = {
  allowed: '',
  approvalCompletes: 'last approval',
  pastDeadline: 'too late',
  reportBlocked: 'blocked',
  planUnchanged: 'plan unchanged',
  stageFailed: 'a step failed',
  undoCompletes: 'second person',
  lastResortCompletes: 'last resort, second person',
  pausedIn: 'undo failed',
};

function guardWords(t: AnyTransitionDefinition): string {
  const g = t.guard as unknown;
  const name =
    typeof g === 'string'
      ? g
      : g && typeof g === 'object' && 'type' in g
        ? String((g as { type: unknown }).type)
        : '';
  return GUARD_WORDS[name] ?? name;
}

function descendants(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(descendants)];
}

/** "deadline (too late)" says nothing "deadline" does not: an unguarded event covers its guarded twins. */
function label(words: Set<string>): string {
  const plain = [...words].filter((w) => !w.includes(' ('));
  const kept = [...words].filter((w) => !plain.some((p) => w !== p && w.startsWith(`${p} (`)));
  return kept.join(' / ');
}

/** Arrows between top-level states (a step's own pending → running → succeeded stays inside). */
function topLevelEdges(root: AnyStateNode): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const node of Object.values(root.states).flatMap(descendants)) {
    const transitions = [...node.transitions.values()].flat().concat(node.always ?? []);
    for (const t of transitions) {
      for (const target of t.target ?? []) {
        if (topOf(target) === topOf(node)) continue;
        const key = `${topOf(node)} --> ${topOf(target)}`;
        const guard = guardWords(t);
        const words = guard ? `${eventWords(t)} (${guard})` : eventWords(t);
        edges.set(key, (edges.get(key) ?? new Set()).add(words));
      }
    }
  }
  return edges;
}

/** One kind's runbook under `running`: a chain of stages, each naming its steps' titles. */
function stageChain(running: AnyStateNode, kind: string): string[] {
  const stages = Object.values(running.states[kind].states);
  const id = (i: number) => `${kind}_${i + 1}`;
  const lines = [`    subgraph ${kind}`];
  stages.forEach((stage, i) => {
    const titles = Object.keys(stage.states).map(
      (step) => STEP_TITLES[step as keyof typeof STEP_TITLES] ?? step,
    );
    lines.push(`      ${id(i)}["${i + 1}. ${titles.join('<br/>')}"]`);
  });
  for (let i = 1; i < stages.length; i++) lines.push(`      ${id(i - 1)} --> ${id(i)}`);
  lines.push('    end');
  return lines;
}

/** The top-level states outside `running`: a final state (the operation is over) as a stadium. */
function stateNodes(root: AnyStateNode): string[] {
  return Object.values(root.states)
    .filter((node) => node.key !== 'running')
    .map((node) => (node.type === 'final' ? `  ${node.key}(["${node.key}"])` : `  ${node.key}`));
}

/** The Mermaid flowchart, without the ```mermaid fence. */
export function flowDiagram(): string {
  const root = createOperationMachine().root;
  const running = root.states.running;
  const lines = [
    'flowchart TD',
    `  request(["/dr failover or /dr failback"]) --> ${root.initial.target[0].key}`,
  ];
  lines.push(...stateNodes(root));
  lines.push('  subgraph running ["running: the runbook\'s stages, steps of a stage in parallel"]');
  for (const kind of KINDS) lines.push(...stageChain(running, kind));
  lines.push('  end');
  for (const [key, words] of topLevelEdges(root))
    lines.push(`  ${key.replace(' --> ', ` -->|"${label(words)}"| `)}`);
  return `${lines.join('\n')}\n`;
}

/** The diagram as a fenced block GitHub renders. */
export function flowMarkdown(): string {
  return `\`\`\`mermaid\n${flowDiagram()}\`\`\`\n`;
}
