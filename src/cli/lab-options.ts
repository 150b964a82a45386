/**
 * The options `dr lab up` and `dr demo` share: which cloud, and which driver or method the lab
 * config uses for each component.
 */
import { Option, type Command } from 'commander';

/** `--cloud` of `dr lab up` and `dr demo`: which cloud's services the lab config uses. */
export function cloudOption(): Option {
  return new Option(
    '--cloud <cloud>',
    'aws: Route 53, S3; azure: Traffic Manager, Blob (Azurite), Resource Health, a local Entra ID',
  )
    .choices(['aws', 'azure'])
    .default('aws');
}

/** `--redis <driver>` of `dr lab up` and `dr demo`. */
export function redisDriverOption(): Option {
  return new Option(
    '--redis <driver>',
    'the cache driver of the lab config: elasticache-global puts an ElastiCache simulator in front of the Redis pair, azure-cache (with --cloud azure) an Azure Cache for Redis one',
  ).choices(['replication', 'elasticache-global', 'azure-cache']);
}

/** `--redis azure-cache` and `--postgres azure-flexible` sign in with the lab's Entra ID, which only `--cloud azure` starts. */
export function azureCacheNeedsAzure(command: Command): Command {
  return command.hook('preAction', (cmd) => {
    const o = cmd.opts<{ cloud?: string; redis?: string; postgres?: string }>();
    if (o.redis === 'azure-cache' && o.cloud !== 'azure')
      cmd.error(
        "error: --redis azure-cache needs --cloud azure (the cache API checks the lab Entra ID's tokens)",
        { exitCode: 2, code: 'dr.azureCacheWithoutAzure' },
      );
    if (o.postgres === 'azure-flexible' && o.cloud !== 'azure')
      cmd.error(
        "error: --postgres azure-flexible needs --cloud azure (the flexible server API checks the lab Entra ID's tokens)",
        { exitCode: 2, code: 'dr.azureFlexibleWithoutAzure' },
      );
  });
}

/** `--postgres <driver>` of `dr lab up` and `dr demo`. */
export function postgresDriverOption(): Option {
  return new Option(
    '--postgres <driver>',
    'the database driver of the lab config: rds-replica puts an RDS simulator in front of the PostgreSQL pair (promotion and failback rebuild through the RDS API); aurora-global puts an Aurora Global Database simulator in front of it (SwitchoverGlobalCluster, FailoverGlobalCluster); cloudnative-pg serves two CloudNativePG Clusters from the Kubernetes simulators, their operator acting on the pair; azure-flexible (with --cloud azure) an Azure flexible server simulator in front of the pair (switchover through virtual endpoints)',
  ).choices(['streaming', 'rds-replica', 'aurora-global', 'cloudnative-pg', 'azure-flexible']);
}

/** `--dns <method>` of `dr lab up` and `dr demo`. */
export function dnsMethodOption(): Option {
  return new Option(
    '--dns <method>',
    'the DNS switch of the lab config (AWS): route53 (failover records, default) or route53-arc (ARC routing controls through the cluster endpoints, not the us-east-1 control plane)',
  ).choices(['route53', 'route53-arc']);
}
