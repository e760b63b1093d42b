import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Registry, latest state, partitioned telemetry, bounded rejection log and
 * device events. Telemetry is range-partitioned by UTC day so that retention is
 * a cheap DROP and inserts only touch the current partition's index.
 */
export class InitialSchema1732240000000 implements MigrationInterface {
  name = 'InitialSchema1732240000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE concentrators (
        sn text PRIMARY KEY CHECK (sn ~ '^[0-9]{12}$'),
        state text NOT NULL CHECK (state IN ('pending', 'managed')),
        name text,
        site text,
        fw text,
        model text,
        line_count smallint,
        io text,
        online boolean NOT NULL DEFAULT false,
        online_changed_at timestamptz,
        last_seen_at timestamptz,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        clock_skew boolean NOT NULL DEFAULT false,
        clock_skew_at timestamptz,
        report_s integer NOT NULL,
        heartbeat_s integer NOT NULL,
        delta_pct integer NOT NULL,
        config_sync text NOT NULL DEFAULT 'pending' CHECK (config_sync IN ('pending', 'synced', 'failed')),
        config_command_id text,
        adopted_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX concentrators_state_idx ON concentrators (state, sn)`);
    await q.query(`CREATE INDEX concentrators_site_idx ON concentrators (site, sn)`);

    await q.query(`
      CREATE TABLE concentrator_lines (
        sn text NOT NULL REFERENCES concentrators (sn) ON DELETE CASCADE,
        line smallint NOT NULL CHECK (line BETWEEN 1 AND 64),
        name text,
        ts timestamptz,
        received_at timestamptz,
        voltage_v real,
        current_a real,
        power_w real,
        reactive_var real,
        pf real,
        freq_hz real,
        energy_kwh double precision,
        leakage_ma real,
        temp_c real,
        is_on boolean,
        on_at timestamptz,
        on_cause text,
        PRIMARY KEY (sn, line)
      )`);

    await q.query(`
      CREATE TABLE telemetry (
        sn text NOT NULL,
        line smallint NOT NULL,
        ts timestamptz NOT NULL,
        received_at timestamptz NOT NULL,
        is_on boolean,
        voltage_v real,
        current_a real,
        power_w real,
        reactive_var real,
        pf real,
        freq_hz real,
        energy_kwh double precision,
        leakage_ma real,
        temp_c real,
        PRIMARY KEY (sn, line, ts)
      ) PARTITION BY RANGE (ts)`);
    // A safety net: rows for a day whose partition was not created yet are kept, not lost.
    await q.query(`CREATE TABLE telemetry_default PARTITION OF telemetry DEFAULT`);
    await q.query(`
      CREATE FUNCTION ensure_telemetry_partitions(from_day date, to_day date) RETURNS integer
      LANGUAGE plpgsql AS $$
      DECLARE
        d date := from_day;
        created integer := 0;
        part text;
      BEGIN
        WHILE d <= to_day LOOP
          part := 'telemetry_' || to_char(d, 'YYYYMMDD');
          IF to_regclass(part) IS NULL THEN
            BEGIN
              EXECUTE format(
                'CREATE TABLE %I PARTITION OF telemetry FOR VALUES FROM (%L) TO (%L)',
                part, (d::timestamp AT TIME ZONE 'UTC'), ((d + 1)::timestamp AT TIME ZONE 'UTC'));
              created := created + 1;
            EXCEPTION
              -- Another instance won the race, or the default partition already holds
              -- rows of that day: both leave the data safe, so carry on.
              WHEN duplicate_table THEN NULL;
              WHEN check_violation THEN RAISE WARNING 'partition % not created: %', part, SQLERRM;
            END;
          END IF;
          d := d + 1;
        END LOOP;
        RETURN created;
      END $$`);

    await q.query(`
      CREATE TABLE rejections (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        reason text NOT NULL,
        topic text NOT NULL,
        sn text,
        field text,
        detail text,
        excerpt text
      )`);
    await q.query(`CREATE INDEX rejections_reason_idx ON rejections (reason, id)`);
    await q.query(`CREATE INDEX rejections_sn_idx ON rejections (sn, id)`);

    await q.query(`
      CREATE TABLE device_events (
        id bigserial PRIMARY KEY,
        sn text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        kind text NOT NULL,
        line smallint,
        detail jsonb
      )`);
    await q.query(`CREATE INDEX device_events_sn_idx ON device_events (sn, at)`);
    await q.query(`CREATE INDEX device_events_kind_idx ON device_events (kind, at)`);

    await q.query(`CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE settings`);
    await q.query(`DROP TABLE device_events`);
    await q.query(`DROP TABLE rejections`);
    await q.query(`DROP TABLE telemetry`);
    await q.query(`DROP FUNCTION ensure_telemetry_partitions(date, date)`);
    await q.query(`DROP TABLE concentrator_lines`);
    await q.query(`DROP TABLE concentrators`);
  }
}
