// Creates whose outcome the requester never learnt (the connection dropped): each is withdrawn
// from the state Redis as soon as it answers, so it does not hold the environment.
import { errorInfo } from '../errors.js';
import type { EngineContext } from './context.js';

export function withdrawUnconfirmed(ctx: EngineContext): Promise<void> {
  const { store, log, unconfirmed } = ctx;
  if (unconfirmed.size === 0) return Promise.resolve();
  ctx.withdrawing ??= (async () => {
    try {
      for (const id of [...unconfirmed]) {
        let res;
        try {
          res = await store.withdraw(id);
        } catch (err) {
          log.warn(
            { opId: id, err: errorInfo(err) },
            'could not yet remove an operation whose create was reported as failed; trying again later',
          );
          continue;
        }
        unconfirmed.delete(id);
        if (res === 'withdrawn')
          log.warn(
            { opId: id },
            'removed an operation that Redis recorded after all though its requester was told the request failed; the environment is unlocked',
          );
        else if (res === 'absent')
          log.info(
            { opId: id },
            'an operation whose create was reported as failed never reached Redis: nothing to remove',
          );
        else
          log.warn(
            { opId: id },
            'an operation whose create was reported as failed is recorded and was saved since (another process drives it); it is kept',
          );
      }
    } finally {
      ctx.withdrawing = undefined;
    }
  })();
  return ctx.withdrawing;
}
