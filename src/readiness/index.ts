export {
  createReadinessMonitor,
  runReadinessCheck,
  type ReadinessMonitor,
  type ReadinessMonitorOptions,
  type ReadinessNotify,
} from './monitor.js';
export {
  createReadinessState,
  type ReadinessState,
  type ReadinessStateOptions,
  type AlertState,
} from './state.js';
export {
  createReadinessChecks,
  createObjectStorageFromConfig,
  objectStorageRpoSeconds,
  type ReadinessChecks,
  type ReadinessChecksOptions,
} from './build.js';
export {
  postgresCheck,
  redisCheck,
  dnsCheck,
  standbyWorkloadsCheck,
  objectStorageCheck,
  drillCheck,
} from './checks.js';
export { veleroCheck } from './velero-check.js';
export {
  DEFAULT_READINESS_PREFIX,
  drillLastKey,
  lastDrillAt,
  recordDrillAt,
  type DrillRecordStore,
} from './drill-record.js';
export type {
  ReadinessCheck,
  ReadinessCheckId,
  ReadinessCheckStatus,
  ReadinessFinding,
  ReadinessReport,
  ReadinessResult,
  ReadinessTransition,
} from './types.js';
export { readinessLine, readinessTally, READINESS_ICONS } from './format.js';
