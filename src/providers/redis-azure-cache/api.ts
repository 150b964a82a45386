/**
 * The two Premium caches as Azure Resource Manager describes them (Redis get: provisioningState,
 * SKU, location; linkedServers list: the geo-replication link and its roles), and the only two
 * switch calls the REST API (2024-11-01) offers for passive geo-replication: LinkedServer create
 * (link) and delete (unlink). It has no failover operation (see docs/redis-drivers.md).
 */
import { RedisManagementClient } from '@azure/arm-rediscache';
import type { TokenCredential } from '@azure/identity';
import type { Logger } from 'pino';
import type { RegionRole } from '../../domain/types.js';
import { errorInfo } from '../../errors.js';
import { armError, type ArmErrorWords } from '../arm-error.js';
import { describeAzureCredentialError, isAzureCredentialError } from '../azure-credential.js';

export const NAME = 'azure-cache';

const ARM_WORDS: ArmErrorWords = {
  driver: NAME,
  service: 'Azure Cache',
  page: "the cache's Geo-replication page",
  configKeys: 'subscriptionId, resourceGroup and name in components.redis.azureCache',
  resources: 'both caches',
};

interface CacheRef {
  resourceGroup: string;
  name: string;
}

export interface AzureCacheOptions {
  subscriptionId: string;
  primary: CacheRef;
  secondary: CacheRef;
  pauseWrites: boolean;
  /** Link and unlink are long-running ARM operations (a link copies the whole dataset). */
  operationTimeoutSeconds: number;
  pollIntervalMs: number;
  /** ARM endpoint override (the lab simulator). */
  endpoint?: string;
  ca?: string;
  credential: TokenCredential;
  log: Logger;
}

export interface CacheState {
  name: string;
  location: string;
  sku: string;
  /** Succeeded, Linking, Unlinking, ... (Redis get: properties.provisioningState). */
  provisioningState: string;
}

/** The geo-replication link as one cache lists it: the other cache's role and the link's state. */
export interface LinkState {
  /** The role of the *linked* (other) cache: Primary or Secondary. */
  otherRole: string;
  provisioningState: string;
}

export class AzureCacheApi {
  private readonly client: RedisManagementClient;

  constructor(private readonly opts: AzureCacheOptions) {
    this.client = new RedisManagementClient(opts.credential, opts.subscriptionId, {
      ...(opts.endpoint ? { endpoint: opts.endpoint, $host: opts.endpoint } : {}),
      ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
    });
  }

  cache(side: RegionRole): CacheRef {
    return this.opts[side];
  }

  resourceId(side: RegionRole): string {
    const c = this.opts[side];
    return `/subscriptions/${this.opts.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.Cache/Redis/${c.name}`;
  }

  async get(side: RegionRole): Promise<CacheState> {
    const c = this.opts[side];
    const r = await this.call(`reading cache ${c.name}`, () =>
      this.client.redis.get(c.resourceGroup, c.name),
    );
    return {
      name: c.name,
      location: r.location,
      sku: r.sku.name,
      provisioningState: r.provisioningState ?? 'unknown',
    };
  }

  /** The link of `side`'s cache to the other configured cache, as `side`'s cache lists it; null: none. */
  async link(side: RegionRole): Promise<LinkState | null> {
    const c = this.opts[side];
    const otherName = this.opts[side === 'primary' ? 'secondary' : 'primary'].name.toLowerCase();
    const links = await this.call(`listing the linked servers of ${c.name}`, async () => {
      const all = [];
      for await (const l of this.client.linkedServer.list(c.resourceGroup, c.name)) all.push(l);
      return all;
    });
    const l = links.find((x) => (x.name ?? '').toLowerCase() === otherName);
    return l
      ? {
          otherRole: l.serverRole ?? 'unknown',
          provisioningState: l.provisioningState ?? 'unknown',
        }
      : null;
  }

  /** LinkedServer create on `primary`'s cache naming the other as Secondary; waits for the operation. */
  async createLink(primary: RegionRole, secondaryLocation: string): Promise<void> {
    const p = this.opts[primary];
    const s = primary === 'primary' ? 'secondary' : 'primary';
    await this.call(`linking ${this.opts[s].name} as geo-secondary of ${p.name}`, () =>
      this.client.linkedServer.beginCreateAndWait(
        p.resourceGroup,
        p.name,
        this.opts[s].name,
        {
          linkedRedisCacheId: this.resourceId(s),
          linkedRedisCacheLocation: secondaryLocation,
          serverRole: 'Secondary',
        },
        { updateIntervalInMs: this.opts.pollIntervalMs, abortSignal: this.deadline() },
      ),
    );
  }

  /** LinkedServer delete from `from`'s cache (the side that must answer); waits for the operation. */
  async deleteLink(from: RegionRole): Promise<void> {
    const c = this.opts[from];
    const o = this.opts[from === 'primary' ? 'secondary' : 'primary'];
    await this.call(`unlinking ${o.name} from ${c.name}`, () =>
      this.client.linkedServer.beginDeleteAndWait(c.resourceGroup, c.name, o.name, {
        updateIntervalInMs: this.opts.pollIntervalMs,
        abortSignal: this.deadline(),
      }),
    );
  }

  private deadline(): AbortSignal {
    return AbortSignal.timeout(this.opts.operationTimeoutSeconds * 1000);
  }

  private async call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const mapped = armError(ARM_WORDS, doing, err, this.opts.operationTimeoutSeconds);
      if (isAzureCredentialError(err))
        this.opts.log.debug({ chain: describeAzureCredentialError(err).chain }, 'azure credential');
      this.opts.log.warn({ err: errorInfo(mapped) }, `${NAME}: ${doing} failed`);
      throw mapped;
    }
  }
}
