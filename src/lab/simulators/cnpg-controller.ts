/**
 * The lab's CloudNativePG operator: a controller over the two Clusters (one per Kubernetes
 * simulator) that does, on the lab's real PostgreSQL pair, what CNPG 1.24+ does:
 * - Demotion (docs/src/replica_cluster.md "Demoting a Primary to a Replica Cluster";
 *   pkg/reconciler/replicaclusterswitch): fence, shut the primary down cleanly (its shutdown
 *   checkpoint is the last WAL), write `.status.demotionToken` from pg_controldata
 *   (PgControldataTokenContent, base64 JSON). The lab keeps the server stopped until the other
 *   side is promoted, then makes it its standby (src/lab/resync.ts: pg_rewind finds nothing to
 *   rewind and writes the standby settings); the real one waits in recovery.
 * - Promotion with a token (internal/management/controller/instance_token.go,
 *   pkg/promotiontoken): CHECKPOINT on the replica, compare its control data with the token —
 *   another system identifier, an older timeline or an LSN already passed is fatal (phase
 *   unrecoverable), an LSN not yet replayed is waited for (phase "Promoting to primary
 *   cluster") — then promote; `.status.lastPromotionToken` records it.
 * - Promotion without a token: at once (a failover: whatever was not replayed is lost), and the
 *   former primary must be re-cloned ("Standalone Replica Clusters": "Failover is identical in
 *   both strategies, requiring the former primary to be re-cloned if it ever comes back up").
 */
import { join } from 'node:path';
import type { RegionRole } from '../../domain/types.js';
import { readLabInfo } from '../manifest.js';
import { pgQuery, pgStop, type PgLabContext } from '../postgres.js';
import { labResync } from '../resync.js';
import { labUser, run } from '../system.js';
import {
  cnpgRoutes,
  encodeToken,
  isReplica,
  parseToken,
  PHASE,
  type SimCnpgCluster,
  type TokenContent,
} from './cnpg.js';
import type { KubernetesSim } from './kubernetes.js';

const LAB_CNPG_VERSION = '1.25.1';

/** The lab's two Clusters: one per region's Kubernetes simulator, in namespace `db`. */
export const LAB_CNPG = {
  namespace: 'db',
  names: { primary: 'pg-eu-west', secondary: 'pg-eu-central' },
} as const;

interface CnpgLabOptions {
  labDir: string;
  namespace: string;
  names: Record<RegionRole, string>;
  /** The operator version the CRD shows (default LAB_CNPG_VERSION); tests try older ones. */
  version?: string;
  /** Between reconciles (default 500 ms; a changed Cluster is reconciled at once). */
  intervalMs?: number;
}

export interface CnpgOperator {
  readonly clusters: Record<RegionRole, SimCnpgCluster>;
  /** Reconcile now and wait until nothing is under way. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

const other = (r: RegionRole): RegionRole => (r === 'primary' ? 'secondary' : 'primary');

function newCluster(o: CnpgLabOptions, server: RegionRole, seq: number): SimCnpgCluster {
  const name = o.names[server];
  const peer = o.names[other(server)];
  const ext = (n: string) => ({
    name: n,
    connectionParameters: {
      host: `${n}-rw.${o.namespace}.svc`,
      user: 'streaming_replica',
      dbname: 'postgres',
    },
  });
  return {
    server,
    namespace: o.namespace,
    name,
    uid: `cnpg-uid-${seq}`,
    generation: 1,
    resourceVersion: 1000 + seq,
    spec: {
      instances: 1,
      imageName: 'ghcr.io/cloudnative-pg/postgresql:16',
      bootstrap:
        server === 'primary'
          ? { initdb: { database: 'app', owner: 'app' } }
          : { pg_basebackup: { source: peer } },
      replica: { primary: o.names.primary, source: peer },
      externalClusters: [ext(name), ext(peer)],
    },
    status: {
      phase: PHASE.healthy,
      instances: 1,
      readyInstances: 1,
      currentPrimary: `${name}-1`,
      targetPrimary: `${name}-1`,
      switchReplicaClusterStatus: {},
    },
    awaitingPromotion: false,
  };
}

/** Install the operator in both simulators: the CRD, the Clusters, and the controller. */
export function installCnpg(
  sims: Record<RegionRole, KubernetesSim>,
  o: CnpgLabOptions,
): CnpgOperator {
  const clusters = {
    primary: newCluster(o, 'primary', 1),
    secondary: newCluster(o, 'secondary', 2),
  };
  const ctl = new Controller(o, clusters);
  for (const side of ['primary', 'secondary'] as const)
    sims[side].addRoutes(
      cnpgRoutes(clusters[side], o.version ?? LAB_CNPG_VERSION, () => ctl.kick()),
    );
  const timer = setInterval(() => ctl.kick(), o.intervalMs ?? 500);
  timer.unref();
  return {
    clusters,
    settle: () => ctl.settle(),
    stop: async () => {
      clearInterval(timer);
      await ctl.settle().catch(() => undefined);
    },
  };
}

type ServerState = { running: false } | { running: true; inRecovery: boolean };

class Controller {
  private busy: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly o: CnpgLabOptions,
    private readonly clusters: Record<RegionRole, SimCnpgCluster>,
  ) {}

  kick(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = this.loop().finally(() => (this.busy = null));
  }

  async settle(): Promise<void> {
    this.kick();
    while (this.busy) await this.busy;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      for (const side of ['primary', 'secondary'] as const)
        await this.reconcile(this.clusters[side]).catch((err: unknown) =>
          console.error(
            `cnpg controller: ${this.clusters[side].name}:`,
            err instanceof Error ? err.message : err,
          ),
        );
    } while (this.again);
  }

  private lab() {
    return readLabInfo(this.o.labDir);
  }

  private async server(side: RegionRole): Promise<ServerState> {
    try {
      const rows = await pgQuery<{ r: boolean }>(
        this.lab().postgres[side].url,
        'SELECT pg_is_in_recovery() AS r',
      );
      return { running: true, inRecovery: rows[0]!.r };
    } catch {
      return { running: false };
    }
  }

  private touch(c: SimCnpgCluster, change: (s: SimCnpgCluster['status']) => void): void {
    const before = JSON.stringify(c.status);
    change(c.status);
    if (JSON.stringify(c.status) !== before) c.resourceVersion += 1;
  }

  private async reconcile(c: SimCnpgCluster): Promise<void> {
    if (c.status.phase === PHASE.unrecoverable) return;
    let s: ServerState;
    try {
      s = await this.server(c.server);
    } catch {
      return; // the lab is still starting
    }
    const replica = isReplica(c.spec, c.name);
    if (replica && s.running && !s.inRecovery) return this.demote(c);
    if (!replica && s.running && s.inRecovery) return this.promote(c);
    if (c.awaitingPromotion) return;
    this.touch(c, (st) => {
      st.readyInstances = s.running ? 1 : 0;
      st.phase = s.running ? PHASE.healthy : PHASE.waitingInstances;
    });
  }

  /** replicaclusterswitch: fence, clean shutdown, demotion token from pg_controldata. */
  private async demote(c: SimCnpgCluster): Promise<void> {
    this.touch(c, (st) => (st.switchReplicaClusterStatus = { inProgress: true }));
    const info = this.lab();
    const server = info.postgres[c.server];
    const ctx: PgLabContext = { bindir: info.postgres.bindir, user: labUser(), socketDir: '' };
    // A clean (fast) shutdown writes the shutdown checkpoint and streams it to the standby.
    await pgStop(ctx, server.dataDir, 'fast', server.pid);
    const { stdout } = await run(
      join(info.postgres.bindir, 'pg_controldata'),
      ['-D', server.dataDir],
      {
        user: ctx.user,
        cwd: server.dataDir,
      },
    );
    const field = (label: string): string =>
      new RegExp(`^${label.replace(/[()']/g, '.')}:\\s*(.*)$`, 'm').exec(stdout)?.[1]?.trim() ?? '';
    const token: TokenContent = {
      latestCheckpointTimelineID: field("Latest checkpoint's TimeLineID"),
      redoWalFile: field("Latest checkpoint's REDO WAL file"),
      databaseSystemIdentifier: field('Database system identifier'),
      latestCheckpointREDOLocation: field("Latest checkpoint's REDO location"),
      timeOfLatestCheckpoint: field('Time of latest checkpoint'),
      operatorVersion: this.o.version ?? LAB_CNPG_VERSION,
    };
    c.awaitingPromotion = true;
    this.touch(c, (st) => {
      st.demotionToken = encodeToken(token);
      st.switchReplicaClusterStatus = { inProgress: false };
      st.systemID = token.databaseSystemIdentifier;
      st.phase = PHASE.healthy;
    });
    await this.joinIfPromoted(c);
  }

  private async promote(c: SimCnpgCluster): Promise<void> {
    const url = this.lab().postgres[c.server].url;
    const token = c.spec.replica?.promotionToken;
    let used: string | undefined;
    if (token && token !== c.status.lastPromotionToken) {
      const verdict = await this.verifyToken(url, token);
      if (verdict.fatal) {
        // instance_controller.go: a non-retryable token error makes the phase unrecoverable.
        return this.touch(c, (st) => {
          st.phase = PHASE.unrecoverable;
          st.phaseReason = `Promotion token content is not correct for current instance: ${verdict.fatal}`;
        });
      }
      if (verdict.wait)
        return this.touch(c, (st) => {
          st.phase = PHASE.promotion;
          st.phaseReason = verdict.wait;
        });
      used = token;
    }
    await pgQuery(url, 'SELECT pg_promote(true, 60)');
    const [tl] = await pgQuery<{ tl: number }>(
      url,
      'SELECT timeline_id AS tl FROM pg_control_checkpoint()',
    );
    this.touch(c, (st) => {
      st.phase = PHASE.healthy;
      delete st.phaseReason;
      if (used) st.lastPromotionToken = used;
      st.timelineID = tl?.tl;
      st.currentPrimary = `${c.name}-1`;
      st.targetPrimary = `${c.name}-1`;
    });
    const peer = this.clusters[other(c.server)];
    if (peer.awaitingPromotion) await this.joinIfPromoted(peer);
  }

  /** pkg/promotiontoken ValidateAgainstInstanceStatus, on the replica's control data after a CHECKPOINT. */
  private async verifyToken(
    url: string,
    token: string,
  ): Promise<{ fatal?: string; wait?: string }> {
    const t = parseToken(token);
    if (typeof t === 'string') return { fatal: t };
    await pgQuery(url, 'CHECKPOINT');
    const [row] = await pgQuery<{ redo: string; tl: number; sysid: string }>(
      url,
      'SELECT c.redo_lsn::text AS redo, c.timeline_id AS tl, s.system_identifier::text AS sysid FROM pg_control_checkpoint() c, pg_control_system() s',
    );
    if (!row) return { wait: 'no control data yet' };
    if (row.sysid !== t.databaseSystemIdentifier)
      return {
        fatal: `mismatching system identifiers, current:${row.sysid} wanted:${t.databaseSystemIdentifier}`,
      };
    const wantTl = Number(t.latestCheckpointTimelineID);
    if (wantTl > row.tl)
      return { wait: `requested timeline not reached, current:${row.tl} wanted:${wantTl}` };
    if (wantTl < row.tl)
      return {
        fatal: `requested timeline is older than current one, current:${row.tl} wanted:${wantTl}`,
      };
    const [cmp] = await pgQuery<{ d: string }>(
      url,
      'SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS d',
      [t.latestCheckpointREDOLocation, row.redo],
    );
    const d = Number(cmp?.d ?? 0);
    if (d < 0)
      return {
        fatal: `promotion token LSN (${t.latestCheckpointREDOLocation}) is older than the last replay LSN (${row.redo})`,
      };
    if (d > 0)
      return {
        wait: `waiting for promotion token LSN (${t.latestCheckpointREDOLocation}) to be replayed (the last replayed LSN is ${row.redo})`,
      };
    return {};
  }

  /**
   * A demoted cluster whose token the other side was promoted with follows it (no rebuild); one
   * the other side was promoted without diverged and must be re-cloned.
   */
  private async joinIfPromoted(c: SimCnpgCluster): Promise<void> {
    const peer = this.clusters[other(c.server)];
    const peerState = await this.server(peer.server);
    if (isReplica(peer.spec, peer.name) || !peerState.running || peerState.inRecovery) return;
    if (c.status.demotionToken && peer.status.lastPromotionToken === c.status.demotionToken) {
      await labResync({ dir: this.o.labDir, standby: c.server, method: 'rewind' });
      c.awaitingPromotion = false;
      this.touch(c, (st) => {
        st.phase = PHASE.healthy;
        st.readyInstances = 1;
      });
      return;
    }
    c.awaitingPromotion = false;
    this.touch(c, (st) => {
      st.phase = PHASE.unrecoverable;
      st.phaseReason = `${peer.name} was promoted without this cluster's demotion token: the former primary diverged and must be re-cloned`;
      st.readyInstances = 0;
    });
  }
}
