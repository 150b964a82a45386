/**
 * The YAML config, validated with zod. Every component is optional: a step whose component is
 * absent is skipped as "not configured". Secrets never live here: connection strings are given
 * either as a password-less `url` or by reference (`urlEnv: NAME`, read from the environment).
 */
import { z } from 'zod';
import {
  ENCODING_HINT,
  ONE_HOST,
  parseConnectionUrl,
  schemesText,
  userInfoHoldsPassword,
  type ConnectionKind,
} from './connection-url.js';

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'a Slack user id looks like U0123ABCD');
const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)');

const PASSWORD_IN_URL =
  'this url contains a password: put it in an environment variable and use `urlEnv`';
/** A connection string written in the file, as it may be written there: no password anywhere. */
const FILE_FORM: Record<ConnectionKind, string> = {
  postgres: 'postgres://user@host[:port]/db',
  redis: 'redis://host[:port][/db]',
};

const connectionRefShape = z
  .object({
    url: z.string().min(1).optional(),
    urlEnv: envName.optional(),
  })
  .strict()
  .refine((c) => (c.url === undefined) !== (c.urlEnv === undefined), {
    message: 'give exactly one of `url` or `urlEnv`',
  });

/**
 * The same for a PostgreSQL or Redis side: a `url` written in the file must also be a connection
 * URL of that kind, and carry no password in its query (`?password=` works for both drivers).
 */
function connectionRefOf(kind: ConnectionKind) {
  return connectionRefShape.superRefine((c, ctx) => {
    if (c.url === undefined) return;
    if (userInfoHoldsPassword(c.url)) {
      ctx.addIssue({ code: 'custom', message: PASSWORD_IN_URL });
      return;
    }
    const parsed = parseConnectionUrl(c.url, kind);
    if (!parsed.ok) {
      const p = parsed.problem;
      const message =
        p.code === 'wrong-scheme'
          ? `a ${p.scheme}:// URL; expected ${schemesText(kind)}`
          : p.code === 'needs-encoding'
            ? `the user name has characters that must be percent-encoded (${ENCODING_HINT})`
            : p.code === 'several-hosts'
              ? `lists several hosts; ${ONE_HOST}`
              : `not a connection URL; expected ${FILE_FORM[kind]}`;
      ctx.addIssue({ code: 'custom', path: ['url'], message });
    } else if (parsed.server.passwordParam) {
      ctx.addIssue({
        code: 'custom',
        message:
          'this url carries a password in its query; put the whole connection string in an environment variable and name it with `urlEnv`',
      });
    }
  });
}

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

const postgres = z
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
    /** Failback: tables whose row count and checksum must match on both sides. */
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

const redis = z
  .object({
    primary: connectionRefOf('redis'),
    secondary: connectionRefOf('redis'),
    promoteTimeoutSeconds: z.number().int().positive().default(30),
    /** Planned: use FAILOVER TO where the server supports it (Redis >= 6.2). */
    useFailoverCommand: z.boolean().default(true),
  })
  .strict();

const route53 = z
  .object({
    hostedZoneId: z.string().min(1),
    recordName: z.string().min(1),
    recordType: z.enum(['A', 'AAAA', 'CNAME']).default('A'),
    /** SetIdentifier of the PRIMARY and SECONDARY failover records. */
    primarySetIdentifier: z.string().min(1),
    secondarySetIdentifier: z.string().min(1),
    /** invert-health-check: UpdateHealthCheck Disabled=true + Inverted=true (pinned unhealthy) on the primary's check. rewrite-records: change the records. */
    method: z.enum(['invert-health-check', 'rewrite-records']).default('invert-health-check'),
    primaryHealthCheckId: z.string().optional(),
    /** Override the API endpoint (tests, lab). AWS_ENDPOINT_URL_ROUTE_53 works too. */
    endpoint: z.string().url().optional(),
    region: z.string().default('us-east-1'),
    changeTimeoutSeconds: z.number().int().positive().default(300),
  })
  .strict()
  .refine((r) => r.method !== 'invert-health-check' || !!r.primaryHealthCheckId, {
    message: 'method "invert-health-check" needs primaryHealthCheckId',
  });

const trafficManager = z
  .object({
    subscriptionId: z.string().min(1),
    resourceGroup: z.string().min(1),
    profileName: z.string().min(1),
    primaryEndpoint: z.string().min(1),
    secondaryEndpoint: z.string().min(1),
    endpointType: z
      .enum(['azureEndpoints', 'externalEndpoints', 'nestedEndpoints'])
      .default('externalEndpoints'),
    /** disable-endpoint: disable the primary endpoint. swap-priorities: swap the two priorities. */
    method: z.enum(['disable-endpoint', 'swap-priorities']).default('disable-endpoint'),
    /** Override the ARM endpoint (tests, lab). */
    endpoint: z.string().url().optional(),
    /** PEM file of extra CA certificates to trust for `endpoint` (the lab simulator's self-signed one). */
    caFile: z.string().min(1).optional(),
  })
  .strict();

const dns = z
  .object({
    provider: z.enum(['route53', 'traffic-manager']),
    route53: route53.optional(),
    trafficManager: trafficManager.optional(),
    /** Resolve this name after switching, to show what users get. */
    resolveName: z.string().optional(),
    /** DNS servers for that resolution ("10.0.0.2", "127.0.0.1:5353"); default: the system's. */
    resolverServers: z
      .array(z.string().regex(/^[0-9a-fA-F.:[\]]+$/, 'an IP address, optionally with :port'))
      .min(1)
      .optional(),
  })
  .strict()
  .refine((d) => (d.provider === 'route53' ? !!d.route53 : !!d.trafficManager), {
    message: 'the `route53` (or `trafficManager`) block of the chosen provider is missing',
  });

const clusterRef = z
  .object({
    /** Path to a kubeconfig file; default: the standard lookup (KUBECONFIG, ~/.kube/config). */
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
  })
  .strict();

const workload = z
  .object({
    kind: z.enum(['Deployment', 'StatefulSet']),
    namespace: z.string().min(1),
    name: z.string().min(1),
    productionReplicas: z.number().int().min(0),
    standbyReplicas: z.number().int().min(0),
  })
  .strict();

const kubernetes = z
  .object({
    primary: clusterRef,
    secondary: clusterRef,
    workloads: z.array(workload).min(1),
    readyTimeoutSeconds: z.number().int().positive().default(600),
    /** Readiness: Velero backups of the cluster state, read from the secondary cluster. */
    velero: z
      .object({
        namespace: z.string().min(1).default('velero'),
        /** The newest completed backup must be younger than this. */
        maxAgeHours: z.number().positive().default(24),
      })
      .strict()
      .optional(),
  })
  .strict();

/** One bucket (S3) or container (Azure Blob) of one region. */
const objectStorageSide = z
  .object({
    /** S3: bucket name and its region; endpoint overrides the API URL (S3-compatible servers, the lab). */
    bucket: z.string().min(1).optional(),
    region: z.string().min(1).optional(),
    endpoint: z.string().url().optional(),
    /** Azure Blob: container, and either accountUrl (DefaultAzureCredential) or connectionStringEnv. */
    container: z.string().min(1).optional(),
    accountUrl: z.string().url().optional(),
    /** Name of an environment variable holding a connection string (never the string itself). */
    connectionStringEnv: envName.optional(),
  })
  .strict();

const objectStorage = z
  .object({
    provider: z.enum(['s3', 'azure-blob']),
    primary: objectStorageSide,
    secondary: objectStorageSide,
    /** S3: path-style addressing (S3-compatible servers, the lab simulator). */
    forcePathStyle: z.boolean().default(false),
    /** The canary object is <canaryPrefix><environment>; the replication rule must cover the prefix. */
    canaryPrefix: z.string().min(1).default('dr-bot-canary/'),
    /** How long the canary may take to reach the secondary; default targets.rpoMinutesByComponent.objectStorage (1 min). */
    rpoSeconds: z.number().positive().optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    for (const side of ['primary', 'secondary'] as const) {
      const s = o[side];
      const problem = (message: string): void =>
        void ctx.addIssue({ code: 'custom', path: [side], message });
      if (o.provider === 's3') {
        if (!s.bucket) problem('provider s3 needs `bucket`');
        if (s.container || s.accountUrl || s.connectionStringEnv)
          problem(
            'container, accountUrl and connectionStringEnv are for provider azure-blob; use bucket, region, endpoint',
          );
      } else {
        if (!s.container) problem('provider azure-blob needs `container`');
        if ((s.accountUrl === undefined) === (s.connectionStringEnv === undefined))
          problem('provider azure-blob needs exactly one of `accountUrl` or `connectionStringEnv`');
        if (s.bucket || s.region || s.endpoint)
          problem(
            'bucket, region and endpoint are for provider s3; use container with accountUrl or connectionStringEnv',
          );
      }
    }
  });

const httpCheck = z
  .object({
    name: z.string().min(1),
    url: z.string().url(),
    expectStatus: z.number().int().min(100).max(599).default(200),
    bodyMatch: z.string().optional(),
    timeoutSeconds: z.number().positive().default(5),
    retries: z.number().int().min(0).default(3),
  })
  .strict();

const commandCheck = z
  .object({
    name: z.string().min(1),
    command: z.string().min(1),
    timeoutSeconds: z.number().positive().default(300),
  })
  .strict();

const regionChecks = z
  .object({
    http: z.array(httpCheck).default([]),
    commands: z.array(commandCheck).default([]),
  })
  .strict();

const verification = z
  .object({
    primary: regionChecks.default({ http: [], commands: [] }),
    secondary: regionChecks.default({ http: [], commands: [] }),
  })
  .strict();

/**
 * AWS Health events or Azure Resource Health for the primary region: one cloud, never both (the
 * primary region lives in one). Read every `intervalSeconds`.
 */
const providerStatus = z
  .object({
    aws: z
      .object({
        /** Region whose events count; default regions.primary.name. */
        region: z.string().min(1).optional(),
        /** AWS Health endpoint override (lab, tests); default the SDK's global endpoint. */
        endpoint: z.string().url().optional(),
      })
      .strict()
      .optional(),
    azure: z
      .object({
        subscriptionId: z.string().min(1),
        /** Resource whose availability counts; without it, every resource of the subscription in the primary's location. */
        resourceId: z
          .string()
          .regex(
            /^\/subscriptions\//,
            'a full ARM resource id: /subscriptions/<id>/resourceGroups/<rg>/providers/...',
          )
          .optional(),
        /** ARM endpoint override (lab, tests); default https://management.azure.com. */
        endpoint: z.string().url().optional(),
      })
      .strict()
      .optional(),
    intervalSeconds: z.number().positive().default(60),
  })
  .strict()
  .refine((p) => (p.aws ? 1 : 0) + (p.azure ? 1 : 0) === 1, {
    message:
      'set exactly one of providerStatus.aws or providerStatus.azure (the primary region is in one cloud)',
  });

/**
 * Detection of a regional failure (alerts + the bot's own probes of the primary). Optional: without
 * it the bot neither listens for alerts nor probes.
 */
const detection = z
  .object({
    /** Distinct firing alerts (by fingerprint) for the primary region needed within the window. */
    minAlerts: z.number().int().min(1).default(3),
    windowSeconds: z.number().int().positive().default(600),
    /** The alert name (label `alertname`) that counts, and the label that names the region. */
    alertName: z.string().min(1).default('ServiceDown'),
    regionLabel: z.string().min(1).default('region'),
    /** Health URLs of the primary to probe; default regions.primary.healthUrl. */
    probeUrls: z.array(z.string().url()).min(1).optional(),
    probeIntervalSeconds: z.number().positive().default(30),
    /** Failed probe rounds in a row needed (with the alerts) to propose a failover. */
    probeFailures: z.number().int().min(1).default(3),
    probeTimeoutSeconds: z.number().positive().default(5),
    /** Largest Alertmanager webhook body accepted. */
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(1024 * 1024),
    /** Environment variable holding the webhook's bearer token. */
    tokenEnv: envName.default('DR_ALERTMANAGER_TOKEN'),
    /** The cloud's own status signal, shown on the card as evidence; it never opens or clears an episode. */
    providerStatus: providerStatus.optional(),
  })
  .strict()
  .refine((d) => d.probeTimeoutSeconds <= d.probeIntervalSeconds, {
    message:
      'probeTimeoutSeconds must not exceed probeIntervalSeconds (a probe round must end before the next starts)',
    path: ['probeTimeoutSeconds'],
  });

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
    components: z
      .object({
        postgres: postgres.optional(),
        redis: redis.optional(),
        dns: dns.optional(),
        kubernetes: kubernetes.optional(),
        verification: verification.optional(),
        objectStorage: objectStorage.optional(),
      })
      .strict()
      .default({}),
    detection: detection.optional(),
  })
  .strict();

export type DrConfigInput = z.input<typeof configSchema>;
export type DrConfig = z.output<typeof configSchema>;
export type ConnectionRef = z.output<typeof connectionRefShape>;
