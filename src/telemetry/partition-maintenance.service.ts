import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SqlRunner } from '../database/sql-runner';
import { PeriodicJobs } from '../jobs/periodic-jobs';
import { MAX_BEHIND_S } from '../protocol/clock';
import { dropPartitionSql, ENSURE_PARTITIONS, PARTITIONS_BEFORE } from './telemetry.sql';

export const PARTITIONS_JOB = 'telemetry.partitions';

/**
 * Keeps daily telemetry partitions ready: back as far as a trusted device
 * time may go (7 days) and PARTITION_DAYS_AHEAD days ahead, checked hourly;
 * with TELEMETRY_KEEP_DAYS, drops the days older than that whole.
 */
@Injectable()
export class PartitionMaintenance implements OnModuleInit {
  private readonly log = new Logger('Partitions');

  constructor(
    private readonly sql: SqlRunner,
    private readonly jobs: PeriodicJobs,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    // Before ingestion starts: the first batch needs today's partition.
    await this.ensure();
    this.jobs.register({
      name: PARTITIONS_JOB,
      everyMs: 3_600_000,
      run: async () => {
        await this.ensure();
        await this.dropExpired();
      },
    });
  }

  async ensure(): Promise<number> {
    const day = (offsetDays: number) =>
      new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
    const back = Math.ceil(MAX_BEHIND_S / 86_400) + 1;
    try {
      // Creating a partition waits for the parent table's lock behind running batches.
      const {
        rows: [row],
      } = await this.sql.bulk<{ created: number }>(ENSURE_PARTITIONS, [
        day(-back),
        day(this.config.ingest.partitionDaysAhead),
      ]);
      const created = Number(row?.created ?? 0);
      if (created > 0) this.log.debug(`created ${created} telemetry partition(s)`);
      return created;
    } catch (err) {
      this.log.error(`partition maintenance failed: ${(err as Error).message}`);
      return 0;
    }
  }

  /** Partitions of days older than TELEMETRY_KEEP_DAYS (UTC days), dropped; returns their names. */
  async dropExpired(): Promise<string[]> {
    const keepDays = this.config.retention.telemetryDays;
    if (keepDays <= 0) return [];
    const firstKept = new Date(Date.now() - keepDays * 86_400_000).toISOString().slice(0, 10);
    const dropped: string[] = [];
    try {
      const due = await this.sql.rows<{ name: string }>(PARTITIONS_BEFORE, [firstKept]);
      for (const { name } of due) {
        // Waits for the table lock behind running batches, under the bulk bound.
        await this.sql.bulk(dropPartitionSql(name));
        dropped.push(name);
      }
    } catch (err) {
      this.log.error(`dropping old telemetry partitions failed: ${(err as Error).message}`);
    }
    if (dropped.length) {
      this.log.log(`dropped ${dropped.length} telemetry partition(s) before ${firstKept}`);
    }
    return dropped;
  }
}
