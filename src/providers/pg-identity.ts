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

export interface SystemIdentifierMemory {
  /** The identifier seen on both sides together last time, or null when never seen. */
  recall(): Promise<string | null>;
  remember(systemIdentifier: string): Promise<void>;
}

export function memorySystemIdentifier(initial: string | null = null): SystemIdentifierMemory {
  let known = initial;
  return {
    recall: async () => known,
    remember: async (id) => {
      known = id;
    },
  };
}

/** The two commands it needs, so any Redis client (ioredis) fits without this module importing one. */
export interface KeyValue {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
}

/** Kept under `key` (e.g. `dr:pg-system-identifier:<environment>`) in the bot's state Redis. */
export function keyValueSystemIdentifier(kv: KeyValue, key: string): SystemIdentifierMemory {
  return {
    recall: () => kv.get(key),
    remember: async (id) => {
      await kv.set(key, id);
    },
  };
}
