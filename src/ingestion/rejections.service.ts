import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { IngestStats } from './ingest-stats';
import { RejectionReason } from '../protocol/rejections';
import { safeLogString, sanitizeExcerpt } from '../protocol/sanitize';
import { Rejection } from './rejection.entity';
import { LogThrottle } from '../lib/log-throttle';

const LOG_PERIOD_MS = 10 * 60_000;

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
 * written, and the table is trimmed to the newest REJECTIONS_KEEP rows (and
 * REJECTIONS_KEEP_DAYS by the retention job), so a flood cannot fill the disk.
 */
@Injectable()
export class RejectionsService implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('Rejections');
  private pending: Partial<Rejection>[] = [];
  private windowStart = 0;
  private windowCount = 0;
  private timers: NodeJS.Timeout[] = [];
  // One line per sender and reason per period: a pending concentrator reporting
  // every few seconds must not fill the log, but its first refusal is seen at once.
  private readonly logThrottle = new LogThrottle(LOG_PERIOD_MS);

  constructor(
    @InjectRepository(Rejection) private readonly repo: Repository<Rejection>,
    private readonly stats: IngestStats,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.timers.push(setInterval(() => void this.flush(), 1000).unref());
    this.timers.push(setInterval(() => void this.prune(), 60_000).unref());
  }

  async onApplicationShutdown(): Promise<void> {
    this.timers.forEach(clearInterval);
    await this.flush();
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

  async prune(): Promise<void> {
    try {
      await this.repo.query(
        `DELETE FROM rejections WHERE id <= (SELECT max(id) FROM rejections) - $1`,
        [this.config.ingest.rejectionsKeep],
      );
    } catch (err) {
      this.log.error(`prune failed: ${(err as Error).message}`);
    }
  }
}
