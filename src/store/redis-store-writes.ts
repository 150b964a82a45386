// The Redis store's writes: operation ids, and the scripted create, save, append and withdraw
// that each apply atomically (see scripts.ts).
import { randomUUID } from 'node:crypto';
import { ReplyError } from 'ioredis';
import type { TimelineEntry } from '../domain/types.js';
import { DrError, FencedWriteError, StaleVersionError } from '../errors.js';
import { encode, fenceArgs, type Fence, type RedisStoreContext } from './redis-store-context.js';
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

/**
 * Ids read as the UTC time of the request (`DR-20261207-093015`), or the next free number when
 * that is taken, so ids of one store only grow and two labs (two state stores) do not repeat
 * each other's ids, which name report files.
 */
const NEXT_ID_SCRIPT = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local id = math.max(last + 1, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], id, 'EX', ARGV[2])
return id`;

export async function nextOperationId(
  { redis, keys }: RedisStoreContext,
  now = new Date(),
): Promise<string> {
  const iso = now.toISOString();
  const day = iso.slice(0, 10).replaceAll('-', '');
  const time = iso.slice(11, 19).replaceAll(':', '');
  const n = (await redis.eval(
    NEXT_ID_SCRIPT,
    1,
    keys.day(day),
    time,
    COUNTER_TTL_SECONDS,
  )) as number;
  return `DR-${day}-${String(n).padStart(6, '0')}`;
}

export async function createOperation(
  ctx: RedisStoreContext,
  op: Parameters<OperationStore['create']>[0],
): Promise<CreateResult> {
  const { redis, keys } = ctx;
  const fence = fenceArgs(ctx);
  let res: [number, string | number];
  try {
    res = (await redis.eval(
      CREATE_SCRIPT,
      5,
      keys.lock(op.env),
      keys.op(op.id),
      keys.timeline(op.id),
      keys.active,
      fence.key,
      op.id,
      op.env,
      op.kind,
      JSON.stringify(op.snapshot),
      String(Date.now()),
      fence.token,
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
  refuseFenced(res, `creating ${op.id}`, fence.fence);
  return { ok: false, activeId: String(res[1]) };
}

export async function saveOperation(
  ctx: RedisStoreContext,
  id: string,
  expectedVersion: number,
  snapshot: unknown,
  entries: TimelineEntry[],
  saveOpts: Parameters<OperationStore['save']>[4] = {},
): Promise<number> {
  const { redis, keys, prefix } = ctx;
  const fence = fenceArgs(ctx);
  const res = (await redis.eval(
    SAVE_SCRIPT,
    4,
    keys.op(id),
    keys.timeline(id),
    keys.active,
    fence.key,
    id,
    String(expectedVersion),
    JSON.stringify(snapshot),
    String(Date.now()),
    saveOpts.final ? '1' : '0',
    prefix,
    saveOpts.saveId ?? randomUUID(),
    fence.token,
    ...encode(entries),
  )) as [number, number | null];
  if (res[0] === 1) return Number(res[1]);
  refuseFenced(res, `saving ${id}`, fence.fence);
  throw new StaleVersionError(id, expectedVersion, res[1] ?? null);
}

export async function appendEntries(
  ctx: RedisStoreContext,
  id: string,
  entries: TimelineEntry[],
  appendOpts: Parameters<OperationStore['append']>[2] = {},
): Promise<void> {
  if (entries.length === 0) return;
  const { redis, keys } = ctx;
  const fence = fenceArgs(ctx);
  const ok = await redis.eval(
    APPEND_SCRIPT,
    4,
    keys.op(id),
    keys.timeline(id),
    keys.appends(id),
    fence.key,
    appendOpts.appendId ?? randomUUID(),
    String(APPEND_IDS_KEPT),
    String(APPEND_IDS_TTL_SECONDS),
    fence.token,
    ...encode(entries),
  );
  if (Array.isArray(ok)) refuseFenced(ok as unknown[], `a timeline entry of ${id}`, fence.fence);
  if (ok !== 1)
    throw new DrError(
      'not-found',
      `operation ${id} does not exist in the store: timeline entry not written`,
    );
}

/** A script's {-1, lease token} answer: the lease is not ours any more. */
function refuseFenced(res: unknown[], what: string, fence: Fence | undefined): void {
  if (res[0] !== -1) return;
  throw new FencedWriteError(what, fence?.token ?? 0, String(res[1]));
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
