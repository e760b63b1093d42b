import { MigrationInterface, QueryRunner } from 'typeorm';

/** Who did what: commands, desired-state and registry changes, refused attempts. */
export class AuditLog1732240100000 implements MigrationInterface {
  name = 'AuditLog1732240100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        actor_role text,
        action text NOT NULL,
        target text,
        outcome text NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
        status_code integer,
        detail jsonb,
        ip text
      )`);
    await q.query(`CREATE INDEX audit_log_at_idx ON audit_log (at DESC)`);
    await q.query(`CREATE INDEX audit_log_target_idx ON audit_log (target, id)`);
    await q.query(`CREATE INDEX audit_log_action_idx ON audit_log (action, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log`);
  }
}
