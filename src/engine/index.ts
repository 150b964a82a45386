export { createEngine } from './engine.js';
export type { EngineDeps } from './context.js';
export { runPreflight, targetOf } from './preflight.js';
export { refusalMessage, successMessage } from './messages.js';
export { UnrestorableOperation } from './restore.js';
export type {
  ActionOutcome,
  Authorizer,
  Engine,
  EngineNotification,
  RequestResult,
} from './types.js';
