import type { AnyStateNode, AnyTransitionDefinition } from 'xstate';
import type { OperationKind } from '../domain/types.js';
import { createOperationMachine } from './operation-machine.js';
import { RUNBOOKS } from './runbook.js';

/**
 * A Mermaid state diagram of one kind's operation, read from the machine definition itself (not
 * drawn by hand), so the diagram names the same stages and steps as a persisted snapshot.
 * Transitions that only record a refusal (no target) are left out: they change nothing.
 */
export function machineDiagram(kind: OperationKind): string {
  const machine = createOperationMachine();
  const otherKinds = (Object.keys(RUNBOOKS) as OperationKind[]).filter((k) => k !== kind);
  const included = (node: AnyStateNode) => !otherKinds.some((k) => node.path.includes(k));
  const lines = ['stateDiagram-v2'];
  const edges = new Set<string>();

  const declare = (node: AnyStateNode, indent: string) => {
    const children = Object.values(node.states).filter(included);
    if (children.length === 0) {
      lines.push(`${indent}state "${node.key}" as ${nodeId(node)}`);
      return;
    }
    lines.push(`${indent}state "${node.key}" as ${nodeId(node)} {`);
    // `running` starts in the first kind's subtree; in another kind's diagram that start is not drawn.
    if (node.type !== 'parallel' && included(node.initial.target[0]))
      lines.push(`${indent}  [*] --> ${nodeId(node.initial.target[0])}`);
    children.forEach((child, i) => {
      if (node.type === 'parallel' && i > 0) lines.push(`${indent}  --`);
      declare(child, `${indent}  `);
    });
    lines.push(`${indent}}`);
  };

  const collect = (node: AnyStateNode) => {
    const transitions: AnyTransitionDefinition[] = [...node.transitions.values()]
      .flat()
      .concat(node.always ?? []);
    for (const t of transitions) {
      for (const target of t.target ?? []) {
        if (!included(target)) continue;
        edges.add(`${nodeId(node)} --> ${nodeId(target)}: ${label(t)}`);
      }
    }
    if (node.type === 'final') edges.add(`${nodeId(node)} --> [*]`);
    Object.values(node.states).filter(included).forEach(collect);
  };

  lines.push(`  [*] --> ${nodeId(machine.root.initial.target[0])}`);
  for (const child of Object.values(machine.root.states).filter(included)) declare(child, '  ');
  for (const child of Object.values(machine.root.states).filter(included)) collect(child);
  lines.push(...[...edges].map((e) => `  ${e}`));
  return `${lines.join('\n')}\n`;
}

function nodeId(node: AnyStateNode): string {
  return node.path.join('_').replace(/[^A-Za-z0-9_]/g, '_');
}

/** Internal event names, in the words of the runbook. */
function label(t: AnyTransitionDefinition): string {
  const type = String(t.eventType);
  const event = type.startsWith('xstate.done.actor.')
    ? 'done'
    : type.startsWith('xstate.error.actor.')
      ? 'error'
      : type.startsWith('xstate.after.')
        ? 'deadline'
        : type.startsWith('xstate.done.state.')
          ? 'stage finished'
          : type === ''
            ? 'always'
            : type;
  const name =
    typeof t.guard === 'string'
      ? t.guard
      : t.guard && typeof t.guard === 'object' && 'type' in t.guard
        ? String(t.guard.type)
        : '';
  const guard = name ? ` [${name}]` : '';
  return `${event}${guard}`;
}
