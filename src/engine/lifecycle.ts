// Starting and stopping an engine: resuming every active operation of the environment from its
// stored snapshot, the periodic TICK (approval expiry, withdrawals), and a clean stop.
import { plainCommands } from '../domain/commands.js';
import { errorInfo } from '../errors.js';
import type { EngineContext } from './context.js';
import { OperationRunner } from './operation-runner.js';
import { UnrestorableOperation } from './restore.js';
import { retryHeadStartWithdrawals, withdrawLeftHeadStart } from './head-start.js';
import { withdrawUnconfirmed } from './withdraw.js';

function tick(ctx: EngineContext): void {
  void withdrawUnconfirmed(ctx);
  void retryHeadStartWithdrawals(ctx);
  for (const r of ctx.runners.values()) {
    if (r.live && r.liveView.phase === 'awaitingApproval') r.send({ type: 'TICK', at: ctx.now() });
  }
}

export async function startEngine(ctx: EngineContext): Promise<void> {
  const { store, runners, log } = ctx;
  for (const id of await store.listActive(ctx.env)) {
    if (runners.has(id)) continue;
    const p = await store.load(id);
    if (!p || p.status !== 'active') continue;
    try {
      await OperationRunner.resume(
        ctx.runnerDeps,
        id,
        p.version,
        p.snapshot,
        ctx.register,
        p.snapshotError,
      );
    } catch (err) {
      // One unreadable operation must not keep the bot (and the others) down.
      runners.delete(id);
      if (err instanceof UnrestorableOperation) {
        log.error(
          { opId: id, version: p.version, kind: p.kind, why: err.why },
          `${plainCommands(err.message)} Nothing was run for it.`,
        );
        continue;
      }
      log.error(
        { opId: id, version: p.version, err: errorInfo(err) },
        'could not resume this operation from its stored snapshot: it stays active in the state Redis and keeps the environment locked until someone resolves it by hand',
      );
    }
  }
  await withdrawLeftHeadStart(ctx);
  ctx.ticker ??= setInterval(() => tick(ctx), ctx.tickMs);
  ctx.ticker.unref();
}

export async function stopEngine(ctx: EngineContext): Promise<void> {
  if (ctx.ticker) clearInterval(ctx.ticker);
  ctx.ticker = undefined;
  // Stopping is a restart to come: calls still under way are not waited for or recorded.
  ctx.abortedWithCalls.clear();
  const all = [...ctx.runners.values()];
  ctx.runners.clear();
  await Promise.all(all.map((r) => r.stop()));
}
