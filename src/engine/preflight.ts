import type {
  Component,
  ComponentReadiness,
  Mode,
  OperationKind,
  PreflightReport,
  RegionRole,
  RequestedMode,
} from '../domain/types.js';
import { errorInfo } from '../errors.js';
import type { Providers } from '../providers/types.js';
import { primaryAlreadyServing, refuseNothingToFailBack } from './failback-preflight.js';
import { refuseAlreadyFailedOver, secondaryAlreadyServing } from './failover-preflight.js';

/** `optional`: shown only when configured (no "not configured" row on every card). */
const COMPONENTS: readonly {
  key: Exclude<keyof Providers, 'customActions'>;
  component: Component;
  optional?: true;
}[] = [
  { key: 'database', component: 'database' },
  { key: 'cache', component: 'cache' },
  { key: 'dns', component: 'dns' },
  { key: 'cluster', component: 'cluster' },
  { key: 'verification', component: 'verification' },
  { key: 'health', component: 'health' },
  { key: 'objectStorage', component: 'object-storage', optional: true },
  { key: 'terraformState', component: 'terraform-state', optional: true },
];

/** Failover makes the secondary serve; failback hands it back to the primary; a drill starts with the failover. */
export function targetOf(kind: OperationKind): RegionRole {
  return kind === 'failback' ? 'primary' : 'secondary';
}

/**
 * Readiness of every configured component for the target side, and the mode the operation will
 * run in. Read-only: nothing changes until people approve.
 */
export async function runPreflight(
  providers: Providers,
  input: { kind: OperationKind; requestedMode: RequestedMode },
  now: () => number,
): Promise<PreflightReport> {
  const target = targetOf(input.kind);
  const shown = COMPONENTS.filter((c) => !c.optional || providers[c.key]);
  // Read-only, like the readiness: asked beside it rather than after it.
  const serving = (input.kind === 'failback' ? primaryAlreadyServing : secondaryAlreadyServing)(
    providers,
  );
  const components = await Promise.all(
    shown.map(async ({ key, component }): Promise<ComponentReadiness> => {
      const provider = providers[key];
      if (!provider)
        return {
          component,
          status: 'not-configured',
          summary: 'not configured',
          details: {},
          planFacts: {},
        };
      try {
        return await provider.readiness(target);
      } catch (err) {
        const info = errorInfo(err);
        return {
          component,
          status: 'blocked',
          summary: `readiness check failed: ${info.message}`,
          details: { error: info.message },
          planFacts: { error: info.code },
        };
      }
    }),
  );
  const mode = resolveMode(input.requestedMode, components);
  const ruled = applyModeRules(input.requestedMode, components);
  return {
    mode,
    components: refuseNothingToDo(input.kind, ruled, await serving),
    checkedAt: now(),
  };
}

/** A failback when the primary already serves, or a failover (or drill) when the secondary does, changes nothing: refused. */
function refuseNothingToDo(
  kind: OperationKind,
  components: ComponentReadiness[],
  serving: string[] | null,
): ComponentReadiness[] {
  if (!serving) return components;
  return kind === 'failback'
    ? refuseNothingToFailBack(components, serving)
    : refuseAlreadyFailedOver(kind, components, serving);
}

/** The old writer counts as reachable unless a data component says it is not. */
function writerReachable(components: ComponentReadiness[]): boolean {
  return components.every((c) => c.primaryReachable !== false);
}

function resolveMode(requested: RequestedMode, components: ComponentReadiness[]): Mode {
  if (requested !== 'auto') return requested;
  return writerReachable(components) ? 'planned' : 'unplanned';
}

/**
 * A planned (zero-loss) switch needs to fence the old writer, so it is blocked when that writer
 * is gone; an unplanned one while the writer still answers may lose acknowledged writes, which a
 * person must read before approving.
 */
function applyModeRules(
  requested: RequestedMode,
  components: ComponentReadiness[],
): ComponentReadiness[] {
  return components.map((c) => {
    if (c.primaryReachable === false && requested === 'planned') {
      return {
        ...c,
        status: 'blocked',
        summary: `the current ${c.component} writer is unreachable, so a planned (zero-loss) switch cannot fence it and wait for replay — request \`unplanned\` to accept the measured loss (${c.summary})`,
      };
    }
    if (c.primaryReachable === true && requested === 'unplanned') {
      const warning = `the current ${c.component} writer is reachable: unplanned mode fences it and promotes without waiting for replay, so writes not yet replicated are lost — \`planned\` would lose nothing`;
      return {
        ...c,
        status: c.status === 'ready' ? 'warning' : c.status,
        warnings: [...(c.warnings ?? []), warning],
      };
    }
    return c;
  });
}
