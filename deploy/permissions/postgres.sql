-- dr-bot's PostgreSQL role: the narrowest rights the bot needs on PostgreSQL 15 or later.
-- Run as a superuser (or the service's admin role) on the primary; the standby receives it by
-- replication. Give the role a password afterwards (\password dr_bot) and put the connection
-- string in the environment variable the config names (urlEnv). `dr lab up` applies this file.
-- Each GRANT names what needs it; preflight checks each one and prints the GRANT that is missing.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dr_bot') THEN
    CREATE ROLE dr_bot LOGIN;
  END IF;
END
$$;
-- Never more than this file grants: no superuser, no CREATEROLE, no replication connections
-- (the role fence adds CREATEROLE: postgres-role-fence.sql, run after this file).
ALTER ROLE dr_bot NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- Replication state with LSNs (pg_stat_replication, pg_stat_wal_receiver) and the start time of
-- other roles' sessions (pg_stat_activity), which the fence waits on.
GRANT pg_read_all_stats TO dr_bot;
-- Where the fence came from (pg_settings.sourcefile), so a failback lifts only its own fence.
GRANT pg_read_all_settings TO dr_bot;
-- CHECKPOINT before the final LSN is read and before a resync.
GRANT pg_checkpoint TO dr_bot;
-- End the sessions that predate the fence (pg_terminate_backend; never a superuser's session).
GRANT pg_signal_backend TO dr_bot;
-- The fence: ALTER SYSTEM SET default_transaction_read_only = on, then a reload. SET itself needs
-- no grant: default_transaction_read_only is a user-settable parameter.
GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only TO dr_bot;
GRANT EXECUTE ON FUNCTION pg_reload_conf() TO dr_bot;
-- Promote the standby.
GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO dr_bot;
-- Failback: read the new timeline's history file (pg_wal/*.history, inside the data directory)
-- and list the old primary's WAL to tell a rewind from a rebuild.
GRANT EXECUTE ON FUNCTION pg_read_file(text) TO dr_bot;
GRANT EXECUTE ON FUNCTION pg_ls_waldir() TO dr_bot;

-- The write probe table (dr_probe) and the drill's write load table (dr_drill_load) live in the
-- bot's own schema, so the role needs no CREATE on public.
CREATE SCHEMA IF NOT EXISTS dr_bot AUTHORIZATION dr_bot;
ALTER ROLE dr_bot SET search_path = dr_bot, public;

-- Optional: count the transactions a failback would drop (pg_walinspect, when it is installed;
-- run this file again after CREATE EXTENSION pg_walinspect).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_walinspect') THEN
    GRANT EXECUTE ON FUNCTION pg_get_wal_records_info(pg_lsn, pg_lsn) TO dr_bot;
  END IF;
END
$$;

-- Consistency checks read the tables named in components.postgres.consistencyTables: grant
-- SELECT on each, e.g.  GRANT SELECT ON app.orders TO dr_bot;  or, for the tables an
-- application role creates from now on:
--   ALTER DEFAULT PRIVILEGES FOR ROLE app IN SCHEMA public GRANT SELECT ON TABLES TO dr_bot;
