import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Actor } from '../auth/roles';
import { escapeControlChars } from '../common/control-chars';
import { AuditEntry, AuditOutcome } from './audit-entry.entity';

export interface AuditInput {
  actor?: Actor | null;
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  statusCode?: number;
  detail?: Record<string, unknown>;
  ip?: string | null;
}

/** Append-only trail; recording never fails the action it describes. */
@Injectable()
export class AuditService {
  private readonly log = new Logger('Audit');

  constructor(@InjectRepository(AuditEntry) private readonly repo: Repository<AuditEntry>) {}

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
