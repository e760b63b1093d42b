import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { pgPool } from '../database/pg-pool';
import { PrunePlan, RetainedTable, pruneBatchSql, pruneInBatches } from './retention';

const EVERY_MS = 3_600_000;
const FIRST_AFTER_MS = 60_000;
const PLAN: PrunePlan = { batchRows: 5000, maxBatches: 200, pauseMs: 50 };

/**
 * Deletes device_events, rejections, audit_log and closed alarm rows older
 * than their retention (DEVICE_EVENTS_KEEP_DAYS, REJECTIONS_KEEP_DAYS,
 * AUDIT_KEEP_DAYS, ALARMS_KEEP_DAYS),
 * hourly, in small batches. Telemetry has daily partitions and commands their
 * own prune (COMMANDS_KEEP_DAYS).
 */
@Injectable()
export class RetentionService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('Retention');
  private timers: NodeJS.Timeout[] = [];
  private running?: Promise<Record<RetainedTable, number>>;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // Not at once: start-up has enough to do, and a restart loop must not prune in a loop.
    this.timers.push(setTimeout(() => void this.prune(), FIRST_AFTER_MS).unref());
    this.timers.push(setInterval(() => void this.prune(), EVERY_MS).unref());
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.timers.forEach(clearTimeout);
    await this.running;
  }

  /** One pass over every table (single flight); returns rows deleted per table. */
  prune(plan: PrunePlan = PLAN): Promise<Record<RetainedTable, number>> {
    this.running ??= this.pass(plan).finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(plan: PrunePlan): Promise<Record<RetainedTable, number>> {
    const r = this.config.retention;
    const days: Record<RetainedTable, number> = {
      device_events: r.deviceEventsDays,
      rejections: r.rejectionsDays,
      audit_log: r.auditDays,
      alarms: r.alarmsDays,
    };
    const deleted: Record<RetainedTable, number> = {
      device_events: 0,
      rejections: 0,
      audit_log: 0,
      alarms: 0,
    };
    for (const table of Object.keys(days) as RetainedTable[]) {
      if (this.stopped) break;
      try {
        const sql = pruneBatchSql(table);
        deleted[table] = await pruneInBatches(async (limit) => {
          if (this.stopped) return 0;
          const res = await pgPool(this.dataSource).query(sql, [days[table], limit]);
          return res.rowCount ?? 0;
        }, plan);
        if (deleted[table] > 0) {
          this.log.log(`deleted ${deleted[table]} ${table} rows older than ${days[table]} days`);
        }
      } catch (err) {
        this.log.error(`pruning ${table} failed: ${(err as Error).message}`);
      }
    }
    return deleted;
  }
}
