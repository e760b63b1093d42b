import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Uploaded firmware images (the bytes live on disk, content-addressed by
 * sha256) and upgrade campaigns with one row per target concentrator.
 */
export class FirmwareUpgrades1732240400000 implements MigrationInterface {
  name = 'FirmwareUpgrades1732240400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE firmware (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        version text NOT NULL,
        model text,
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size bigint NOT NULL CHECK (size > 0),
        filename text,
        uploaded_by text NOT NULL,
        uploaded_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One image per (version, model): a version label must name one set of bytes.
    await q.query(
      `CREATE UNIQUE INDEX firmware_version_model_uq ON firmware (version, coalesce(model, ''))`,
    );
    await q.query(`CREATE INDEX firmware_sha256_idx ON firmware (sha256)`);
    await q.query(`CREATE INDEX firmware_uploaded_idx ON firmware (uploaded_at DESC, id)`);

    await q.query(`
      CREATE TABLE upgrade_campaigns (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        firmware_id uuid REFERENCES firmware (id) ON DELETE SET NULL,
        url text NOT NULL,
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        size bigint NOT NULL CHECK (size > 0),
        version text NOT NULL,
        model text,
        allow_downgrade boolean NOT NULL DEFAULT false,
        site text,
        state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'finished')),
        created_by text NOT NULL,
        created_by_role text,
        created_at timestamptz NOT NULL DEFAULT now(),
        deadline_at timestamptz NOT NULL,
        finished_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX upgrade_campaigns_created_idx ON upgrade_campaigns (created_at DESC, id)`,
    );
    await q.query(
      `CREATE INDEX upgrade_campaigns_running_idx ON upgrade_campaigns (state) WHERE state = 'running'`,
    );

    await q.query(`
      CREATE TABLE upgrade_targets (
        campaign_id uuid NOT NULL REFERENCES upgrade_campaigns (id) ON DELETE CASCADE,
        sn text NOT NULL CHECK (sn ~ '^[0-9]{12}$'),
        state text NOT NULL CHECK (state IN ('queued', 'sent', 'acked', 'downloading', 'verifying',
          'installing', 'done', 'failed', 'rejected', 'skipped', 'expired')),
        progress smallint CHECK (progress BETWEEN 0 AND 100),
        from_version text,
        reported_version text,
        reason text,
        command_id text,
        command_ids text[] NOT NULL DEFAULT '{}',
        attempts integer NOT NULL DEFAULT 0,
        last_message jsonb,
        sent_at timestamptz,
        acked_at timestamptz,
        progress_at timestamptz,
        finished_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (campaign_id, sn)
      )`);
    await q.query(`CREATE INDEX upgrade_targets_sn_idx ON upgrade_targets (sn)`);
    await q.query(`CREATE INDEX upgrade_targets_command_idx ON upgrade_targets (command_id)`);
    await q.query(
      `CREATE INDEX upgrade_targets_queued_idx ON upgrade_targets (campaign_id) WHERE state = 'queued'`,
    );
    await q.query(`CREATE INDEX upgrade_targets_sent_at_idx ON upgrade_targets (sent_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE upgrade_targets`);
    await q.query(`DROP TABLE upgrade_campaigns`);
    await q.query(`DROP TABLE firmware`);
  }
}
