import { MigrationInterface, QueryRunner } from 'typeorm';

/** Retention finds closed alarms by their clear time (ALARMS_KEEP_DAYS). */
export class ClosedAlarmsIndex1732240820000 implements MigrationInterface {
  name = 'ClosedAlarmsIndex1732240820000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX alarms_closed_idx ON alarms (cleared_at) WHERE NOT active`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX alarms_closed_idx`);
  }
}
