/**
 * The two flexible servers as Azure Resource Manager describes them (Servers - Get: state, replica
 * role and replication state, tier, storage; Virtual Endpoints - List), and the two changes the
 * azure-flexible driver makes: a promotion (Servers - Update with replica.promoteMode and
 * promoteOption) and, for a failback after a standalone promotion, a new read replica (Servers -
 * Create with createMode Replica). Both are long-running operations the SDK polls.
 */
import { PostgreSQLManagementFlexibleServerClient } from '@azure/arm-postgresql-flexible';
import type { TokenCredential } from '@azure/identity';
import type { Logger } from 'pino';
import type { RegionRole } from '../../domain/types.js';
import { errorInfo, PreconditionFailed } from '../../errors.js';
import { armError, type ArmErrorWords } from '../arm-error.js';
import { describeAzureCredentialError, isAzureCredentialError } from '../azure-credential.js';

export const DRIVER = 'azure-flexible';

const ARM_WORDS: ArmErrorWords = {
  driver: DRIVER,
  service: 'Azure flexible server',
  page: "the server's Replication page",
  configKeys: 'subscriptionId, resourceGroup and serverName in components.postgres.azureFlexible',
  resources: 'both servers',
};

interface ServerRef {
  serverName: string;
  resourceGroup?: string;
  location: string;
}

export interface AzureFlexibleOptions {
  subscriptionId: string;
  resourceGroup?: string;
  primary: ServerRef;
  secondary: ServerRef;
  virtualEndpoint?: string;
  endpoint?: string;
  promoteTimeoutSeconds: number;
  rebuildTimeoutMinutes: number;
  pollIntervalMs: number;
  credential: TokenCredential;
  ca?: string;
  log: Logger;
}

export interface FlexServer {
  name: string;
  /** Ready, Updating, Provisioning, Stopped, ... */
  state: string;
  /** Primary, AsyncReplica, GeoAsyncReplica, None. */
  role: string;
  /** Active, Catchup, Provisioning, Updating, Broken, Reconfiguring; null on a primary. */
  replicationState: string | null;
  /** The replica's source server name; null on a primary or standalone server. */
  source: string | null;
  tier: string;
  storageGB: number | null;
}

interface FlexVirtualEndpoint {
  name: string;
  /** The reader endpoint's target(s): the replica a switchover may promote. */
  members: string[];
}

export const isReplicaRole = (role: string): boolean => /replica/i.test(role);

export class AzureFlexibleApi {
  private readonly client: PostgreSQLManagementFlexibleServerClient;

  constructor(private readonly opts: AzureFlexibleOptions) {
    this.client = new PostgreSQLManagementFlexibleServerClient(
      opts.credential,
      opts.subscriptionId,
      {
        ...(opts.endpoint ? { endpoint: opts.endpoint, $host: opts.endpoint } : {}),
        ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
      },
    );
  }

  name(side: RegionRole): string {
    return this.opts[side].serverName;
  }

  group(side: RegionRole): string {
    return this.opts[side].resourceGroup ?? this.opts.resourceGroup ?? '';
  }

  resourceId(side: RegionRole): string {
    return `/subscriptions/${this.opts.subscriptionId}/resourceGroups/${this.group(side)}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${this.name(side)}`;
  }

  /** The side's server, or null when Azure has none by that name. */
  async get(side: RegionRole): Promise<FlexServer | null> {
    const name = this.name(side);
    try {
      const s = await this.call(`reading server ${name}`, () =>
        this.client.servers.get(this.group(side), name),
      );
      const source = s.sourceServerResourceId
        ? (/\/flexibleServers\/([^/]+)$/i.exec(s.sourceServerResourceId)?.[1] ?? null)
        : null;
      return {
        name,
        state: s.state ?? 'unknown',
        role: s.replica?.role ?? s.replicationRole ?? 'None',
        replicationState: s.replica?.replicationState ?? null,
        source,
        tier: s.sku?.tier ?? 'unknown',
        storageGB: s.storage?.storageSizeGB ?? null,
      };
    } catch (err) {
      if (err instanceof PreconditionFailed && err.code === 'not-found') return null;
      throw err;
    }
  }

  /** The virtual endpoints defined on the side's server (they live on the primary). */
  async virtualEndpoints(side: RegionRole): Promise<FlexVirtualEndpoint[]> {
    const name = this.name(side);
    return this.call(`listing the virtual endpoints of ${name}`, async () => {
      const all: FlexVirtualEndpoint[] = [];
      for await (const v of this.client.virtualEndpoints.listByServer(this.group(side), name))
        all.push({ name: v.name ?? '', members: v.members ?? [] });
      return all;
    });
  }

  /** Servers - Update on the replica: promote it; waits for the long-running operation. */
  async promote(
    side: RegionRole,
    promoteMode: 'switchover' | 'standalone',
    promoteOption: 'planned' | 'forced',
  ): Promise<void> {
    const name = this.name(side);
    await this.call(
      `promoting ${name} (${promoteMode}, ${promoteOption})`,
      () =>
        this.client.servers.beginUpdateAndWait(
          this.group(side),
          name,
          { replica: { promoteMode, promoteOption } },
          {
            updateIntervalInMs: this.opts.pollIntervalMs,
            abortSignal: AbortSignal.timeout(this.opts.promoteTimeoutSeconds * 1000),
          },
        ),
      this.opts.promoteTimeoutSeconds,
    );
  }

  /** Servers - Create with createMode Replica: a new read replica of `source`'s server. */
  async createReplica(side: RegionRole, source: RegionRole): Promise<void> {
    const name = this.name(side);
    const seconds = this.opts.rebuildTimeoutMinutes * 60;
    await this.call(
      `creating ${name} as a read replica of ${this.name(source)}`,
      () =>
        this.client.servers.beginCreateOrUpdateAndWait(
          this.group(side),
          name,
          {
            location: this.opts[side].location,
            createMode: 'Replica',
            sourceServerResourceId: this.resourceId(source),
          },
          {
            updateIntervalInMs: this.opts.pollIntervalMs,
            abortSignal: AbortSignal.timeout(seconds * 1000),
          },
        ),
      seconds,
    );
  }

  private async call<T>(doing: string, fn: () => Promise<T>, timeoutSeconds = 60): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const mapped = armError(ARM_WORDS, doing, err, timeoutSeconds);
      if (isAzureCredentialError(err))
        this.opts.log.debug({ chain: describeAzureCredentialError(err).chain }, 'azure credential');
      if (mapped.code !== 'not-found')
        this.opts.log.warn({ err: errorInfo(mapped) }, `${DRIVER}: ${doing} failed`);
      throw mapped;
    }
  }
}
