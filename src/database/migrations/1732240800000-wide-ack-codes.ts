import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Firmware reports ack codes as signed or unsigned 32-bit integers (e.g.
 * 3000000000, 0x80004005): `integer` refused the unsigned ones, so an ack the
 * decoder had accepted was lost at the database and its command ended as
 * `timeout`. bigint holds every code the decoder lets through.
 */
export class WideAckCodes1732240800000 implements MigrationInterface {
  name = 'WideAckCodes1732240800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE commands
        ALTER COLUMN ack_code TYPE bigint,
        ALTER COLUMN late_ack_code TYPE bigint`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Codes beyond int4 cannot go back: they become NULL rather than fail the rollback.
    await q.query(`
      ALTER TABLE commands
        ALTER COLUMN ack_code TYPE integer
          USING CASE WHEN ack_code BETWEEN -2147483648 AND 2147483647 THEN ack_code END,
        ALTER COLUMN late_ack_code TYPE integer
          USING CASE WHEN late_ack_code BETWEEN -2147483648 AND 2147483647 THEN late_ack_code END`);
  }
}
