/**
 * A simulator of the Aurora Global Database part of the RDS query API, for the aurora-global
 * driver, in front of the lab's real PostgreSQL pair (one server per region stands for that
 * region's DB cluster). SwitchoverGlobalCluster really fences the writer, waits until the target
 * replayed its last WAL, promotes it and rewinds the old writer into a standby of the new one;
 * FailoverGlobalCluster promotes at once (what was not replicated is really lost) and re-adds
 * the old region as a secondary on a new volume once its server answers again, after keeping a
 * snapshot name for the old volume. Answers in the RDS query wire format (rds-query.ts).
 */
import type { RegionRole } from '../../domain/types.js';
import { readLabInfo } from '../manifest.js';
import { pgQuery } from '../postgres.js';
import { labResync } from '../resync.js';
import { startHttpSim, type HttpSim } from './http-sim.js';
import { RdsFault, rdsQueryHandler } from './rds-query.js';
import { escapeXml } from './xml.js';

interface SimAuroraCluster {
  id: string;
  region: string;
  /** The lab server that stands for the cluster's storage volume and writer. */
  server: RegionRole;
  engineVersion: string;
  /** DB instances of the cluster; none: a headless secondary. */
  instances: string[];
  isWriter: boolean;
  synchronization: 'connected' | 'pending-resync';
}

interface SimFailoverState {
  status: 'pending' | 'switching-over' | 'failing-over' | 'cancelling';
  from: string;
  to: string;
  dataLossAllowed: boolean;
}

interface SimClusterSnapshot {
  id: string;
  cluster: string;
  region: string;
  createdAt: string;
  /** The old volume's last WAL position, when its server answered. */
  lsn: string | null;
}

interface SimGlobalCluster {
  id: string;
  status: string;
  engineVersion: string;
  failoverState: SimFailoverState | null;
  members: SimAuroraCluster[];
  snapshots: SimClusterSnapshot[];
}

export interface AuroraSim {
  readonly url: string;
  readonly sim: HttpSim;
  readonly global: SimGlobalCluster;
  /** Switchovers and failovers started by a call that are still running (not a pending rejoin). */
  settled(): Promise<void>;
  close(): Promise<void>;
}

type Options = { labDir: string; accountId: string };

const ENGINE = 'aurora-postgresql';

class AuroraControlPlane {
  readonly running = new Set<Promise<void>>();
  private closed = false;
  constructor(
    readonly opts: Options,
    readonly global: SimGlobalCluster,
  ) {}

  close(): void {
    this.closed = true;
  }

  arn(c: SimAuroraCluster): string {
    return `arn:aws:rds:${c.region}:${this.opts.accountId}:cluster:${c.id}`;
  }

  url(c: SimAuroraCluster): string {
    return readLabInfo(this.opts.labDir).postgres[c.server].url;
  }

  private globalCluster(p: URLSearchParams): SimGlobalCluster {
    const id = p.get('GlobalClusterIdentifier');
    if (!id) throw new RdsFault('MissingParameter', 'GlobalClusterIdentifier is required');
    if (id !== this.global.id)
      throw new RdsFault('GlobalClusterNotFoundFault', `Global cluster ${id} not found.`, 404);
    return this.global;
  }

  /** API_FailoverGlobalCluster, TargetDbClusterIdentifier: "Use the ARN ... so that Aurora can locate the cluster in its Region". */
  private member(region: string, ref: string | null): SimAuroraCluster {
    if (!ref) throw new RdsFault('MissingParameter', 'TargetDbClusterIdentifier is required');
    const c = this.global.members.find((m) =>
      ref.startsWith('arn:') ? this.arn(m) === ref : m.id === ref && m.region === region,
    );
    if (!c)
      throw new RdsFault(
        'DBClusterNotFoundFault',
        `DBCluster ${ref} is not a member of global cluster ${this.global.id}.`,
        404,
      );
    return c;
  }

  private writer(): SimAuroraCluster | undefined {
    return this.global.members.find((m) => m.isWriter);
  }

  /** What AWS refuses about a switchover or failover to `target`, both operations alike. */
  private refuse(target: SimAuroraCluster): void {
    const g = this.global;
    // API_FailoverState: "empty unless a switchover or failover operation is scheduled or is in progress".
    if (g.failoverState)
      throw new RdsFault(
        'InvalidGlobalClusterStateFault',
        `Global cluster ${g.id} already has a ${g.failoverState.dataLossAllowed ? 'failover' : 'switchover'} ${g.failoverState.status}.`,
      );
    if (g.status !== 'available')
      throw new RdsFault(
        'InvalidGlobalClusterStateFault',
        `Global cluster ${g.id} is ${g.status}, not available.`,
      );
    if (target.isWriter)
      throw new RdsFault(
        'InvalidDBClusterStateFault',
        `DB cluster ${target.id} is already the primary cluster of ${g.id}.`,
      );
    // aurora-global-database-disaster-recovery, Note: "Before you can perform a switchover or
    // failover to a headless secondary Aurora DB cluster, you must add a DB instance to it."
    if (target.instances.length === 0)
      throw new RdsFault(
        'InvalidDBClusterStateFault',
        `DB cluster ${target.id} has no DB instance (headless): add one before a switchover or failover.`,
      );
    // aurora-global-database-disaster-recovery: managed switchovers and failovers need "the same
    // major and minor engine versions" and, depending on the version, the same patch level; the
    // lab takes the strict reading and refuses any difference.
    const versions = new Set(g.members.map((m) => m.engineVersion));
    if (versions.size > 1)
      throw new RdsFault(
        'InvalidDBClusterStateFault',
        `The members of ${g.id} run different engine versions (${[...versions].join(', ')}): upgrade them to the same version first.`,
      );
  }

  background(work: () => Promise<void>, what: string): void {
    const p = work()
      .catch((err: unknown) => {
        // RDS shows only the states; the cause goes to the simulator's log (DIR/aurora/aurora.log).
        console.error(
          `aurora simulator: ${what} failed:`,
          err instanceof Error ? err.message : err,
        );
        if (this.global.failoverState) this.global.failoverState = null;
        this.global.status = 'available';
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  DescribeGlobalClusters(_region: string, p: URLSearchParams): string {
    const all = p.get('GlobalClusterIdentifier') ? [this.globalCluster(p)] : [this.global];
    // The SDK's GlobalClusterList names each item GlobalClusterMember, as RDS answers it.
    return `<GlobalClusters>${all.map((g) => this.globalXml(g, 'GlobalClusterMember')).join('')}</GlobalClusters>`;
  }

  DescribeDBClusters(region: string, p: URLSearchParams): string {
    const ref = p.get('DBClusterIdentifier');
    const inRegion = this.global.members.filter((m) => m.region === region);
    const found = ref ? inRegion.filter((m) => m.id === ref || this.arn(m) === ref) : inRegion;
    // API_DescribeDBClusters: an identifier that names no cluster is DBClusterNotFoundFault.
    if (ref && found.length === 0)
      throw new RdsFault('DBClusterNotFoundFault', `DBCluster ${ref} not found.`, 404);
    return `<DBClusters>${found.map((c) => this.clusterXml(c)).join('')}</DBClusters>`;
  }

  DescribeDBClusterSnapshots(region: string, p: URLSearchParams): string {
    const cluster = p.get('DBClusterIdentifier');
    const type = p.get('SnapshotType');
    const found = this.global.snapshots.filter(
      (s) =>
        s.region === region &&
        (!cluster || s.cluster === cluster) &&
        (!type || type === 'automated'),
    );
    return `<DBClusterSnapshots>${found
      .map(
        (s) =>
          `<DBClusterSnapshot><DBClusterSnapshotIdentifier>${escapeXml(s.id)}</DBClusterSnapshotIdentifier><DBClusterIdentifier>${escapeXml(s.cluster)}</DBClusterIdentifier><SnapshotCreateTime>${s.createdAt}</SnapshotCreateTime><Engine>${ENGINE}</Engine><SnapshotType>automated</SnapshotType><Status>available</Status></DBClusterSnapshot>`,
      )
      .join('')}</DBClusterSnapshots>`;
  }

  SwitchoverGlobalCluster(region: string, p: URLSearchParams): string {
    const g = this.globalCluster(p);
    const target = this.member(region, p.get('TargetDbClusterIdentifier'));
    this.refuse(target);
    const from = this.writer();
    // aurora-global-database-disaster-recovery, switchover-global-cluster: "--region – Specify the
    // AWS Region where the primary DB cluster of the Aurora global database is running."
    if (!from || from.region !== region)
      throw new RdsFault(
        'InvalidParameterValue',
        `Send SwitchoverGlobalCluster to the primary cluster's Region (${from?.region ?? 'none'}), not ${region}.`,
      );
    // Switchovers are for healthy global databases: every member must be in sync.
    const unsynced = g.members.find((m) => m.synchronization !== 'connected');
    if (unsynced)
      throw new RdsFault(
        'InvalidGlobalClusterStateFault',
        `DB cluster ${unsynced.id} is ${unsynced.synchronization}: a switchover needs every member connected.`,
      );
    g.failoverState = {
      status: 'pending',
      from: this.arn(from),
      to: this.arn(target),
      dataLossAllowed: false,
    };
    g.status = 'switching-over';
    this.background(() => this.switchover(from, target), `switchover to ${target.id}`);
    return this.globalXml(g);
  }

  FailoverGlobalCluster(region: string, p: URLSearchParams): string {
    const g = this.globalCluster(p);
    const target = this.member(region, p.get('TargetDbClusterIdentifier'));
    const allowDataLoss = p.get('AllowDataLoss') === 'true';
    // API_FailoverGlobalCluster: failing over is AllowDataLoss without Switchover; the lab
    // serves switchovers through SwitchoverGlobalCluster only.
    if (!allowDataLoss || p.get('Switchover') === 'true')
      throw new RdsFault(
        'InvalidParameterCombination',
        'the lab simulator fails over with AllowDataLoss=true only; switch over with SwitchoverGlobalCluster',
      );
    this.refuse(target);
    // failover-global-cluster: "--region – Specify the AWS Region where the secondary DB cluster
    // that you want to be the new primary ... is running" (the primary's may be down).
    if (target.region !== region)
      throw new RdsFault(
        'InvalidParameterValue',
        `Send FailoverGlobalCluster to the target cluster's Region (${target.region}), not ${region}.`,
      );
    const from = this.writer();
    g.failoverState = {
      status: 'pending',
      from: from ? this.arn(from) : '',
      to: this.arn(target),
      dataLossAllowed: true,
    };
    g.status = 'failing-over';
    this.background(() => this.failover(from, target), `failover to ${target.id}`);
    return this.globalXml(g);
  }

  /** The real switchover on the lab's servers: fence, catch up, promote, rewind the old writer. */
  private async switchover(from: SimAuroraCluster, to: SimAuroraCluster): Promise<void> {
    const g = this.global;
    await verifying();
    g.failoverState!.status = 'switching-over';
    // Switchover: "it waits for the target secondary Region clusters to be fully synchronized
    // with the primary Region cluster. Then, the DB cluster in the primary Region becomes read-only."
    const finalLsn = await fence(this.url(from));
    await waitForReplay(this.url(to), finalLsn);
    await promote(this.url(to));
    // "The switchover mechanism maintains your global database's existing replication topology."
    await labResync({ dir: this.opts.labDir, standby: from.server, method: 'rewind' });
    from.isWriter = false;
    to.isWriter = true;
    from.synchronization = 'connected';
    g.failoverState = null;
    g.status = 'available';
  }

  /** Promote at once; re-add the old region as a secondary once its server answers again. */
  private async failover(from: SimAuroraCluster | undefined, to: SimAuroraCluster): Promise<void> {
    const g = this.global;
    await verifying();
    g.failoverState!.status = 'failing-over';
    // Managed failover: "Aurora also attempts to halt write traffic ... 'write fencing'" (best effort).
    if (from) await fence(this.url(from)).catch(() => undefined);
    await promote(this.url(to));
    to.isWriter = true;
    to.synchronization = 'connected';
    if (from) {
      from.isWriter = false;
      from.synchronization = 'pending-resync';
    }
    g.failoverState = null;
    g.status = 'available';
    if (from) void this.rejoin(from, to);
  }

  /**
   * "As soon as that Region is healthy and available again, Aurora automatically adds it back ...
   * Before creating the new storage volume ... Aurora tries to take a snapshot of the old storage
   * volume at the point of failure ... named rds:unplanned-global-failover-name-of-old-primary-
   * DB-cluster-timestamp" (aurora-global-database-disaster-recovery, managed failovers).
   */
  private async rejoin(old: SimAuroraCluster, writer: SimAuroraCluster): Promise<void> {
    let lsn: string | null | undefined;
    while (!this.closed && lsn === undefined) {
      // The region is back once `dr lab restore` has finished with it (lab.json has no outage).
      const out = readLabInfo(this.opts.labDir).outage?.region === old.server;
      lsn = out
        ? undefined
        : await pgQuery<{ lsn: string | null }>(
            this.url(old),
            'SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END::text AS lsn',
          )
            .then((rows) => rows[0].lsn)
            .catch(() => undefined);
      if (lsn === undefined) await new Promise((r) => setTimeout(r, 300));
    }
    if (this.closed) return;
    const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
    this.global.snapshots.push({
      id: `rds:unplanned-global-failover-${old.id}-${stamp}`,
      cluster: old.id,
      region: old.region,
      createdAt: new Date().toISOString(),
      lsn: lsn ?? null,
    });
    this.background(async () => {
      // A new storage volume: a fresh copy of the new primary, never a rewind of the old one.
      await labResync({ dir: this.opts.labDir, standby: old.server, method: 'rebuild' });
      if (writer.isWriter) old.synchronization = 'connected';
    }, `re-adding ${old.id}`);
  }

  globalXml(g: SimGlobalCluster, tag = 'GlobalCluster'): string {
    const f = g.failoverState;
    const members = g.members
      .map((m) => {
        const readers = m.isWriter
          ? g.members
              .filter((r) => !r.isWriter)
              .map((r) => `<member>${this.arn(r)}</member>`)
              .join('')
          : '';
        return `<GlobalClusterMember><DBClusterArn>${this.arn(m)}</DBClusterArn><Readers>${readers}</Readers><IsWriter>${m.isWriter}</IsWriter><SynchronizationStatus>${m.synchronization}</SynchronizationStatus></GlobalClusterMember>`;
      })
      .join('');
    const failover = f
      ? `<FailoverState><Status>${f.status}</Status><FromDbClusterArn>${f.from}</FromDbClusterArn><ToDbClusterArn>${f.to}</ToDbClusterArn><IsDataLossAllowed>${f.dataLossAllowed}</IsDataLossAllowed></FailoverState>`
      : '';
    return `<${tag}><GlobalClusterIdentifier>${escapeXml(g.id)}</GlobalClusterIdentifier><GlobalClusterArn>arn:aws:rds::${this.opts.accountId}:global-cluster:${escapeXml(g.id)}</GlobalClusterArn><Status>${g.status}</Status><Engine>${ENGINE}</Engine><EngineVersion>${g.engineVersion}</EngineVersion><GlobalClusterMembers>${members}</GlobalClusterMembers>${failover}</${tag}>`;
  }

  clusterXml(c: SimAuroraCluster): string {
    const port = readLabInfo(this.opts.labDir).postgres[c.server].port;
    const members = c.instances
      .map(
        (i, n) =>
          `<DBClusterMember><DBInstanceIdentifier>${escapeXml(i)}</DBInstanceIdentifier><IsClusterWriter>${c.isWriter && n === 0}</IsClusterWriter></DBClusterMember>`,
      )
      .join('');
    return `<DBCluster><DBClusterIdentifier>${escapeXml(c.id)}</DBClusterIdentifier><DBClusterArn>${this.arn(c)}</DBClusterArn><Status>available</Status><Engine>${ENGINE}</Engine><EngineVersion>${c.engineVersion}</EngineVersion><Endpoint>127.0.0.1</Endpoint><Port>${port}</Port><GlobalClusterIdentifier>${escapeXml(this.global.id)}</GlobalClusterIdentifier><DBClusterMembers>${members}</DBClusterMembers></DBCluster>`;
  }
}

/**
 * API_FailoverState, pending: "The global cluster's primary DB cluster and the specified secondary
 * DB cluster are being verified before the operation starts" (a moment, so callers can see it).
 */
const verifying = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

/** Make the writer read-only for everyone and end its sessions; returns its final flushed LSN. */
async function fence(url: string): Promise<string> {
  await pgQuery(url, 'ALTER SYSTEM SET default_transaction_read_only = on');
  await pgQuery(url, 'SELECT pg_reload_conf()');
  // A session that began its transaction before the reload could still commit: end them all.
  await pgQuery(
    url,
    `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
  );
  const [row] = await pgQuery<{ lsn: string }>(
    url,
    'SELECT pg_current_wal_flush_lsn()::text AS lsn',
  );
  return row.lsn;
}

async function waitForReplay(url: string, lsn: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await pgQuery<{ done: boolean }>(
      url,
      'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done',
      [lsn],
    );
    if (row.done) return;
    if (Date.now() > deadline) throw new Error(`the target did not replay ${lsn} in time`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function promote(url: string): Promise<void> {
  await pgQuery(url, 'SELECT pg_promote(true, 60)');
  // A fence copied into its configuration by an earlier rewind must not follow it as a writer.
  await pgQuery(url, 'ALTER SYSTEM RESET default_transaction_read_only');
  await pgQuery(url, 'SELECT pg_reload_conf()');
}

export async function startAuroraSimulator(opts: {
  labDir: string;
  accountId: string;
  globalClusterIdentifier: string;
  engineVersion: string;
  members: Omit<SimAuroraCluster, 'synchronization'>[];
}): Promise<AuroraSim> {
  const global: SimGlobalCluster = {
    id: opts.globalClusterIdentifier,
    status: 'available',
    engineVersion: opts.engineVersion,
    failoverState: null,
    members: opts.members.map((m) => ({ ...m, synchronization: 'connected' })),
    snapshots: [],
  };
  const plane = new AuroraControlPlane(opts, global);
  const actions = {
    DescribeGlobalClusters: plane.DescribeGlobalClusters.bind(plane),
    DescribeDBClusters: plane.DescribeDBClusters.bind(plane),
    DescribeDBClusterSnapshots: plane.DescribeDBClusterSnapshots.bind(plane),
    SwitchoverGlobalCluster: plane.SwitchoverGlobalCluster.bind(plane),
    FailoverGlobalCluster: plane.FailoverGlobalCluster.bind(plane),
  };
  const sim = await startHttpSim(rdsQueryHandler(actions));
  const running = plane.running;
  return {
    url: sim.url,
    sim,
    global,
    settled: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    close: async () => {
      plane.close();
      await Promise.all([...running]).catch(() => undefined);
      await sim.close();
    },
  };
}
