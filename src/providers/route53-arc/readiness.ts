/**
 * The pre-approval readiness of an ARC switch: both routing controls exist in the cluster
 * (ListRoutingControls), where users are held now, and which cluster endpoints answer.
 */
import {
  ListRoutingControlsCommand,
  type RoutingControl,
} from '@aws-sdk/client-route53-recovery-cluster';
import type { ComponentReadiness, RegionRole } from '../../domain/types.js';
import { errorInfo } from '../../errors.js';
import { NAME, call, type ArcContext } from './context.js';
import { heldOn, stateLine } from './controls.js';

async function listControls(
  ctx: ArcContext,
): Promise<{ controls: RoutingControl[]; failed: string[] }> {
  const controls: RoutingControl[] = [];
  const failed: string[] = [];
  let token: string | undefined;
  do {
    const page = await call(ctx, 'listing the routing controls', (c) =>
      c.send(new ListRoutingControlsCommand({ ...(token ? { NextToken: token } : {}) })),
    );
    controls.push(...(page.value.RoutingControls ?? []));
    failed.push(...page.failed);
    token = page.value.NextToken;
  } while (token);
  return { controls, failed };
}

export async function readiness(ctx: ArcContext, target: RegionRole): Promise<ComponentReadiness> {
  const planFacts = { provider: NAME, primary: ctx.arns.primary, secondary: ctx.arns.secondary };
  const blocked = (summary: string, details = {}): ComponentReadiness => ({
    component: 'dns',
    status: 'blocked',
    summary,
    details,
    planFacts,
  });
  let listed: Awaited<ReturnType<typeof listControls>>;
  try {
    listed = await listControls(ctx);
  } catch (err) {
    const info = errorInfo(err);
    return blocked(info.message, { error: info.message, code: info.code });
  }
  const find = (role: RegionRole) =>
    listed.controls.find((c) => c.RoutingControlArn === ctx.arns[role]);
  const p = find('primary');
  const s = find('secondary');
  if (!p || !s)
    return blocked(
      `the cluster has no routing control ${!p ? ctx.arns.primary : ctx.arns.secondary}; it has: ${listed.controls.map((c) => c.RoutingControlName).join(', ') || 'none'}. Fix components.dns.route53Arc.`,
    );
  const st = {
    states: { primary: p.RoutingControlState ?? '?', secondary: s.RoutingControlState ?? '?' },
    names: { primary: p.RoutingControlName ?? '?', secondary: s.RoutingControlName ?? '?' },
  };
  const on = heldOn(st);
  const warnings: string[] = [];
  if (listed.failed.length)
    warnings.push(
      `cluster endpoint${listed.failed.length > 1 ? 's' : ''} ${listed.failed.join(', ')} did not answer; the switch tries the others.`,
    );
  if (p.ControlPanelArn !== s.ControlPanelArn)
    warnings.push(
      'the two routing controls are in different control panels: a safety rule covering both cannot exist.',
    );
  if (on === 'unknown')
    warnings.push(`the controls do not hold users on one side (${stateLine(st)}).`);
  return {
    component: 'dns',
    status: warnings.length ? 'warning' : 'ready',
    summary: `routing controls ${stateLine(st)}: users held on the ${on}; ${on === target ? `already on the ${target}, nothing to switch` : `switch: ${st.names[target]} On, the other Off (one UpdateRoutingControlStates)`}`,
    details: { heldOn: on, ...st.states, endpointsFailed: listed.failed.length },
    planFacts: { ...planFacts, heldOn: on },
    ...(warnings.length ? { warnings } : {}),
  };
}
