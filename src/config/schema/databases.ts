/**
 * The two replicated data stores the bot promotes: PostgreSQL (fence, promote, resync for
 * failback) and Redis. Each side is a connection reference (see connection-ref.ts).
 */
import { z } from 'zod';
import { connectionRefOf } from './connection-ref.js';

export const postgres = z
  .object({
    primary: connectionRefOf('postgres'),
    secondary: connectionRefOf('postgres'),
    promoteTimeoutSeconds: z.number().int().positive().default(60),
    /** Planned failover: how long to wait for the standby to replay the primary's final LSN. */
    catchUpTimeoutSeconds: z.number().int().positive().default(120),
    fence: z
      .object({
        /** read-only: default_transaction_read_only=on + reload + end client sessions. command: run `command`. */
        method: z.enum(['read-only', 'command']).default('read-only'),
        command: z.string().optional(),
      })
      .strict()
      .refine((f) => f.method !== 'command' || !!f.command, {
        message: 'fence.method "command" needs fence.command',
      })
      .default({ method: 'read-only' }),
    /** Write probe used by verification: a `dr_probe` table by default, or a statement. */
    probe: z
      .object({ table: z.string().default('dr_probe'), statement: z.string().optional() })
      .strict()
      .default({ table: 'dr_probe' }),
    /** Failback: host-level commands that rewind/rebuild a side as a standby (see README). */
    resync: z
      .object({
        command: z.string().min(1),
        timeoutSeconds: z.number().int().positive().default(900),
      })
      .strict()
      .optional(),
    /** Failback: tables compared chunk by chunk on both sides (settings: `consistency`). */
    consistencyTables: z.array(z.string()).default([]),
    /**
     * The cluster's system identifier (SELECT system_identifier FROM pg_control_system()). Lets a
     * failover with the primary down tell this cluster's secondary from an unrelated server.
     */
    systemIdentifier: z
      .string({
        error: 'quote the system identifier: YAML reads an unquoted 19-digit number inexactly',
      })
      .regex(
        /^[1-9][0-9]*$/,
        'the system identifier is a number, as SELECT system_identifier FROM pg_control_system() prints it',
      )
      .optional(),
  })
  .strict();

export const redis = z
  .object({
    primary: connectionRefOf('redis'),
    secondary: connectionRefOf('redis'),
    promoteTimeoutSeconds: z.number().int().positive().default(30),
    /** Planned: use FAILOVER TO where the server supports it (Redis >= 6.2). */
    useFailoverCommand: z.boolean().default(true),
  })
  .strict();
