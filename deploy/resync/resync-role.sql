-- The resync identity: the database role deploy/resync/pg-rewind-standby.sh connects to the
-- current primary with (SOURCE_CONNINFO: pg_rewind, pg_basebackup) and the standby streams with
-- (PRIMARY_CONNINFO). Never the bot's role: the bot only runs the command. Run this as a
-- superuser on the primary (the standby receives it by replication), give the role a password
-- (\password dr_resync), put it in ~postgres/.pgpass on both database hosts, and let each host
-- reach the other in pg_hba.conf, e.g.
--   host  replication  dr_resync  <other host>/32  scram-sha-256   (pg_basebackup, streaming)
--   host  postgres     dr_resync  <other host>/32  scram-sha-256   (pg_rewind, the script's checks)

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dr_resync') THEN
    CREATE ROLE dr_resync LOGIN REPLICATION;
  END IF;
END
$$;
-- Replication connections (pg_basebackup, IDENTIFY_SYSTEM, streaming, the optional slot), no more.
ALTER ROLE dr_resync LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
-- pg_rewind --source-server reads the source's files through these functions (pg_rewind, Notes).
GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, boolean) TO dr_resync;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) TO dr_resync;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) TO dr_resync;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) TO dr_resync;
-- Optional (15+): the script's own CHECKPOINT on the source; the bot runs one before it anyway.
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 150000 THEN
    GRANT pg_checkpoint TO dr_resync;
  END IF;
END
$$;
