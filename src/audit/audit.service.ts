import {
  HttpException,
  Inject,
  Injectable,
  Logger,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import { isDatabaseUnavailable } from '../database/database-errors';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import {
  PRUNE_PLAN,
  PRUNE_SCHEDULE,
  PrunePlan,
  pruneInBatches,
} from '../database/prune-in-batches';
import { SqlRunner } from '../database/sql-runner';
import { PeriodicJobs } from '../jobs/periodic-jobs';
import { Actor } from '../identity/roles';
import { escapeControlChars } from '../common/control-chars';
import { newestFirstPage } from '../common/newest-first-page';
import { AuditActionName } from './audit-actions';
import { AuditEntry, AuditOutcome } from './audit-entry.entity';
import { PRUNE_AUDIT_LOG_BATCH } from './audit.sql';
import { AuditPage, ListAuditQuery } from './dto/audit.dto';

export const AUDIT_PRUNE_JOB = 'audit.prune';

export interface AuditInput {
  actor?: Actor | null;
  action: AuditActionName;
  target?: string | null;
  outcome: AuditOutcome;
  statusCode?: number;
  detail?: Record<string, unknown>;
  ip?: string | null;
}

/** How an attempt that threw is recorded: refused (the caller's fault, 4xx) or failed (ours). */
export function failureOf(err: unknown): {
  outcome: Exclude<AuditOutcome, 'ok'>;
  statusCode: number;
  error: string;
} {
  const http = err instanceof HttpException;
  const unavailable = !http && isDatabaseUnavailable(err);
  const statusCode = http ? err.getStatus() : unavailable ? 503 : 500;
  return {
    outcome: statusCode < 500 ? 'refused' : 'failed',
    statusCode,
    error: http ? httpMessage(err) : unavailable ? 'database unavailable' : 'internal error',
  };
}

function httpMessage(err: HttpException): string {
  const body = err.getResponse();
  const message =
    typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : body;
  return Array.isArray(message) ? message.join('; ') : String(message ?? err.message);
}

/**
 * Append-only trail; recording never fails the action it describes. Entries
 * older than AUDIT_KEEP_DAYS are deleted hourly, in batches.
 */
@Injectable()
export class AuditService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('Audit');
  private stopping = false;

  constructor(
    @InjectRepository(AuditEntry) private readonly repo: Repository<AuditEntry>,
    private readonly sql: SqlRunner,
    private readonly jobs: PeriodicJobs,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.jobs.register({ name: AUDIT_PRUNE_JOB, ...PRUNE_SCHEDULE, run: () => this.prune() });
  }

  onModuleDestroy(): void {
    this.stopping = true;
  }

  /** The trail, newest first, filtered by exact action, target, actor and outcome. */
  list(q: ListAuditQuery): Promise<AuditPage> {
    return newestFirstPage(this.repo, q, ['action', 'target', 'actor', 'outcome']);
  }

  /**
   * Deletes entries older than AUDIT_KEEP_DAYS, in batches (the hourly job;
   * tests pass a smaller plan). Returns the rows deleted.
   */
  async prune(plan: PrunePlan = PRUNE_PLAN): Promise<number> {
    const days = this.config.retention.auditDays;
    const deleted = await pruneInBatches(
      (limit) => this.sql.run(PRUNE_AUDIT_LOG_BATCH, [days, limit]),
      plan,
      { stopped: () => this.stopping },
    );
    if (deleted > 0) this.log.log(`deleted ${deleted} audit_log rows older than ${days} days`);
    return deleted;
  }

  /**
   * Runs `fn` and records its outcome whatever it is: `ok` (with `okStatus`
   * and what `okDetail` adds), or refused/failed with the status and error.
   * The error is rethrown unchanged.
   */
  async audited<T>(
    e: Omit<AuditInput, 'outcome' | 'statusCode'> & { okStatus?: number },
    fn: () => Promise<T>,
    okDetail?: (result: T) => Record<string, unknown>,
  ): Promise<T> {
    const { okStatus, ...entry } = e;
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      const f = failureOf(err);
      await this.record({
        ...entry,
        outcome: f.outcome,
        statusCode: f.statusCode,
        detail: { ...entry.detail, error: f.error },
      });
      throw err;
    }
    await this.record({
      ...entry,
      outcome: 'ok',
      statusCode: okStatus,
      detail: { ...entry.detail, ...okDetail?.(result) },
    });
    return result;
  }

  async record(e: AuditInput): Promise<void> {
    try {
      await this.repo.save(
        this.repo.create({
          actor: e.actor?.name ?? 'anonymous',
          actorRole: e.actor?.role ?? null,
          action: e.action,
          target: e.target == null ? null : storable(e.target),
          outcome: e.outcome,
          statusCode: e.statusCode ?? null,
          detail: e.detail == null ? null : storable(e.detail),
          ip: e.ip ?? null,
        }),
        { reload: false },
      );
    } catch (err) {
      this.log.error(`could not record ${e.action}: ${(err as Error).message}`);
    }
  }
}

/**
 * PostgreSQL refuses NUL in text and jsonb, and a refused input (say, a
 * firmware version with a NUL) is exactly what the trail must keep: control
 * characters are written as visible \uXXXX escapes instead.
 */
function storable<T>(v: T): T {
  if (typeof v === 'string') return escapeControlChars(v) as T;
  if (Array.isArray(v)) return v.map(storable) as T;
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [escapeControlChars(k), storable(x)]),
    ) as T;
  }
  return v;
}
