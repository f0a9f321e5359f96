-- pgvector for embeddings. gen_random_uuid() is core PostgreSQL (13+), so no pgcrypto.
-- pg_trgm, unaccent and btree_gin are not created: the embedded PostgreSQL lacks them,
-- and core full-text search (tsvector + GIN) serves every search the seed indexed.
CREATE EXTENSION IF NOT EXISTS vector;

-- One rule for every table's updated_at, so no write path can forget it.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
