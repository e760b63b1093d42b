import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Device traffic must not grow a table without bound:
 * - a `device_events` row stands for a run of identical events within
 *   DEVICE_EVENTS_COALESCE_S: `occurrences` counts them, `last_at` is the time
 *   of the last one (NULL while there is only the first). Both are added
 *   without a table rewrite, so the migration is instant on a large history.
 * - indexes on the time columns let retention (DEVICE_EVENTS_KEEP_DAYS,
 *   REJECTIONS_KEEP_DAYS) delete old rows in small batches; audit_log has one.
 */
export class CoalescedDeviceEvents1732240810000 implements MigrationInterface {
  name = 'CoalescedDeviceEvents1732240810000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE device_events
        ADD COLUMN occurrences integer NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
        ADD COLUMN last_at timestamptz`);
    await q.query(`CREATE INDEX device_events_at_idx ON device_events (at)`);
    await q.query(`CREATE INDEX rejections_at_idx ON rejections (at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX rejections_at_idx`);
    await q.query(`DROP INDEX device_events_at_idx`);
    await q.query(`ALTER TABLE device_events DROP COLUMN last_at, DROP COLUMN occurrences`);
  }
}
