import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { bulkQuery } from './bulk-query';

/**
 * The one way raw SQL runs: on the pool TypeORM opened (same bounds, same
 * gate), returning plain rows. TypeORM's own query() returns UPDATE …
 * RETURNING results wrapped differently per statement kind; this does not.
 * Each table's statements stay in its owner's files.
 */
@Injectable()
export class SqlRunner {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The driver's pool; TypeORM keeps it private, so the cast lives here alone. */
  private get pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  /** For /health and /metrics: read without waiting for anything. */
  poolStats(): { total: number; idle: number; waiting: number } {
    const p = this.pool;
    return { total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount };
  }

  async rows<R extends QueryResultRow = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<R[]> {
    return (await this.pool.query<R>(sql, params)).rows;
  }

  /** Rows affected. */
  async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.pool.query(sql, params)).rowCount ?? 0;
  }

  /**
   * A write nobody waits on (telemetry batches, latest state, partitions):
   * under the bulk bound, in a transaction of its own.
   */
  async bulk<R extends QueryResultRow = Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<{ rows: R[]; rowCount: number }> {
    const res = await bulkQuery<R>(
      this.pool,
      this.config.database.bounds.bulkTimeoutMs,
      sql,
      params,
    );
    return { rows: res.rows, rowCount: res.rowCount ?? 0 };
  }
}
