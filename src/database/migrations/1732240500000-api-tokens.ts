import { MigrationInterface, QueryRunner } from 'typeorm';

/** API tokens (hash only) with role, expiry, revocation and last use. */
export class ApiTokens1732240500000 implements MigrationInterface {
  name = 'ApiTokens1732240500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        token_hash text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
        token_prefix text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL,
        expires_at timestamptz,
        revoked_at timestamptz,
        revoked_by text,
        last_used_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX api_tokens_hash_idx ON api_tokens (token_hash)`);
    await q.query(`CREATE INDEX api_tokens_created_idx ON api_tokens (created_at DESC, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_tokens`);
  }
}
