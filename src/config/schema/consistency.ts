/**
 * The failback's consistency check (verify-consistency): how long it may take, how it cuts
 * PostgreSQL tables into chunks and how many Redis keys it samples. Which tables it checks is
 * `components.postgres.consistencyTables`.
 */
import { z } from 'zod';

const postgres = z
  .object({
    /**
     * Rows per chunk (from the table's statistics): a chunk is one short query on each side, and
     * the unit that is retried, sampled and named when it differs.
     */
    chunkRows: z.number().int().min(1000).max(10_000_000).default(50_000),
    /**
     * Chunk queries at once on each side: that many connections per side (and one more to the
     * standby, watching its replay). 3, as many processes as one parallel query of PostgreSQL's defaults.
     */
    concurrency: z.number().int().min(1).max(32).default(3),
    /**
     * column: each column hashed by its type's own hash function (the text form for types without
     * one), about twice a plain scan; values their type calls equal hash alike, e.g. 1.0 and 1.00.
     * text: each row's text form, byte-exact, about 4x slower.
     */
    rowHash: z.enum(['column', 'text']).default('column'),
  })
  .strict();

const redis = z
  .object({
    /** Keys picked at random across the keyspace (RANDOMKEY); a smaller keyspace is read whole. */
    sampleKeys: z.number().int().min(1).max(1_000_000).default(1000),
    /** Large values are read in pieces of about this many bytes (GETRANGE, HSCAN, LRANGE, ...). */
    pieceBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * 1024 * 1024)
      .default(256 * 1024),
  })
  .strict();

export const consistency = z
  .object({
    /**
     * What the check may take. When it runs out, the chunks not compared yet are sampled at random
     * and the table says "sampled N %", never "consistent".
     */
    timeBudgetSeconds: z
      .number()
      .int()
      .positive()
      .max(24 * 3600)
      .default(900),
    /** Comparisons of a chunk or key written during each of them before it counts as "changing". */
    attempts: z.number().int().min(1).max(20).default(3),
    /**
     * No difference found, but not everything proven (time budget spent, chunks still changing):
     * pause lets a person Retry or Skip (switch back on the evidence shown); continue goes on.
     */
    unproven: z.enum(['pause', 'continue']).default('pause'),
    postgres: postgres.prefault({}),
    redis: redis.prefault({}),
  })
  .strict()
  // prefault, not default: the defaults inside apply to an absent block too.
  .prefault({});
