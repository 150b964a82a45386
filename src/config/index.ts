export { loadConfig, parseConfig } from './load.js';
export { resolveConnection } from './connection.js';
export { configPathFrom } from './path.js';
export { checkStart, checkStartEnvironment } from './runtime.js';
export { summarizeConfig } from './summary.js';
export { customRunbooks } from './schema/runbook-steps.js';
export { configSchema, type DrConfig } from './schema.js';
