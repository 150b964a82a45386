export { loadConfig, parseConfig, type LoadConfigOptions } from './load.js';
export { resolveConnection, connectionRefs } from './connection.js';
export { configPathFrom, DEFAULT_CONFIG_PATH } from './path.js';
export {
  checkStart,
  checkStartEnvironment,
  startProblemsTitle,
  DEFAULT_REDIS_URL,
  DEFAULT_PORT,
  type StartCheck,
  type StartCheckOptions,
  type StartEnvironment,
  type StartProblem,
} from './runtime.js';
export {
  parseConnectionUrl,
  type ConnectionKind,
  type ConnectionServer,
} from './connection-url.js';
export { summarizeConfig } from './summary.js';
export { deepFreeze } from './freeze.js';
export {
  configSchema,
  connectionRef,
  type DrConfig,
  type DrConfigInput,
  type ConnectionRef,
} from './schema.js';
