/**
 * The YAML config, validated with zod. Every component is optional: a step whose component is
 * absent is skipped as "not configured". Secrets never live here: connection strings are given
 * either as a password-less `url` or by reference (`urlEnv: NAME`, read from the environment).
 *
 * configSchema is the one schema of the whole file; the larger sections are built in ./schema/
 * (components, detection, connection references) and assembled here.
 */
import { z } from 'zod';
import { components } from './schema/components.js';
import { connectionRefShape } from './schema/connection-ref.js';
import { consistency } from './schema/consistency.js';
import { detection } from './schema/detection.js';
import { runbook } from './schema/runbook-steps.js';

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user id looks like U0123ABCD');

const region = z
  .object({
    /** The cloud region name, e.g. eu-west-1 / westeurope. */
    name: z.string().min(1),
    /**
     * Health endpoint of the region as users see it (any 2xx): detection's probes and failback's
     * verify-primary use the primary's; preflight asks about the target region's (a failover's: the
     * secondary's, a warning when it does not answer).
     */
    healthUrl: z.string().url().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    /** Name of the environment; one active operation per environment. */
    environment: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    regions: z
      .object({ primary: region, secondary: region })
      .strict()
      .refine((r) => r.primary.name !== r.secondary.name, {
        message: 'primary and secondary name the same region: a failover needs two regions',
        path: ['secondary', 'name'],
      }),
    slack: z
      .object({
        /** Channel id (C...) where status cards and timelines are posted. */
        incidentChannel: z
          .string()
          .regex(/^[CG][A-Z0-9]{2,}$/, 'a Slack channel id looks like C0123ABCD'),
        /** The slash command registered in the manifest. */
        command: z
          .string()
          .regex(
            /^\/[a-z0-9_-]+$/,
            'a slash command like /dr (starts with /, lowercase letters, digits, - or _)',
          )
          .default('/dr'),
      })
      .strict(),
    approvals: z
      .object({
        approvers: z.array(slackUserId).default([]),
        userGroup: z
          .string()
          .regex(/^S[A-Z0-9]{2,}$/, 'a Slack user group id looks like S0123ABCD')
          .optional(),
        /** Distinct approvers needed besides the requester. */
        required: z.number().int().min(1).max(10).default(1),
        timeoutMinutes: z
          .number()
          .positive()
          .max(24 * 60)
          .default(30),
      })
      .strict()
      .refine((a) => a.approvers.length > 0 || a.userGroup !== undefined, {
        message:
          'name at least one approver (approvals.approvers) or a user group (approvals.userGroup)',
      })
      // Without a group, fewer listed approvers than `required` means no request can ever be approved.
      .refine(
        (a) =>
          a.userGroup !== undefined ||
          a.approvers.length === 0 ||
          new Set(a.approvers).size >= a.required,
        {
          message:
            'fewer distinct approvers than approvals.required: list more approvers, lower required, or add approvals.userGroup',
          path: ['required'],
        },
      ),
    targets: z
      .object({
        rtoMinutes: z.number().positive().default(30),
        rpoMinutes: z.number().positive().default(5),
        /**
         * Per-component RPO (drill reports, readiness). PostgreSQL and Redis replicate within
         * minutes: they follow rpoMinutes. The other defaults are DESIGN.md's replication table.
         */
        rpoMinutesByComponent: z
          .object({
            database: z.number().positive().optional(),
            cache: z.number().positive().optional(),
            // "Near real time": S3 Replication Time Control promises 99.99 % of objects within 15 min
            // but replicates most within seconds; a minute lets a healthy rule pass with room to
            // spare while a stalled one (objects minutes behind) fails.
            objectStorage: z.number().positive().default(1),
            // Velero backups run daily: the newest completed one may be up to a day old.
            kubernetes: z
              .number()
              .positive()
              .default(24 * 60),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      // prefault, not default: the defaults inside (rpoMinutesByComponent's) apply to an absent block too.
      .prefault({}),
    /** Continuous readiness checks; a check that turns degraded posts once, and once when it recovers. */
    readiness: z
      .object({
        /** 0 turns the periodic checks off (`/dr status` still shows the last results). */
        intervalMinutes: z.number().min(0).default(15),
        /** A drill older than this (or none) makes the drill check degraded. */
        drillWarnDays: z.number().positive().default(90),
      })
      .strict()
      .default({ intervalMinutes: 15, drillWarnDays: 90 }),
    /** The failback's consistency check: time budget, chunks, Redis sample (schema/consistency.ts). */
    consistency,
    components,
    /** The team's own steps in the runbooks (schema/runbook-steps.ts). */
    runbook,
    detection: detection.optional(),
    /**
     * How the bot's Azure credential (DefaultAzureCredential: environment, workload identity,
     * managed identity, CLI) reaches Microsoft Entra ID.
     */
    azure: z
      .object({
        /** Skip instance discovery (a call to login.microsoftonline.com): private clouds, Azure Stack, the lab. */
        disableInstanceDiscovery: z.boolean().default(false),
        /** PEM file of the CA certificates to trust for the authority host and Azure APIs, instead of the system's. */
        caFile: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type DrConfigInput = z.input<typeof configSchema>;
export type DrConfig = z.output<typeof configSchema>;
export type ConnectionRef = z.output<typeof connectionRefShape>;
