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
-- The audit trails are append-only for the services that write them (issue 14). A service's migration creates
-- its audit_log in its own schema and calls rehab_audit.seal('audit_log'): the table then belongs to
-- audit_owner (NOLOGIN, no service is a member), its writer keeps only INSERT and SELECT (and the sequence),
-- its triggers call a function the service cannot replace, and the event trigger below refuses to drop it
-- (or the schema around it) unless a member of audit_owner or a superuser asks. Run as a superuser; idempotent.
CREATE SCHEMA IF NOT EXISTS rehab_audit AUTHORIZATION CURRENT_USER;
REVOKE ALL ON SCHEMA rehab_audit FROM PUBLIC;
GRANT USAGE ON SCHEMA rehab_audit TO PUBLIC;
CREATE TABLE IF NOT EXISTS rehab_audit.sealed (
    relid     OID PRIMARY KEY,
    name      TEXT NOT NULL,
    sealed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
REVOKE ALL ON rehab_audit.sealed FROM PUBLIC;
GRANT SELECT ON rehab_audit.sealed TO PUBLIC;
GRANT DELETE ON rehab_audit.sealed TO audit_owner;
CREATE OR REPLACE FUNCTION rehab_audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE OR REPLACE FUNCTION rehab_audit.seal(target regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  writer oid;
  trig name;
  seq regclass;
BEGIN
  IF EXISTS (SELECT 1 FROM rehab_audit.sealed WHERE relid = target) THEN
    RETURN;
  END IF;
  SELECT relowner INTO writer FROM pg_class WHERE oid = target AND relkind = 'r';
  IF writer IS NULL OR NOT pg_has_role(session_user, writer, 'USAGE') THEN
    RAISE EXCEPTION 'only the owner of table % may seal it', target;
  END IF;
  FOR trig IN SELECT tgname FROM pg_trigger WHERE tgrelid = target AND NOT tgisinternal LOOP
    EXECUTE format('DROP TRIGGER %I ON %s', trig, target);
  END LOOP;
  EXECUTE format('CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON %s FOR EACH ROW '
                 'EXECUTE FUNCTION rehab_audit.refuse_change()', target);
  EXECUTE format('CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
                 'EXECUTE FUNCTION rehab_audit.refuse_change()', target);
  EXECUTE format('ALTER TABLE %s OWNER TO audit_owner', target);  -- its serial sequence follows
  EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', target);
  EXECUTE format('GRANT SELECT, INSERT ON %s TO %s', target, writer::regrole);
  FOR seq IN
    SELECT d.objid::regclass FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
    WHERE d.refobjid = target AND d.classid = 'pg_class'::regclass AND c.relkind = 'S'
  LOOP
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %s', seq, writer::regrole);
  END LOOP;
  INSERT INTO rehab_audit.sealed (relid, name) VALUES (target, target::text);
END $$;
REVOKE ALL ON FUNCTION rehab_audit.seal(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rehab_audit.seal(regclass) TO PUBLIC;  -- it only ever gives away the caller's own table
CREATE OR REPLACE FUNCTION rehab_audit.guard_drop() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE gone record;
BEGIN
  FOR gone IN
    SELECT d.objid, d.object_identity FROM pg_event_trigger_dropped_objects() d
    JOIN rehab_audit.sealed s ON s.relid = d.objid WHERE d.classid = 'pg_class'::regclass
  LOOP
    IF NOT pg_has_role(current_user, 'audit_owner', 'USAGE') THEN
      RAISE EXCEPTION 'the audit log % is append-only: only audit_owner may drop it', gone.object_identity;
    END IF;
    DELETE FROM rehab_audit.sealed WHERE relid = gone.objid;
  END LOOP;
END $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'rehab_audit_guard_drop') THEN
    CREATE EVENT TRIGGER rehab_audit_guard_drop ON sql_drop EXECUTE FUNCTION rehab_audit.guard_drop();
  END IF;
END $$;
