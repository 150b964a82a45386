-- The role fence (components.postgres.fence.method: role): what dr_bot needs on top of
-- postgres.sql to make the application's roles read-only where the bot may not ALTER SYSTEM
-- (PostgreSQL 14 and before without a superuser; RDS, Aurora, Cloud SQL). Run it after
-- postgres.sql, and again after each run of postgres.sql (which resets NOCREATEROLE), as a
-- superuser or the service's admin role (rds_superuser, cloudsqlsuperuser), on the primary.
-- Put the roles of fence.roles in app_roles below. Preflight checks each right and prints the fix.
--
-- The fence runs ALTER ROLE <each app role> SET default_transaction_read_only = on and ends those
-- roles' sessions (pg_signal_backend, in postgres.sql); a failback lifts it with ALTER ROLE RESET.
-- ALTER ROLE on another role needs CREATEROLE; from PostgreSQL 16 also ADMIN OPTION on that role,
-- granted here without INHERIT and SET, so dr_bot gets none of the role's own privileges.
-- Before 16 CREATEROLE alone lets dr_bot administer every non-superuser role: prefer the
-- parameter fence (method read-only, postgres.sql) on a self-hosted PostgreSQL 15.
ALTER ROLE dr_bot CREATEROLE;
DO $$
DECLARE
  app_roles text[] := ARRAY['app'];  -- the roles listed in components.postgres.fence.roles
  r text;
BEGIN
  IF current_setting('server_version_num')::int >= 160000 THEN
    FOREACH r IN ARRAY app_roles LOOP
      EXECUTE format('GRANT %I TO dr_bot WITH ADMIN OPTION, INHERIT FALSE, SET FALSE', r);
    END LOOP;
  END IF;
END
$$;
