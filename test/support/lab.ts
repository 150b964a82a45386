/**
 * One lab per scenario for data-tier tests: `startLab()` in beforeAll (or a test), `stopLabs()` in
 * afterAll stops every lab this file started, so a failing test never leaves servers behind.
 */
import pg from 'pg';
import { pino, type Logger } from 'pino';
import { labDown, labUp, pgStop, labUser, type LabInfo } from '../../src/lab/index.js';
import {
  createPostgresProvider,
  type PostgresProviderOptions,
} from '../../src/providers/postgres/index.js';
import type { DatabaseProvider } from '../../src/providers/types.js';

const started: LabInfo[] = [];

export async function startLab(
  opts: { cloud?: boolean; walinspect?: boolean } = {},
): Promise<LabInfo> {
  // Data-tier tests need no cloud simulators: skip their process unless asked for. Nor pg_walinspect,
  // which `dr lab up` creates: tests of failback with and without it create it themselves.
  const info = await labUp({
    ...(opts.cloud ? {} : { parts: [] }),
    walinspect: opts.walinspect ?? false,
  });
  started.push(info);
  return info;
}

export async function stopLabs(): Promise<void> {
  const labs = started.splice(0);
  await Promise.all(labs.map((l) => labDown({ dir: l.dir })));
}

export const silentLog: Logger = pino({ level: 'silent' });

/** PostgreSQL provider options for a lab's two servers, with timeouts short enough for tests. */
export function labPostgresOptions(
  primaryUrl: string,
  secondaryUrl: string,
  extra: Partial<PostgresProviderOptions> = {},
): PostgresProviderOptions {
  return {
    primaryUrl,
    secondaryUrl,
    promoteTimeoutSeconds: 30,
    catchUpTimeoutSeconds: 30,
    fence: { method: 'read-only' },
    probe: { table: 'dr_probe' },
    consistencyTables: [],
    log: silentLog,
    connectTimeoutMs: 1500,
    ...extra,
  };
}

/** The PostgreSQL provider on a lab's two servers (labPostgresOptions). */
export function labPostgresProvider(
  primaryUrl: string,
  secondaryUrl: string,
  extra: Partial<PostgresProviderOptions> = {},
): DatabaseProvider {
  return createPostgresProvider(labPostgresOptions(primaryUrl, secondaryUrl, extra));
}

/** Run one statement on a fresh connection (tests must not share sessions with the code under test). */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Poll `probe` until it returns true (a readiness wait, not a timed assertion). */
export async function until(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What a crash looks like to the standby: the primary stops without a shutdown checkpoint. */
export async function crashPostgresPrimary(lab: LabInfo): Promise<void> {
  await pgStop(
    { bindir: lab.postgres.bindir, user: labUser(), socketDir: '' },
    lab.postgres.primary.dataDir,
    'immediate',
    lab.postgres.primary.pid,
  );
}

/** Cut the standby off from the primary (it keeps what it has received) so later writes never reach it. */
export async function holdPostgresReplication(lab: LabInfo): Promise<void> {
  const url = lab.postgres.secondary.url;
  await sql(url, `ALTER SYSTEM SET primary_conninfo = ''`);
  await sql(url, 'SELECT pg_reload_conf()');
  await until(
    'the standby to stop its WAL receiver',
    async () => (await sql(url, 'SELECT 1 FROM pg_stat_wal_receiver')).length === 0,
  );
}

/** Rows of the `orders` table the driver tests write to. */
export const countOrders = async (url: string): Promise<number> =>
  Number((await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM orders'))[0]!.n);

/** Insert rows into `orders` on `url` until stopped; returns how many commits were acknowledged. */
export function orderWriteLoad(url: string): { stop(): Promise<number> } {
  let acked = 0;
  let on = true;
  const loop = (async () => {
    while (on) {
      await sql(url, "INSERT INTO orders(note) VALUES ('load')")
        .then(() => void (acked += 1))
        .catch(() => new Promise((r) => setTimeout(r, 20)));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return acked;
    },
  };
}
