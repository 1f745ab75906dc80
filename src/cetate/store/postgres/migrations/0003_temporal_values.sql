-- Cetate on PostgreSQL, version 3: typed date-time, date and time values in q.
--
-- cetate_q_temporal(value) is the temporal key of a Property value written
-- {"@type": "DateTime" | "Date" | "Time", "@value": "..."} (also ngsi-ld:, the full NGSI-LD
-- IRI, xsd: and the XML Schema IRI): dt:2026-01-01T00:00:00.000Z (the instant in UTC to the
-- millisecond), d:2026-01-01, t:08:30:00.000 (the time of day in UTC); '!' when the @value is
-- not valid; NULL for every other value. It computes exactly what
-- cetate.ngsi.query_language.temporal_key computes in Python (a test compares them), without
-- PostgreSQL's own date/time parsing, whose rules (24:00, leap seconds, session time zone)
-- differ. q compares these keys with COLLATE "C". The entity documents are unchanged, so
-- nothing needs to be re-indexed.

CREATE OR REPLACE FUNCTION cetate_q_temporal(v jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    kind text;
    raw text;
    m text[];
    y integer;
    mo integer;
    d integer;
    clock bigint;
    off_minutes integer := 0;
    ts timestamp;
    ms bigint;
BEGIN
    IF jsonb_typeof(v) <> 'object' THEN
        RETURN NULL;
    END IF;
    kind := CASE v ->> '@type'
        WHEN 'DateTime' THEN 'dt'
        WHEN 'ngsi-ld:DateTime' THEN 'dt'
        WHEN 'https://uri.etsi.org/ngsi-ld/DateTime' THEN 'dt'
        WHEN 'xsd:dateTime' THEN 'dt'
        WHEN 'http://www.w3.org/2001/XMLSchema#dateTime' THEN 'dt'
        WHEN 'Date' THEN 'd'
        WHEN 'ngsi-ld:Date' THEN 'd'
        WHEN 'https://uri.etsi.org/ngsi-ld/Date' THEN 'd'
        WHEN 'xsd:date' THEN 'd'
        WHEN 'http://www.w3.org/2001/XMLSchema#date' THEN 'd'
        WHEN 'Time' THEN 't'
        WHEN 'ngsi-ld:Time' THEN 't'
        WHEN 'https://uri.etsi.org/ngsi-ld/Time' THEN 't'
        WHEN 'xsd:time' THEN 't'
        WHEN 'http://www.w3.org/2001/XMLSchema#time' THEN 't'
    END;
    IF kind IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v -> '@value') IS DISTINCT FROM 'string' THEN
        RETURN '!';
    END IF;
    raw := v ->> '@value';

    IF kind = 't' THEN
        m := regexp_match(raw, '^([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?'
            || '(?:[Zz]|([+-])([0-9]{2}):?([0-9]{2}))?$');
        IF m IS NULL OR m[1]::int > 23 OR m[2]::int > 59 OR coalesce(m[3], '0')::int > 59
           OR coalesce(m[6], '0')::int > 23 OR coalesce(m[7], '0')::int > 59 THEN
            RETURN '!';
        END IF;
        clock := ((m[1]::int * 60 + m[2]::int) * 60 + coalesce(m[3], '0')::int) * 1000
            + rpad(left(coalesce(m[4], ''), 3), 3, '0')::int;
        IF m[5] IS NOT NULL THEN
            off_minutes := (m[6]::int * 60 + m[7]::int) * (CASE m[5] WHEN '-' THEN -1 ELSE 1 END);
        END IF;
        ms := (((clock - off_minutes * 60000::bigint) % 86400000) + 86400000) % 86400000;
        RETURN 't:' || lpad((ms / 3600000)::text, 2, '0') || ':'
            || lpad((ms / 60000 % 60)::text, 2, '0') || ':'
            || lpad((ms / 1000 % 60)::text, 2, '0') || '.'
            || lpad((ms % 1000)::text, 3, '0');
    END IF;

    IF kind = 'd' THEN
        m := regexp_match(raw, '^([0-9]{4})-([0-9]{2})-([0-9]{2})$');
    ELSE
        m := regexp_match(raw, '^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2})'
            || '(?::([0-9]{2})(?:\.([0-9]+))?)?(?:[Zz]|([+-])([0-9]{2}):?([0-9]{2}))?$');
    END IF;
    IF m IS NULL THEN
        RETURN '!';
    END IF;
    y := m[1]::int;
    mo := m[2]::int;
    d := m[3]::int;
    IF y < 1 OR mo < 1 OR mo > 12 OR d < 1
       OR d > extract(day FROM make_date(y, mo, 1) + interval '1 month' - interval '1 day') THEN
        RETURN '!';
    END IF;
    IF kind = 'd' THEN
        RETURN 'd:' || m[1] || '-' || m[2] || '-' || m[3];
    END IF;
    IF m[4]::int > 23 OR m[5]::int > 59 OR coalesce(m[6], '0')::int > 59
       OR coalesce(m[9], '0')::int > 23 OR coalesce(m[10], '0')::int > 59 THEN
        RETURN '!';
    END IF;
    clock := ((m[4]::int * 60 + m[5]::int) * 60 + coalesce(m[6], '0')::int) * 1000
        + rpad(left(coalesce(m[7], ''), 3), 3, '0')::int;
    IF m[8] IS NOT NULL THEN
        off_minutes := (m[9]::int * 60 + m[10]::int) * (CASE m[8] WHEN '-' THEN -1 ELSE 1 END);
    END IF;
    ts := make_timestamp(y, mo, d, 0, 0, 0) + clock * interval '1 millisecond'
        - off_minutes * interval '1 minute';
    IF ts < make_timestamp(1, 1, 1, 0, 0, 0)
       OR ts >= make_timestamp(9999, 12, 31, 0, 0, 0) + interval '1 day' THEN
        RETURN '!';
    END IF;
    RETURN 'dt:' || to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
END;
$$;
