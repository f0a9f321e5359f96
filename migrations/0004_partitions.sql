-- Monthly range partitions with a DEFAULT partition, so no row is ever refused.
-- ensure_monthly_partition() creates <parent>_YYYY_MM for the month holding `month`;
-- rows already sitting in the default partition for that month are moved into it first,
-- since PostgreSQL refuses to attach a range the default partition already holds.
CREATE FUNCTION ensure_monthly_partition(parent text, month date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    lo date := date_trunc('month', month)::date;
    hi date := (date_trunc('month', month) + interval '1 month')::date;
    part text := format('%s_%s', parent, to_char(lo, 'YYYY_MM'));
    dflt text := parent || '_default';
    key text;
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    SELECT a.attname INTO key
    FROM pg_partitioned_table p
    JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
    WHERE p.partrelid = parent::regclass;

    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part, parent);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %I >= %L AND %I < %L RETURNING *) '
                   'INSERT INTO %I SELECT * FROM moved', dflt, key, lo, key, hi, part);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   parent, part, lo, hi);
    RETURN true;
END;
$$;

-- The current month and the next `ahead` months; the scheduler calls this daily.
CREATE FUNCTION ensure_partitions_ahead(parent text, ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    created integer := 0;
    i integer;
BEGIN
    FOR i IN 0..ahead LOOP
        IF ensure_monthly_partition(parent, (now() + make_interval(months => i))::date) THEN
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;
