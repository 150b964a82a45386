/**
 * Digests of Redis values for the failback consistency check, and the keys it samples.
 *
 * Logical digests (type + content), not DUMP bytes: a replica loaded from an RDB may encode the
 * same value differently (listpack vs hashtable), and DEBUG DIGEST-VALUE is disabled by default
 * since 7.0. A large value is read in pieces (GETRANGE, HSCAN, SSCAN, ZRANGE, LRANGE, XRANGE) so
 * neither the server nor the bot ever copies it whole; ordered types are hashed in order, hashes
 * and sets as an order-free XOR of per-entry hashes (SCAN order differs between two servers).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A reply of callBuffer: bulk strings as Buffers, nested arrays, integers. */
type Reply = Buffer | number | null | Reply[];

/** Length-prefixed, so ["ab","c"] and ["a","bc"] feed different bytes. */
function feed(h: Hash, v: Reply): void {
  if (v === null) h.update('n;');
  else if (typeof v === 'number') h.update(`i${v};`);
  else if (Buffer.isBuffer(v)) h.update(`b${v.length}:`).update(v);
  else {
    h.update(`a${v.length}:`);
    for (const x of v) feed(h, x);
  }
}

/** XOR-accumulates per-entry hashes: the same entries in any order give the same digest. */
class EntrySet {
  private readonly acc = Buffer.alloc(20);
  count = 0;

  add(entry: Reply): void {
    const h = createHash('sha1');
    feed(h, entry);
    const d = h.digest();
    for (let i = 0; i < d.length; i++) this.acc[i]! ^= d[i]!;
    this.count++;
  }

  hex(): string {
    return `${this.count}:${this.acc.toString('hex')}`;
  }
}

const call = (r: Redis, ...args: (string | number | Buffer)[]): Promise<Reply> =>
  r.callBuffer(String(args[0]), ...args.slice(1)) as Promise<Reply>;

/** Entries of a collection per round trip: about `pieceBytes`, assuming ~128-byte entries. */
function perPiece(pieceBytes: number): number {
  return Math.max(16, Math.floor(pieceBytes / 128));
}

async function stringDigest(r: Redis, key: Buffer, h: Hash, pieceBytes: number): Promise<void> {
  const length = Number(await call(r, 'STRLEN', key));
  h.update(`len${length};`);
  for (let at = 0; at < length; at += pieceBytes)
    feed(h, await call(r, 'GETRANGE', key, at, Math.min(length, at + pieceBytes) - 1));
}

/** HSCAN / SSCAN into an order-free digest; a pair per field for a hash. */
async function scanDigest(
  r: Redis,
  command: 'HSCAN' | 'SSCAN',
  key: Buffer,
  h: Hash,
  pieceBytes: number,
): Promise<void> {
  const set = new EntrySet();
  let cursor = '0';
  do {
    const [next, items] = (await call(r, command, key, cursor, 'COUNT', perPiece(pieceBytes))) as [
      Buffer,
      Buffer[],
    ];
    cursor = next.toString();
    // Entries a rehash repeats within one reply are dropped here; across replies they would make
    // a false mismatch, which the re-read of compareLive clears.
    const step = command === 'HSCAN' ? 2 : 1;
    const seen = new Set<string>();
    for (let i = 0; i < items.length; i += step) {
      const entry = items.slice(i, i + step);
      const id = entry[0]!.toString('base64');
      if (seen.has(id)) continue;
      seen.add(id);
      set.add(entry);
    }
  } while (cursor !== '0');
  h.update(set.hex());
}

/** ZRANGE / LRANGE by index, in order. */
async function rangeDigest(
  r: Redis,
  command: 'ZRANGE' | 'LRANGE',
  key: Buffer,
  h: Hash,
  pieceBytes: number,
): Promise<void> {
  const n = perPiece(pieceBytes);
  for (let at = 0; ; at += n) {
    const extra = command === 'ZRANGE' ? ['WITHSCORES'] : [];
    const piece = (await call(r, command, key, at, at + n - 1, ...extra)) as Reply[];
    feed(h, piece);
    if (piece.length < (command === 'ZRANGE' ? 2 * n : n)) return;
  }
}

async function streamDigest(r: Redis, key: Buffer, h: Hash, pieceBytes: number): Promise<void> {
  const n = perPiece(pieceBytes);
  let from = '-';
  for (;;) {
    const piece = (await call(r, 'XRANGE', key, from, '+', 'COUNT', n)) as [Buffer, Reply][];
    feed(h, piece);
    if (piece.length < n) return;
    from = `(${piece[piece.length - 1]![0].toString()}`;
  }
}

/** One key's digest, reading large values in pieces of about `pieceBytes`. */
async function digestOne(r: Redis, key: Buffer, pieceBytes: number): Promise<string> {
  const type = String(await r.type(key));
  const h = createHash('sha1').update(`${type};`);
  switch (type) {
    case 'none':
      break;
    case 'string':
      await stringDigest(r, key, h, pieceBytes);
      break;
    case 'hash':
      await scanDigest(r, 'HSCAN', key, h, pieceBytes);
      break;
    case 'set':
      await scanDigest(r, 'SSCAN', key, h, pieceBytes);
      break;
    case 'zset':
      await rangeDigest(r, 'ZRANGE', key, h, pieceBytes);
      break;
    case 'list':
      await rangeDigest(r, 'LRANGE', key, h, pieceBytes);
      break;
    case 'stream':
      await streamDigest(r, key, h, pieceBytes);
      break;
    default:
      // Module types: the serialized form is the only portable view of them (read whole).
      feed(h, await call(r, 'DUMP', key));
  }
  return h.digest('hex');
}

/** Digests of `keys`, in order. Issued together, so ioredis pipelines them on the one connection. */
export function digestsOf(
  r: Redis,
  keys: readonly Buffer[],
  pieceBytes: number,
): Promise<string[]> {
  return Promise.all(keys.map((k) => digestOne(r, k, pieceBytes)));
}

/**
 * Up to `want` distinct keys picked at random across the whole keyspace (RANDOMKEY picks a random
 * bucket, unlike SCAN's first buckets); every key when the keyspace is no larger than `want`.
 * `stop` ends the sampling early (the time budget).
 */
export async function sampleKeys(
  r: Redis,
  want: number,
  dbsize: number,
  stop: () => boolean,
): Promise<{ keys: Buffer[]; whole: boolean }> {
  const found = new Map<string, Buffer>();
  if (dbsize <= want) {
    let cursor = '0';
    do {
      const [next, batch] = (await call(r, 'SCAN', cursor, 'COUNT', 1000)) as [Buffer, Buffer[]];
      cursor = next.toString();
      for (const k of batch) found.set(k.toString('base64'), k);
    } while (cursor !== '0');
    return { keys: [...found.values()], whole: true };
  }
  // Draws repeat keys (birthday effect): a bounded number of draws, the sample may end smaller.
  for (let draws = 0; found.size < want && draws < want * 3 && !stop(); draws += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, want * 3 - draws) }, () => call(r, 'RANDOMKEY')),
    );
    for (const k of batch)
      if (Buffer.isBuffer(k) && found.size < want) found.set(k.toString('base64'), k);
  }
  return { keys: [...found.values()], whole: false };
}
