/**
 * A simulator of the RDS query API (form-encoded Action=…&Version=2014-10-31, XML answers) for the
 * rds-replica driver, in front of the lab's real PostgreSQL servers: PromoteReadReplica promotes
 * the real standby, CreateDBInstanceReadReplica rebuilds the region's server as a standby of the
 * source (the lab's resync), so zero loss and loss are real. One server per region: a new replica
 * takes the region's server, and the renamed old instance on it is gone.
 */
import type { RegionRole } from '../../domain/types.js';
import { readLabInfo } from '../manifest.js';
import { pgQuery } from '../postgres.js';
import { labResync } from '../resync.js';
import { startHttpSim, type HttpSim } from './http-sim.js';
import { RdsFault, rdsQueryHandler } from './rds-query.js';
import { escapeXml } from './xml.js';

interface SimDbInstance {
  id: string;
  region: string;
  /** The lab server behind it. */
  server: RegionRole;
  status: string;
  /** The source's identifier (same region) or ARN (cross-region), as RDS shows it. */
  source: string | null;
  backupRetentionPeriod: number;
}

export interface RdsSim {
  readonly url: string;
  readonly sim: HttpSim;
  readonly instances: Map<string, SimDbInstance>;
  /** Operations started by a call (promotion, rebuild) that are still running. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const ACTIONS = [
  'DescribeDBInstances',
  'PromoteReadReplica',
  'ModifyDBInstance',
  'CreateDBInstanceReadReplica',
] as const;

type Options = { labDir: string; accountId: string };

/** The control plane's state and its actions, one method per RDS action. */
class RdsControlPlane {
  readonly running = new Set<Promise<void>>();
  constructor(
    readonly opts: Options,
    readonly instances: Map<string, SimDbInstance>,
  ) {}

  arn(i: SimDbInstance): string {
    return `arn:aws:rds:${i.region}:${this.opts.accountId}:db:${i.id}`;
  }

  background(i: SimDbInstance, busy: string, work: () => Promise<void>): void {
    i.status = busy;
    const p = work()
      .then(() => void (i.status = 'available'))
      .catch((err: unknown) => {
        // RDS shows only the status; the cause goes to the simulator's log (DIR/rds/rds.log in the lab).
        console.error(
          `rds simulator: ${busy} ${i.id} failed:`,
          err instanceof Error ? err.message : err,
        );
        i.status = 'failed';
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** An instance by identifier in the caller's region: another region's instance is not found. */
  find(region: string, id: string | undefined): SimDbInstance {
    if (!id) throw new RdsFault('MissingParameter', 'DBInstanceIdentifier is required');
    const i = this.instances.get(id.toLowerCase());
    if (!i || i.region !== region)
      throw new RdsFault('DBInstanceNotFound', `DBInstance ${id} not found.`, 404);
    return i;
  }

  DescribeDBInstances(region: string, p: URLSearchParams): SimDbInstance[] | SimDbInstance {
    const id = p.get('DBInstanceIdentifier');
    if (id) return [this.find(region, id)];
    return [...this.instances.values()].filter((i) => i.region === region);
  }
  PromoteReadReplica(region: string, p: URLSearchParams): SimDbInstance[] | SimDbInstance {
    const i = this.find(region, p.get('DBInstanceIdentifier') ?? undefined);
    // API_PromoteReadReplica, DBInstanceIdentifier: "Must match the identifier of an existing read replica DB instance."
    if (!i.source)
      throw new RdsFault('InvalidDBInstanceState', `DB instance ${i.id} is not a read replica.`);
    // API_PromoteReadReplica, Note: "a read replica cannot be promoted ... when it is in the backing-up status".
    if (i.status !== 'available')
      throw new RdsFault(
        'InvalidDBInstanceState',
        `DB instance ${i.id} is not in available state (it is ${i.status}).`,
      );
    const url = readLabInfo(this.opts.labDir).postgres[i.server].url;
    // USER_ReadRepl.Promote: RDS stops replication and reboots the replica; it is `modifying` meanwhile.
    this.background(i, 'modifying', async () => {
      await pgQuery(url, 'SELECT pg_promote(true, 60)');
      i.source = null;
      // API_PromoteReadReplica, BackupRetentionPeriod: "Default: 1" (backups on after promotion).
      i.backupRetentionPeriod = Number(p.get('BackupRetentionPeriod') ?? 1);
    });
    return i;
  }
  ModifyDBInstance(region: string, p: URLSearchParams): SimDbInstance[] | SimDbInstance {
    const i = this.find(region, p.get('DBInstanceIdentifier') ?? undefined);
    const newId = p.get('NewDBInstanceIdentifier');
    const others = [...p.keys()].filter(
      (k) =>
        ![
          'Action',
          'Version',
          'DBInstanceIdentifier',
          'NewDBInstanceIdentifier',
          'ApplyImmediately',
        ].includes(k),
    );
    if (!newId || others.length > 0)
      throw new RdsFault(
        'InvalidParameterCombination',
        'the lab simulator renames only (NewDBInstanceIdentifier)',
      );
    // API_ModifyDBInstance, NewDBInstanceIdentifier: the new identifier must not name another instance.
    if (this.instances.has(newId.toLowerCase()))
      throw new RdsFault('DBInstanceAlreadyExists', `DB instance ${newId} already exists.`);
    this.instances.delete(i.id);
    i.id = newId.toLowerCase();
    this.instances.set(i.id, i);
    return i;
  }
  CreateDBInstanceReadReplica(region: string, p: URLSearchParams): SimDbInstance[] | SimDbInstance {
    const id = (p.get('DBInstanceIdentifier') ?? '').toLowerCase();
    const sourceRef = p.get('SourceDBInstanceIdentifier') ?? '';
    if (!id || !sourceRef)
      throw new RdsFault(
        'MissingParameter',
        'DBInstanceIdentifier and SourceDBInstanceIdentifier are required',
      );
    // API_CreateDBInstanceReadReplica, errors: DBInstanceAlreadyExists "The user already has a DB instance with the given identifier."
    if (this.instances.has(id))
      throw new RdsFault('DBInstanceAlreadyExists', `DB instance ${id} already exists.`);
    const m = /^arn:aws:rds:([^:]+):(\d{12}):db:(.+)$/.exec(sourceRef);
    // API_CreateDBInstanceReadReplica, SourceDBInstanceIdentifier: a source in another Region is given by its ARN.
    const source = m ? this.instances.get(m[3]) : this.instances.get(sourceRef.toLowerCase());
    if (!source || (m && source.region !== m[1]) || (!m && source.region !== region))
      throw new RdsFault(
        m || this.instances.has(sourceRef.toLowerCase())
          ? 'DBInstanceNotFound'
          : 'InvalidParameterValue',
        `source ${sourceRef} not found${m ? '' : ' in this region (a cross-region source is given by its ARN)'}.`,
        m ? 404 : 400,
      );
    // USER_ReadRepl (Working with read replicas): the source must have automatic backups turned on and be available.
    if (source.source || source.status !== 'available' || source.backupRetentionPeriod === 0)
      throw new RdsFault(
        'InvalidDBInstanceState',
        `source ${source.id} must be an available standalone instance with automated backups.`,
      );
    const server: RegionRole = source.server === 'primary' ? 'secondary' : 'primary';
    for (const [k, v] of this.instances) if (v.server === server) this.instances.delete(k);
    const created: SimDbInstance = {
      id,
      region,
      server,
      status: 'creating',
      source: source.region === region ? source.id : this.arn(source),
      backupRetentionPeriod: 0,
    };
    this.instances.set(id, created);
    this.background(created, 'creating', async () => {
      await labResync({ dir: this.opts.labDir, standby: server, method: 'rebuild' });
    });
    return created;
  }

  xmlOf(i: SimDbInstance): string {
    const replicas = [...this.instances.values()]
      .filter((r) => r.source === i.id || r.source === this.arn(i))
      .map(
        (r) =>
          `<ReadReplicaDBInstanceIdentifier>${escapeXml(r.region === i.region ? r.id : this.arn(r))}</ReadReplicaDBInstanceIdentifier>`,
      )
      .join('');
    const port = readLabInfo(this.opts.labDir).postgres[i.server].port;
    return `<DBInstance><DBInstanceIdentifier>${escapeXml(i.id)}</DBInstanceIdentifier><DBInstanceArn>${this.arn(i)}</DBInstanceArn><Engine>postgres</Engine><DBInstanceStatus>${i.status}</DBInstanceStatus><BackupRetentionPeriod>${i.backupRetentionPeriod}</BackupRetentionPeriod><Endpoint><Address>127.0.0.1</Address><Port>${port}</Port></Endpoint>${i.source ? `<ReadReplicaSourceDBInstanceIdentifier>${escapeXml(i.source)}</ReadReplicaSourceDBInstanceIdentifier>` : ''}<ReadReplicaDBInstanceIdentifiers>${replicas}</ReadReplicaDBInstanceIdentifiers></DBInstance>`;
  }
}

/** Each action's answer in the query API's envelope: a list inside <DBInstances>, or one instance. */
function handler(plane: RdsControlPlane) {
  const actions = Object.fromEntries(
    ACTIONS.map((action) => [
      action,
      (region: string, p: URLSearchParams): string => {
        const out = plane[action](region, p);
        return Array.isArray(out)
          ? `<DBInstances>${out.map((i) => plane.xmlOf(i)).join('')}</DBInstances>`
          : plane.xmlOf(out);
      },
    ]),
  );
  return rdsQueryHandler(actions);
}

export async function startRdsSimulator(opts: {
  labDir: string;
  accountId: string;
  instances: Omit<SimDbInstance, 'status' | 'backupRetentionPeriod'>[];
}): Promise<RdsSim> {
  const instances = new Map<string, SimDbInstance>(
    opts.instances.map((i) => [i.id, { ...i, status: 'available', backupRetentionPeriod: 7 }]),
  );
  const plane = new RdsControlPlane(opts, instances);
  const running = plane.running;
  const sim = await startHttpSim(handler(plane));
  return {
    url: sim.url,
    sim,
    instances,
    settled: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    close: async () => {
      await Promise.all([...running]).catch(() => undefined);
      await sim.close();
    },
  };
}
