/**
 * What the two routing controls say (which region Route 53 answers with) and the switch: one
 * UpdateRoutingControlStates call turns the target On and the other Off together, so an
 * "at least one On" safety rule is never crossed mid-way.
 */
import {
  GetRoutingControlStateCommand,
  UpdateRoutingControlStatesCommand,
} from '@aws-sdk/client-route53-recovery-cluster';
import type { CheckResult, RegionRole } from '../../domain/types.js';
import { errorInfo } from '../../errors.js';
import type { ActionResult, Progress } from '../types.js';
import { NAME, call, other, type ArcContext, type ArcEndpoint } from './context.js';

interface ControlStates {
  states: Record<RegionRole, string>;
  names: Record<RegionRole, string>;
  endpoint: ArcEndpoint;
  failed: string[];
}

async function readStates(ctx: ArcContext): Promise<ControlStates> {
  const read = (role: RegionRole) =>
    call(ctx, `reading the ${role} routing control`, (c) =>
      c.send(new GetRoutingControlStateCommand({ RoutingControlArn: ctx.arns[role] })),
    );
  const p = await read('primary');
  const s = await read('secondary');
  return {
    states: {
      primary: p.value.RoutingControlState ?? '?',
      secondary: s.value.RoutingControlState ?? '?',
    },
    names: {
      primary: p.value.RoutingControlName ?? ctx.arns.primary,
      secondary: s.value.RoutingControlName ?? ctx.arns.secondary,
    },
    endpoint: s.endpoint,
    failed: [...p.failed, ...s.failed],
  };
}

/** The region the controls send users to: exactly one On; both On or both Off is 'unknown'. */
export function heldOn(st: Pick<ControlStates, 'states'>): RegionRole | 'unknown' {
  const { primary, secondary } = st.states;
  if (primary === 'On' && secondary === 'Off') return 'primary';
  if (primary === 'Off' && secondary === 'On') return 'secondary';
  return 'unknown';
}

export const stateLine = (st: Pick<ControlStates, 'states' | 'names'>): string =>
  `${st.names.primary} ${st.states.primary}, ${st.names.secondary} ${st.states.secondary}`;

export async function currentTarget(ctx: ArcContext): Promise<RegionRole | 'unknown'> {
  return heldOn(await readStates(ctx));
}

export async function switchTo(
  ctx: ArcContext,
  { target, progress }: { target: RegionRole; progress: Progress },
): Promise<ActionResult> {
  const before = await readStates(ctx);
  const evidence = { before: stateLine(before), endpoint: before.endpoint.region };
  if (heldOn(before) === target)
    return {
      noop: true,
      summary: `already switched: routing control ${before.names[target]} is On, ${before.names[other(target)]} Off`,
      evidence,
    };
  progress(
    `turning routing control ${before.names[target]} On and ${before.names[other(target)]} Off`,
  );
  const done = await call(ctx, `switching the routing controls to the ${target}`, (c) =>
    c.send(
      new UpdateRoutingControlStatesCommand({
        UpdateRoutingControlStateEntries: [
          { RoutingControlArn: ctx.arns[target], RoutingControlState: 'On' },
          { RoutingControlArn: ctx.arns[other(target)], RoutingControlState: 'Off' },
        ],
      }),
    ),
  );
  // The cluster is strongly consistent: read back to report what it holds now.
  const after = await readStates(ctx);
  ctx.log.info({ target, endpoint: done.endpoint.url }, `${NAME}: switched`);
  const skipped = done.failed.length ? ` after ${done.failed.join(', ')} failed` : '';
  return {
    noop: false,
    summary: `Route 53 ARC now routes to the ${target}: ${stateLine(after)} (through the ${done.endpoint.region} endpoint${skipped})`,
    evidence: {
      ...evidence,
      after: stateLine(after),
      via: done.endpoint.region,
      skipped: done.failed,
    },
  };
}

export async function verify(ctx: ArcContext, target: RegionRole): Promise<CheckResult[]> {
  const t0 = Date.now();
  try {
    const st = await readStates(ctx);
    const check = (role: RegionRole, want: string): CheckResult => ({
      name: `arc routing control ${role}`,
      kind: 'dns',
      ok: st.states[role] === want,
      detail: `${st.names[role]} is ${st.states[role]} (want ${want})`,
      durationMs: Date.now() - t0,
    });
    return [check(target, 'On'), check(other(target), 'Off')];
  } catch (err) {
    return [
      {
        name: 'arc routing controls',
        kind: 'dns',
        ok: false,
        detail: errorInfo(err).message,
        durationMs: Date.now() - t0,
      },
    ];
  }
}
