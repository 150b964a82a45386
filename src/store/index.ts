export { APPEND_IDS_KEPT, createRedisStore } from './redis-store.js';
export type { RedisStoreOptions } from './redis-store.js';
export type { OperationStore, PersistedOperation, CreateResult, WithdrawResult } from './types.js';
export { createDetectionStore, detectionKey } from './detection-store.js';
export type { DetectionStoreOptions } from './detection-store.js';
