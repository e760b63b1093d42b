import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Commands sent to concentrators, and the desired schedules / params beside
 * what the device last reported (config's desired values live on
 * `concentrators`, where the registry reads report_s).
 */
export class Commands1732240200000 implements MigrationInterface {
  name = 'Commands1732240200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE commands (
        id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,36}$'),
        sn text NOT NULL CHECK (sn ~ '^[0-9]{12}$'),
        type text NOT NULL,
        lines integer[],
        payload jsonb NOT NULL,
        state text NOT NULL CHECK (state IN ('sent', 'acked', 'failed', 'timeout')),
        ack_code integer,
        ack_msg text,
        actor text NOT NULL,
        actor_role text,
        created_at timestamptz NOT NULL DEFAULT now(),
        settled_at timestamptz,
        late_ack_at timestamptz,
        late_ack_ok boolean,
        late_ack_code integer,
        late_ack_msg text,
        idempotency_key text,
        request_hash text
      )`);
    await q.query(`CREATE INDEX commands_sn_created_idx ON commands (sn, created_at DESC)`);
    await q.query(`CREATE INDEX commands_created_idx ON commands (created_at DESC)`);
    await q.query(`CREATE INDEX commands_sent_idx ON commands (created_at) WHERE state = 'sent'`);
    await q.query(
      `CREATE UNIQUE INDEX commands_idempotency_idx ON commands (actor, idempotency_key)
        WHERE idempotency_key IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE desired_state (
        sn text NOT NULL REFERENCES concentrators (sn) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('schedules', 'params')),
        desired jsonb,
        updated_at timestamptz,
        updated_by text,
        sync text CHECK (sync IN ('pending', 'synced', 'failed')),
        command_id text,
        reported jsonb,
        reported_at timestamptz,
        reported_command_id text,
        PRIMARY KEY (sn, kind)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE desired_state`);
    await q.query(`DROP TABLE commands`);
  }
}
