// The Redis store's writes: operation ids, and the scripted create, save, append and withdraw
// that each apply atomically (see scripts.ts).
import { randomUUID } from 'node:crypto';
import { ReplyError } from 'ioredis';
import type { TimelineEntry } from '../domain/types.js';
import { DrError, StaleVersionError } from '../errors.js';
import { encode, type RedisStoreContext } from './redis-store-context.js';
import { APPEND_SCRIPT, CREATE_SCRIPT, SAVE_SCRIPT, WITHDRAW_SCRIPT } from './scripts.js';
import type { CreateResult, OperationStore, WithdrawResult } from './types.js';

/** Day counters outlive their day a little so an id issued just before midnight UTC stays unique. */
const COUNTER_TTL_SECONDS = 3 * 24 * 3600;
/**
 * How many of an operation's latest append ids are remembered, and for how long after its last
 * append: enough to recognise a resend or a retry, which come right after the lost reply.
 */
export const APPEND_IDS_KEPT = 200;
const APPEND_IDS_TTL_SECONDS = 24 * 3600;

export async function nextOperationId(
  { redis, keys }: RedisStoreContext,
  now = new Date(),
): Promise<string> {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  const [[incErr, n], [expErr]] = (await redis
    .multi()
    .incr(keys.day(day))
    .expire(keys.day(day), COUNTER_TTL_SECONDS)
    .exec()) as [[Error | null, number], [Error | null, unknown]];
  if (incErr ?? expErr) throw incErr ?? expErr;
  return `DR-${day}-${String(n).padStart(4, '0')}`;
}

export async function createOperation(
  { redis, keys }: RedisStoreContext,
  op: Parameters<OperationStore['create']>[0],
): Promise<CreateResult> {
  let res: [number, string | number];
  try {
    res = (await redis.eval(
      CREATE_SCRIPT,
      4,
      keys.lock(op.env),
      keys.op(op.id),
      keys.timeline(op.id),
      keys.active,
      op.id,
      op.env,
      op.kind,
      JSON.stringify(op.snapshot),
      String(Date.now()),
      ...encode(op.entries),
    )) as [number, string | number];
  } catch (err) {
    // Redis answered with an error: the script refused before writing, and repeating it
    // would be refused again. Anything else (a lost connection) leaves the outcome open.
    if (err instanceof ReplyError)
      throw new DrError(
        'conflict',
        `the state Redis refused to create ${op.id}: ${(err as Error).message}`,
        { cause: err },
      );
    throw err;
  }
  if (res[0] === 1) return { ok: true, version: Number(res[1]) };
  return { ok: false, activeId: String(res[1]) };
}

export async function saveOperation(
  { redis, keys, prefix }: RedisStoreContext,
  id: string,
  expectedVersion: number,
  snapshot: unknown,
  entries: TimelineEntry[],
  saveOpts: Parameters<OperationStore['save']>[4] = {},
): Promise<number> {
  const res = (await redis.eval(
    SAVE_SCRIPT,
    3,
    keys.op(id),
    keys.timeline(id),
    keys.active,
    id,
    String(expectedVersion),
    JSON.stringify(snapshot),
    String(Date.now()),
    saveOpts.final ? '1' : '0',
    prefix,
    saveOpts.saveId ?? randomUUID(),
    ...encode(entries),
  )) as [number, number | null];
  if (res[0] === 1) return Number(res[1]);
  throw new StaleVersionError(id, expectedVersion, res[1] ?? null);
}

export async function appendEntries(
  { redis, keys }: RedisStoreContext,
  id: string,
  entries: TimelineEntry[],
  appendOpts: Parameters<OperationStore['append']>[2] = {},
): Promise<void> {
  if (entries.length === 0) return;
  const ok = await redis.eval(
    APPEND_SCRIPT,
    3,
    keys.op(id),
    keys.timeline(id),
    keys.appends(id),
    appendOpts.appendId ?? randomUUID(),
    String(APPEND_IDS_KEPT),
    String(APPEND_IDS_TTL_SECONDS),
    ...encode(entries),
  );
  if (ok !== 1)
    throw new DrError(
      'not-found',
      `operation ${id} does not exist in the store: timeline entry not written`,
    );
}

export async function withdrawOperation(
  { redis, keys, prefix }: RedisStoreContext,
  id: string,
): Promise<WithdrawResult> {
  const res = await redis.eval(
    WITHDRAW_SCRIPT,
    5,
    keys.op(id),
    keys.timeline(id),
    keys.meta(id),
    keys.appends(id),
    keys.active,
    id,
    prefix,
  );
  return res === 1 ? 'withdrawn' : res === 0 ? 'absent' : 'in-use';
}
