// A new operation's request: refused while another holds the environment or an aborted one's
// step calls are still settling; otherwise its runner starts and takes the environment lock.
import { commandRef } from '../domain/commands.js';
import type { OperationKind } from '../domain/types.js';
import { DrError, errorInfo } from '../errors.js';
import type { EngineContext } from './context.js';
import { OperationRunner } from './operation-runner.js';
import { abandonedCalls, settling } from './step-calls.js';
import type { Engine, RequestResult } from './types.js';
import { describeActive } from './views.js';
import { withdrawUnconfirmed } from './withdraw.js';

export async function requestOperation(
  ctx: EngineContext,
  { kind, mode, requester, reason }: Parameters<Engine['request']>[0],
): Promise<RequestResult> {
  const { config, store, env, now } = ctx;
  const abandoned = abandonedCalls(ctx);
  if (abandoned.length > 0) return settling(abandoned[0]!.opId, abandoned);
  await withdrawUnconfirmed(ctx);
  // Cheap early answer; store.create below is the atomic guard against a concurrent request.
  const active = await store.activeFor(env);
  if (active) return alreadyActive(active, kind, await describeActive(ctx, active));
  const id = await store.nextOperationId(new Date(now()));
  const input = {
    id,
    env,
    kind,
    requestedMode: mode,
    requester,
    reason,
    createdAt: now(),
    requiredApprovals: config.approvals.required,
    approvalTimeoutMs: Math.round(config.approvals.timeoutMinutes * 60_000),
  };
  const { runner, created } = await OperationRunner.start(ctx.runnerDeps, input, ctx.register);
  if (!created.ok) {
    ctx.runners.delete(id);
    if ('activeId' in created)
      return alreadyActive(created.activeId, kind, await describeActive(ctx, created.activeId));
    // Redis may have recorded it before the connection dropped: remove it once Redis answers.
    if (created.uncertain) {
      ctx.unconfirmed.add(id);
      void withdrawUnconfirmed(ctx);
    }
    const leftover = created.uncertain
      ? ` If Redis recorded it before the connection dropped, dr-bot removes it as soon as Redis answers again, so it does not hold ${env}.`
      : '';
    throw new DrError(
      'provider',
      `could not record ${id} in the state Redis, so nothing was started: ${errorInfo(created.error).message.replace(/\.$/, '')}.${leftover} Check REDIS_URL and that Redis answers, then request again.`,
      {
        retryable: true,
        cause: created.error,
      },
    );
  }
  ctx.log.info({ opId: id, kind, mode, requester }, 'operation requested');
  await runner.idle();
  return { ok: true, op: runner.view };
}

/** Says what is running, so "failback refused" reads as "the failover is not finished yet". */
function alreadyActive(
  activeId: string,
  requested: OperationKind,
  active: { kind?: OperationKind; unrestorable?: string },
): RequestResult {
  const activeKind = active.kind;
  const what = activeKind ? ` (a ${activeKind})` : '';
  return {
    ok: false,
    code: 'already-active',
    activeId,
    ...(activeKind ? { activeKind } : {}),
    ...(active.unrestorable ? { unrestorable: active.unrestorable } : {}),
    message: active.unrestorable
      ? `${activeId} holds the environment but cannot be resumed by this version of dr-bot (${active.unrestorable}). An approver can close it with ${commandRef('abort')}; then request the ${requested} again.`
      : `${activeId} is already in progress${what}: only one operation per environment runs at a time. Let it finish or abort it, then request the ${requested} again.`,
  };
}
