import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Actor } from '../auth/roles';
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
          target: e.target ?? null,
          outcome: e.outcome,
          statusCode: e.statusCode ?? null,
          detail: e.detail ?? null,
          ip: e.ip ?? null,
        }),
        { reload: false },
      );
    } catch (err) {
      this.log.error(`could not record ${e.action}: ${(err as Error).message}`);
    }
  }
}
