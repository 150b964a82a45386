export { APPEND_IDS_KEPT, createRedisStore } from './redis-store.js';
export type { RedisStoreOptions } from './redis-store.js';
export type { OperationStore, PersistedOperation, CreateResult, WithdrawResult } from './types.js';
export { createDetectionStore, detectionKey } from './detection-store.js';
export type { DetectionStoreOptions } from './detection-store.js';
export {
  createInstanceLease,
  describeHolder,
  describeOwner,
  leaseKey,
  leaseTtlFromEnv,
  LeaseWaitAborted,
  LEASE_TTL_ENV,
  LEASE_TTL_MS,
} from './lease.js';
export type {
  AcquireResult,
  InstanceLease,
  InstanceLeaseOptions,
  LeaseHolder,
  LeaseOwner,
} from './lease.js';
