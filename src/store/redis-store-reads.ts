// The Redis store's reads of operations: one operation's hash (its snapshot possibly unreadable)
// and the ids of the active ones.
import type { OperationKind } from '../domain/types.js';
import type { RedisStoreContext } from './redis-store-context.js';
import type { PersistedOperation } from './types.js';

export async function loadOperation(
  { redis, keys }: RedisStoreContext,
  id: string,
): Promise<PersistedOperation | null> {
  const h = await redis.hgetall(keys.op(id));
  if (!h.version) return null;
  // A snapshot that is not JSON must not make the operation unloadable: the engine reports it
  // and an approver can still close it.
  let snapshot: unknown;
  let snapshotError: string | undefined;
  try {
    snapshot = JSON.parse(h.snapshot ?? '') as unknown;
  } catch (err) {
    snapshotError = `its stored snapshot is not valid JSON (${err instanceof Error ? err.message : String(err)})`;
  }
  return {
    id,
    env: h.env,
    kind: h.kind as OperationKind,
    version: Number(h.version),
    status: h.status === 'finished' ? 'finished' : 'active',
    snapshot,
    updatedAt: Number(h.updatedAt),
    ...(h.saveId ? { saveId: h.saveId } : {}),
    ...(snapshotError ? { snapshotError } : {}),
  };
}

export async function listActive(
  { redis, keys }: RedisStoreContext,
  env?: string,
): Promise<string[]> {
  const ids = (await redis.smembers(keys.active)).sort();
  if (env === undefined) return ids;
  const envs = await Promise.all(ids.map((id) => redis.hget(keys.op(id), 'env')));
  return ids.filter((_, i) => envs[i] === env);
}
