-- Keycloak's own database (its realms, users, sessions), owned by its role (bootstrap.sql); idempotent (psql).
SELECT 'CREATE DATABASE keycloak OWNER keycloak'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'keycloak') \gexec
