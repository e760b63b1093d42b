import { MigrationInterface, QueryRunner } from 'typeorm';

/** Per-device MQTT passwords (hash only); removed with their concentrator. */
export class DeviceCredentials1732240600000 implements MigrationInterface {
  name = 'DeviceCredentials1732240600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE device_credentials (
        sn text PRIMARY KEY REFERENCES concentrators (sn) ON DELETE CASCADE,
        password_hash text NOT NULL CHECK (password_hash LIKE '$7$%'),
        issued_at timestamptz NOT NULL DEFAULT now(),
        issued_by text
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE device_credentials`);
  }
}
