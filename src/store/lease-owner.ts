// Who holds an instance lease: the owner record a lease key stores as JSON, read back from the
// key, and the sentences a refused or waiting process says about it.

/** What a lease key says about its holder (as written by `ownerValue`). */
export interface LeaseOwner {
  id: string;
  host: string;
  pid: number;
  /** `dr start` or `dr console`. */
  command: string;
  /** ISO time the lease was taken. */
  since: string;
  /** The fencing token of this grant (a counter in Redis, one more per grant). */
  token?: number;
}

export interface LeaseHolder {
  /** The key's value as stored. */
  value: string;
  /** Parsed when the value is one of ours. */
  owner?: LeaseOwner;
  /** Milliseconds until it expires unless renewed; -1: it never expires. */
  ttlMs: number;
}

export function parseOwner(value: string): LeaseOwner | undefined {
  try {
    const o = JSON.parse(value) as Partial<LeaseOwner>;
    if (
      typeof o.id === 'string' &&
      typeof o.host === 'string' &&
      typeof o.pid === 'number' &&
      typeof o.command === 'string' &&
      typeof o.since === 'string'
    ) {
      const owner = { id: o.id, host: o.host, pid: o.pid, command: o.command, since: o.since };
      return typeof o.token === 'number' ? { ...owner, token: o.token } : owner;
    }
  } catch {
    // Not one of ours.
  }
  return undefined;
}

/** "dr-bot on host web-1 (pid 42)" / "dr console on host …"; an unknown value is quoted. */
export function describeOwner(value: string): string {
  const owner = parseOwner(value);
  if (!owner)
    return `an unknown holder (${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)})`;
  const who = owner.command === 'dr start' ? 'dr-bot' : owner.command;
  return `${who} on host ${owner.host} (pid ${owner.pid})`;
}

/** The sentence a refused or waiting process says about the holder. */
export function describeHolder(holder: LeaseHolder, environment: string): string {
  const since = holder.owner ? ` since ${holder.owner.since}` : '';
  const expiry =
    holder.ttlMs === -1 ? ' (the key never expires: delete it if no instance runs)' : '';
  return `${describeOwner(holder.value)} is running environment ${environment}${since}${expiry}`;
}
