/**
 * components.postgres.azureFlexible: the two Azure Database for PostgreSQL flexible servers of the
 * azure-flexible driver (a primary and its cross-region read replica), and the driver's rules
 * about the rest of the postgres block.
 */
import { z } from 'zod';

/** Server names: 3 to 63 lowercase letters, digits and hyphens, not starting or ending with one. */
const SERVER_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

const flexibleServer = z
  .object({
    serverName: z
      .string()
      .regex(
        SERVER_NAME,
        'a flexible server name: 3 to 63 lowercase letters, digits and hyphens (as in the portal)',
      ),
    /** The server's resource group; default azureFlexible.resourceGroup. */
    resourceGroup: z.string().min(1).optional(),
    /** The Azure region, e.g. westeurope: a failback's new replica is created there. */
    location: z.string().regex(/^[a-z0-9]+$/, 'an Azure region name such as westeurope'),
  })
  .strict();

export const azureFlexible = z
  .object({
    subscriptionId: z
      .string()
      .regex(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
        'the subscription id (a GUID)',
      ),
    /** The resource group of both servers, unless a server names its own. */
    resourceGroup: z.string().min(1).optional(),
    primary: flexibleServer,
    secondary: flexibleServer,
    /**
     * The virtual endpoint pair's name (writer on the primary, reader on the replica). With it,
     * promotions are switchovers (roles swap); without it, a promotion is standalone (final).
     */
    virtualEndpoint: z.string().regex(SERVER_NAME, 'a virtual endpoint name').optional(),
    /** ARM endpoint override (the lab simulator); default management.azure.com. */
    endpoint: z.string().url().optional(),
    /** How long a promotion (the Servers.update operation) may run. */
    promoteTimeoutSeconds: z.number().int().positive().default(900),
    /** Failback after a standalone promotion: how long the new replica may take to replicate. */
    rebuildTimeoutMinutes: z.number().int().positive().default(240),
    /** How often the ARM operation and the server are polled. */
    pollIntervalMs: z.number().int().positive().default(5000),
  })
  .strict()
  .superRefine((a, ctx) => {
    for (const side of ['primary', 'secondary'] as const)
      if (!a[side].resourceGroup && !a.resourceGroup)
        ctx.addIssue({
          code: 'custom',
          path: [side, 'resourceGroup'],
          message: `no resource group for the ${side} server: set azureFlexible.resourceGroup or ${side}.resourceGroup`,
        });
    if (a.primary.serverName === a.secondary.serverName)
      ctx.addIssue({
        code: 'custom',
        path: ['secondary', 'serverName'],
        message: 'primary and secondary name the same server: a server cannot replicate to itself',
      });
  });

type Problem = (path: string, message: string) => void;

/** driver azure-flexible against the rest of the postgres block; other drivers against its block. */
export function checkAzureFlexibleDriver(
  p: {
    driver: string;
    azureFlexible?: unknown;
    resync?: unknown;
    fence: { method: string };
  },
  problem: Problem,
): void {
  if (p.driver !== 'azure-flexible') {
    if (p.azureFlexible)
      problem(
        'azureFlexible',
        'an `azureFlexible` block is for driver azure-flexible; set driver: azure-flexible or remove it',
      );
    return;
  }
  if (!p.azureFlexible)
    problem(
      'azureFlexible',
      'driver azure-flexible needs `azureFlexible` (subscriptionId, resourceGroup, primary and secondary serverName and location)',
    );
  if (p.resync)
    problem(
      'resync',
      'driver azure-flexible makes the old primary a replica through Azure (a switchover, or a new replica): remove `resync`',
    );
  // Flexible server gives no superuser (ALTER SYSTEM; parameters go through Azure) and no host.
  if (p.fence.method !== 'role')
    problem(
      'fence',
      `driver azure-flexible cannot fence with method ${p.fence.method}${p.fence.method === 'command' ? ': there is no host to run it on' : ' (the default): flexible server gives no superuser, so ALTER SYSTEM is refused'}. Set fence: { method: role, roles: [...] }, the login roles the application writes with`,
    );
}
