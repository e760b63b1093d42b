import type { Pool } from 'pg';
import { DataSource } from 'typeorm';

/**
 * The driver's pg pool, for the few statements that matter for speed or need
 * plain `rows` back (TypeORM's query() wraps UPDATE … RETURNING results).
 */
export function pgPool(dataSource: DataSource): Pool {
  return (dataSource.driver as unknown as { master: Pool }).master;
}
