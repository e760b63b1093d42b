import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { bulkQuery } from '../database/bulk-query';
import { pgPool } from '../database/pg-pool';
import { MAX_BEHIND_S } from '../protocol/clock';
import { ENSURE_PARTITIONS } from './telemetry.sql';

/**
 * Keeps daily telemetry partitions ready: back as far as a trusted device
 * time may go (7 days) and PARTITION_DAYS_AHEAD days ahead, checked hourly.
 */
@Injectable()
export class PartitionMaintenance implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('Partitions');
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.ensure();
    this.timer = setInterval(() => void this.ensure(), 3_600_000).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async ensure(): Promise<number> {
    const day = (offsetDays: number) =>
      new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
    const back = Math.ceil(MAX_BEHIND_S / 86_400) + 1;
    try {
      // Creating a partition waits for the parent table's lock behind running batches.
      const {
        rows: [row],
      } = await bulkQuery<{ created: number }>(
        pgPool(this.dataSource),
        this.config.database.bounds.bulkTimeoutMs,
        ENSURE_PARTITIONS,
        [day(-back), day(this.config.ingest.partitionDaysAhead)],
      );
      const created = Number(row?.created ?? 0);
      if (created > 0) this.log.debug(`created ${created} telemetry partition(s)`);
      return created;
    } catch (err) {
      this.log.error(`partition maintenance failed: ${(err as Error).message}`);
      return 0;
    }
  }
}
