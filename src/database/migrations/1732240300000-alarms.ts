import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Protection alarms raised and cleared by concentrators. At most one open
 * alarm per serial + line + code: the partial unique index is what the raise
 * upsert conflicts on, so concurrent raises (several backend instances) cannot
 * open two.
 */
export class Alarms1732240300000 implements MigrationInterface {
  name = 'Alarms1732240300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE alarms (
        id bigserial PRIMARY KEY,
        sn text NOT NULL CHECK (sn ~ '^[0-9]{12}$'),
        line smallint NOT NULL CHECK (line BETWEEN 0 AND 64),
        code text NOT NULL,
        active boolean NOT NULL,
        raised_at timestamptz,
        raised_value double precision,
        raised_limit double precision,
        last_at timestamptz,
        last_value double precision,
        last_limit double precision,
        repeat_count integer NOT NULL DEFAULT 0,
        cleared_at timestamptz,
        clear_value double precision,
        unmatched_clear boolean NOT NULL DEFAULT false,
        acked_at timestamptz,
        acked_by text,
        ack_note text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (active = (cleared_at IS NULL)),
        CHECK (unmatched_clear = (raised_at IS NULL))
      )`);
    await q.query(`CREATE UNIQUE INDEX alarms_open_uq ON alarms (sn, line, code) WHERE active`);
    await q.query(`CREATE INDEX alarms_open_idx ON alarms (id) WHERE active`);
    await q.query(`CREATE INDEX alarms_sn_idx ON alarms (sn, id)`);
    await q.query(`CREATE INDEX alarms_code_idx ON alarms (code, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE alarms`);
  }
}
