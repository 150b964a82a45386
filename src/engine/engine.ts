// The engine's public face: createEngine wires one context and hands each Engine method to the
// module that owns it (lifecycle, request, actions, views).
import {
  abortOperation,
  approveOperation,
  doneOperation,
  rejectOperation,
  retryOperation,
  skipOperation,
  undoOperation,
  detachOperation,
} from './actions.js';
import type { EngineDeps } from './context.js';
import { startEngine, stopEngine } from './lifecycle.js';
import { requestOperation } from './request.js';
import type { Engine } from './types.js';
import { engineStatus, getView } from './views.js';
import { createEngineContext } from './wiring.js';

export function createEngine(deps: EngineDeps): Engine {
  const ctx = createEngineContext(deps);
  return {
    start: () => startEngine(ctx),
    stop: () => stopEngine(ctx),
    request: (input) => requestOperation(ctx, input),
    approve: (input) => approveOperation(ctx, input),
    reject: (input) => rejectOperation(ctx, input),
    retry: (input) => retryOperation(ctx, input),
    skip: (input) => skipOperation(ctx, input),
    undo: (input) => undoOperation(ctx, input),
    detach: (input) => detachOperation(ctx, input),
    done: (input) => doneOperation(ctx, input),
    abort: (input) => abortOperation(ctx, input),
    get: (opId) => getView(ctx, opId),
    status: () => engineStatus(ctx),
    timeline: (opId) => ctx.store.timeline(opId),
    subscribe(listener) {
      ctx.listeners.add(listener);
      return () => ctx.listeners.delete(listener);
    },
  };
}
