import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Pool, QueryResultRow } from 'pg';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { bulkCopy } from './bulk-copy';
import { bulkQuery } from './bulk-query';
import { DatabaseGate } from './database-gate';

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
    // Always there in the app; a test or tool may run SQL without one.
    @Optional() private readonly gate?: DatabaseGate,
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

  /**
   * `COPY … FROM STDIN` of `rows` (COPY text, see copy-text.ts) under the
   * bulk bound, in a transaction of its own; the connection is discarded after
   * any failure. Returns the rows copied. The gate sees its failures as it sees
   * every query's (a COPY stream passes the gated client untouched).
   */
  async copyIn(
    sql: string,
    rows: Iterable<string | Buffer> | AsyncIterable<string | Buffer>,
  ): Promise<number> {
    const refused = this.gate?.refusal();
    if (refused) throw refused;
    try {
      return await bulkCopy(this.pool, this.config.database.bounds.bulkTimeoutMs, sql, rows);
    } catch (err) {
      this.gate?.observe(err);
      throw err;
    }
  }
}
