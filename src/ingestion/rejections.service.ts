import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { newestFirstPage } from '../common/newest-first-page';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import {
  PRUNE_PLAN,
  PRUNE_SCHEDULE,
  PrunePlan,
  pruneInBatches,
} from '../database/prune-in-batches';
import { SqlRunner } from '../database/sql-runner';
import { PeriodicJobs } from '../jobs/periodic-jobs';
import { ListRejectionsQuery, RejectionPage } from './dto/rejections.dto';
import { IngestStats } from './ingest-stats';
import { RejectionReason } from '../protocol/rejections';
import { safeLogString, sanitizeExcerpt } from '../protocol/sanitize';
import { Rejection } from './rejection.entity';
import { LogThrottle } from '../lib/log-throttle';
import { PRUNE_REJECTIONS_BATCH, TRIM_REJECTIONS } from './rejections.sql';

const LOG_PERIOD_MS = 10 * 60_000;
const FLUSH_MS = 1000;
const TRIM_EVERY_MS = 60_000;

export const REJECTIONS_TRIM_JOB = 'rejections.trim';
export const REJECTIONS_PRUNE_JOB = 'rejections.prune';

export interface RejectionInput {
  reason: RejectionReason;
  topic: string;
  sn?: string;
  field?: string;
  detail: string;
  payload?: Buffer | string;
}

/**
 * Every rejection is counted (by the ingestion); only a rate-limited sample is
 * written, and the table is trimmed to the newest REJECTIONS_KEEP rows every
 * minute (and rows older than REJECTIONS_KEEP_DAYS deleted hourly), so a flood
 * cannot fill the disk.
 */
@Injectable()
export class RejectionsService implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  private readonly log = new Logger('Rejections');
  private pending: Partial<Rejection>[] = [];
  private windowStart = 0;
  private windowCount = 0;
  private timer?: NodeJS.Timeout;
  private stopping = false;
  // One line per sender and reason per period: a pending concentrator reporting
  // every few seconds must not fill the log, but its first refusal is seen at once.
  private readonly logThrottle = new LogThrottle(LOG_PERIOD_MS);

  constructor(
    @InjectRepository(Rejection) private readonly repo: Repository<Rejection>,
    private readonly stats: IngestStats,
    private readonly sql: SqlRunner,
    private readonly jobs: PeriodicJobs,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS).unref();
    this.jobs.register({
      name: REJECTIONS_TRIM_JOB,
      everyMs: TRIM_EVERY_MS,
      run: () => this.trim(),
    });
    this.jobs.register({ name: REJECTIONS_PRUNE_JOB, ...PRUNE_SCHEDULE, run: () => this.prune() });
  }

  onModuleDestroy(): void {
    this.stopping = true;
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Recorded rejections, newest first, with every rejection counted since start by reason. */
  async list(q: ListRejectionsQuery): Promise<RejectionPage> {
    const page = await newestFirstPage(this.repo, q, ['reason', 'sn']);
    return { ...page, counts: Object.fromEntries(this.stats.rejected) };
  }

  /**
   * Records a sample of a rejected message. Counting is the ingestion's
   * (one outcome per message, see IngestStats); this only bounds the table.
   */
  record(r: RejectionInput): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (++this.windowCount > this.config.ingest.rejectionsRecordPerS) {
      this.stats.unrecordedRejections += 1;
      return;
    }
    this.logOnce(r, now);
    this.pending.push({
      at: new Date(now),
      reason: r.reason,
      topic: sanitizeExcerpt(r.topic, 160),
      sn: r.sn ?? null,
      field: r.field ? sanitizeExcerpt(r.field, 80) : null,
      detail: sanitizeExcerpt(r.detail, 200),
      excerpt: r.payload === undefined ? null : sanitizeExcerpt(r.payload, 200),
    });
  }

  private logOnce(r: RejectionInput, now: number): void {
    const logged = this.logThrottle.take(`${r.sn ?? r.topic}|${r.reason}`, now);
    if (!logged) return;
    const held = logged.held ? ` (${logged.held} more since the last line)` : '';
    if (r.reason === 'unknown_device' && r.sn) {
      this.log.warn(
        `concentrator ${r.sn} is not managed: ${safeLogString(r.detail)}; adopt it with ` +
          `POST /api/v1/concentrators/${r.sn}/adopt${held}`,
      );
      return;
    }
    this.log.warn(
      `rejected ${r.reason} on ${safeLogString(r.topic, 96)}${r.field ? ` (${safeLogString(r.field)})` : ''}${held}`,
    );
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    try {
      await this.repo.insert(rows);
    } catch (err) {
      this.log.error(`could not record ${rows.length} rejections: ${(err as Error).message}`);
    }
  }

  /** Keeps (about) the newest REJECTIONS_KEEP rows; returns the rows deleted. */
  trim(): Promise<number> {
    return this.sql.run(TRIM_REJECTIONS, [this.config.ingest.rejectionsKeep]);
  }

  /**
   * Deletes rejections older than REJECTIONS_KEEP_DAYS, in batches (the hourly
   * job; tests pass a smaller plan). Returns the rows deleted.
   */
  async prune(plan: PrunePlan = PRUNE_PLAN): Promise<number> {
    const days = this.config.retention.rejectionsDays;
    const deleted = await pruneInBatches(
      (limit) => this.sql.run(PRUNE_REJECTIONS_BATCH, [days, limit]),
      plan,
      { stopped: () => this.stopping },
    );
    if (deleted > 0) this.log.log(`deleted ${deleted} rejections rows older than ${days} days`);
    return deleted;
  }
}
