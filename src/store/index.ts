export { createRedisStore } from './redis-store.js';
export { APPEND_IDS_KEPT } from './redis-store-writes.js';
export type { RedisStoreOptions } from './redis-store.js';
export type { OperationStore, PersistedOperation, CreateResult, WithdrawResult } from './types.js';
export { createDetectionStore, detectionKey } from './detection-store.js';
export type { DetectionStoreOptions } from './detection-store.js';
export {
  createInstanceLease,
  leaseKey,
  leaseTtlFromEnv,
  LEASE_TTL_ENV,
  LEASE_TTL_MS,
} from './lease.js';
export type { InstanceLease, InstanceLeaseOptions } from './lease.js';
export { LeaseWaitAborted } from './lease-acquire.js';
export type { AcquireResult } from './lease-acquire.js';
export { describeHolder, describeOwner } from './lease-owner.js';
export type { LeaseHolder, LeaseOwner } from './lease-owner.js';
export { openStateRedis } from './state-redis.js';
export { describeDurability, requireDurableState } from './durability.js';
