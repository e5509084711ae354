-- One schema per service, owned by the service's role, which sees only its own schema by default.
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['registry', 'cases', 'quotas', 'reporting'] LOOP
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', r, r);
    EXECUTE format('ALTER ROLE %I IN DATABASE rehab SET search_path = %I', r, r);
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', r);
  END LOOP;
END $$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
