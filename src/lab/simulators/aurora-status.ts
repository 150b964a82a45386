/**
 * The lab's stand-in for Aurora PostgreSQL's aurora_global_db_status(): a plain PL/pgSQL function
 * with Aurora's documented columns (AuroraUserGuide, aurora_global_db_status), computed from a
 * streaming pair's own views, because the lab's servers are not Aurora. Created on the primary by
 * `dr lab up --postgres aurora-global`; replication carries it to the standby. Its comment says
 * what it is. Aurora measures storage-level lag; here both lags are the standby's WAL lag:
 *   - standby streaming and holding what the primary last reported: 0;
 *   - standby streaming behind: the time since the primary's last report it has not caught up to;
 *   - standby without a primary: the time since its last replayed commit (what was committed
 *     after it may be lost: an upper bound, as Aurora's lag grows while a region is out).
 */
import { pgQuery } from '../postgres.js';

export async function createAuroraStatusFunction(
  adminUrl: string,
  regions: { port: number; region: string }[],
): Promise<void> {
  await pgQuery(adminUrl, 'CREATE SCHEMA IF NOT EXISTS aurora_lab');
  await pgQuery(
    adminUrl,
    'CREATE TABLE IF NOT EXISTS aurora_lab.regions (port int PRIMARY KEY, aws_region text NOT NULL)',
  );
  for (const r of regions)
    await pgQuery(
      adminUrl,
      'INSERT INTO aurora_lab.regions VALUES ($1, $2) ON CONFLICT (port) DO UPDATE SET aws_region = $2',
      [r.port, r.region],
    );
  await pgQuery(
    adminUrl,
    `CREATE OR REPLACE FUNCTION public.aurora_global_db_status()
       RETURNS TABLE (aws_region text, highest_lsn_written bigint, durability_lag_in_msec bigint,
                      rpo_lag_in_msec bigint, last_lag_calculation_time timestamptz,
                      feedback_epoch integer, feedback_xmin bigint)
       LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $fn$
     DECLARE
       me text := (SELECT r.aws_region FROM aurora_lab.regions r WHERE r.port = inet_server_port());
       peer text := (SELECT r.aws_region FROM aurora_lab.regions r WHERE r.port <> inet_server_port() LIMIT 1);
       rcv record;
       lag bigint;
     BEGIN
       IF NOT pg_is_in_recovery() THEN
         -- The primary: -1 and the epoch as Aurora shows its primary; one row per standby it feeds.
         RETURN QUERY SELECT me, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint, -1::bigint, -1::bigint,
                             'epoch'::timestamptz, 0, 0::bigint;
         RETURN QUERY SELECT peer, (s.replay_lsn - '0/0'::pg_lsn)::bigint,
                             (extract(epoch FROM coalesce(s.write_lag, '0'::interval)) * 1000)::bigint,
                             (extract(epoch FROM coalesce(s.replay_lag, '0'::interval)) * 1000)::bigint,
                             now(), 0, s.backend_xmin::text::bigint
                        FROM pg_stat_replication s;
         RETURN;
       END IF;
       SELECT * INTO rcv FROM pg_stat_wal_receiver LIMIT 1;
       IF rcv.status = 'streaming' THEN
         lag := CASE WHEN rcv.latest_end_lsn <= rcv.flushed_lsn THEN 0
                     ELSE (extract(epoch FROM now() - rcv.latest_end_time) * 1000)::bigint END;
       ELSE
         lag := coalesce((extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint, 0);
       END IF;
       RETURN QUERY SELECT peer, (rcv.latest_end_lsn - '0/0'::pg_lsn)::bigint, -1::bigint, -1::bigint,
                           'epoch'::timestamptz, 0, 0::bigint;
       RETURN QUERY SELECT me, (coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) - '0/0'::pg_lsn)::bigint,
                           lag, lag, now(), 0, 0::bigint;
     END
     $fn$`,
  );
  await pgQuery(
    adminUrl,
    `COMMENT ON FUNCTION public.aurora_global_db_status() IS 'dr lab stand-in for Aurora''s aurora_global_db_status(): documented columns, lags computed from this streaming pair''s pg_stat_replication / pg_stat_wal_receiver'`,
  );
  await pgQuery(adminUrl, 'GRANT USAGE ON SCHEMA aurora_lab TO PUBLIC');
}
