/**
 * Which PostgreSQL cluster the bot fails over: its system identifier, remembered whenever the
 * provider sees both sides answer with the same one. With the primary down, the secondary can
 * only be told apart from an unrelated server (a wrong URL, a DNS name moved elsewhere) by this
 * remembered identifier or by `components.postgres.systemIdentifier` in the config.
 *
 * A port, so the provider neither builds clients nor knows the store: `dr start` keeps it in the
 * bot's own Redis (it survives a restart of the bot while the primary is down); everything else
 * (CLI commands, tests) keeps it in memory for the provider's lifetime.
 */

/**
 * `cluster` names the pair by its primary's host:port, so a new cluster at a new address (a lab
 * created afresh) never meets an identifier remembered for an old one.
 */
export interface SystemIdentifierMemory {
  /** The identifier seen on both sides together last time, or null when never seen. */
  recall(cluster: string): Promise<string | null>;
  remember(cluster: string, systemIdentifier: string): Promise<void>;
}

export function memorySystemIdentifier(): SystemIdentifierMemory {
  const known = new Map<string, string>();
  return {
    recall: async (cluster) => known.get(cluster) ?? null,
    remember: async (cluster, id) => {
      known.set(cluster, id);
    },
  };
}

/** The two commands it needs, so any Redis client (ioredis) fits without this module importing one. */
export interface KeyValue {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
}

/** Kept under `<prefix><cluster>` (e.g. `dr:pg-system-identifier:<environment>:db1.internal:5432`) in the bot's state Redis. */
export function keyValueSystemIdentifier(kv: KeyValue, prefix: string): SystemIdentifierMemory {
  return {
    recall: (cluster) => kv.get(`${prefix}${cluster}`),
    remember: async (cluster, id) => {
      await kv.set(`${prefix}${cluster}`, id);
    },
  };
}
