/**
 * The DNS switch: Route 53 failover records, Route 53 ARC routing controls or Azure Traffic
 * Manager, one of them, plus the
 * name resolved after switching to show what users get.
 */
import { z } from 'zod';

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
    /** Switch even when Route 53 sees the target region unhealthy (refused by default). */
    allowUnhealthyTarget: z.boolean().default(false),
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

const route53Arc = z
  .object({
    /** The cluster's regional endpoints (DescribeCluster's ClusterEndpoints), tried in turn. */
    endpoints: z
      .array(z.object({ url: z.string().url(), region: z.string().min(1) }).strict())
      .min(1),
    primaryRoutingControlArn: z
      .string()
      .regex(/^arn:aws[\w-]*:route53-recovery-control::/, 'a routing control ARN'),
    secondaryRoutingControlArn: z
      .string()
      .regex(/^arn:aws[\w-]*:route53-recovery-control::/, 'a routing control ARN'),
    /** Per endpoint: seconds to wait before trying the next one. */
    timeoutSeconds: z.number().int().positive().default(5),
  })
  .strict()
  .refine((r) => r.primaryRoutingControlArn !== r.secondaryRoutingControlArn, {
    message: 'primaryRoutingControlArn and secondaryRoutingControlArn must differ',
  });

export const dns = z
  .object({
    provider: z.enum(['route53', 'traffic-manager', 'route53-arc']),
    route53: route53.optional(),
    route53Arc: route53Arc.optional(),
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
  .refine(
    (d) =>
      d.provider === 'route53'
        ? !!d.route53
        : d.provider === 'route53-arc'
          ? !!d.route53Arc
          : !!d.trafficManager,
    {
      message:
        'the `route53`, `route53Arc` or `trafficManager` block of the chosen provider is missing',
    },
  );
