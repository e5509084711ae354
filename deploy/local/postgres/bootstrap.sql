-- Roles for the local platform (idempotent). Passwords are local defaults; production uses its own secrets.
-- rehab owns the database and runs tests; each service has a role that owns only its schema.
DO $$
DECLARE r text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rehab') THEN
    CREATE ROLE rehab LOGIN PASSWORD 'rehab' CREATEROLE;
  END IF;
  FOREACH r IN ARRAY ARRAY['registry', 'cases', 'quotas', 'reporting'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', r, r);
    END IF;
  END LOOP;
  -- audit_owner owns the audit trails (see schemas.sql): it cannot log in and no service role is its member,
  -- so a service can append to its trail and read it, never rewrite it. rehab (the DBA) is a member.
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'audit_owner') THEN
    CREATE ROLE audit_owner NOLOGIN;
  END IF;
  GRANT audit_owner TO rehab;
  -- Keycloak (deploy/local/keycloak.sh) keeps its realms, users and sessions in a database of its own
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keycloak') THEN
    CREATE ROLE keycloak LOGIN PASSWORD 'keycloak-local';
  END IF;
END $$;
