import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service';
import { ApiAuthFailureReason, SecurityMetrics } from '../metrics/security-metrics.service';
import { routeTemplate } from './access-routes';
import { Actor } from '../identity/roles';

/** Per client IP and minute; beyond it refusals are only counted (see docs/security.md). */
export const DENIED_AUDIT_PER_MIN = 120;

export interface Denial {
  req: Request;
  status: 401 | 403 | 429;
  reason: ApiAuthFailureReason | 'forbidden' | 'rate_limit';
  client: string;
  command: boolean;
  actor?: Actor;
  detail?: Record<string, unknown>;
}

/**
 * Bookkeeping of refused API calls: metrics for all, an audit row for those on
 * command routes. The audit budget per client keeps a flood of refused calls
 * from turning into a flood of database writes.
 */
@Injectable()
export class AccessDenials {
  constructor(
    private readonly audit: AuditService,
    private readonly metrics: SecurityMetrics,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
  ) {}

  async record(d: Denial): Promise<void> {
    if (d.status === 403) this.metrics.apiForbidden(String(d.detail?.minRole ?? 'unknown'));
    else if (d.reason === 'rate_limit') this.metrics.apiRateLimited(String(d.detail?.limit));
    else this.metrics.apiAuthFailure(d.reason as ApiAuthFailureReason);
    if (!d.command) return;
    const budget = await this.storage.increment(
      `denied-audit:${d.client}`,
      60_000,
      DENIED_AUDIT_PER_MIN,
      0,
      'denied-audit',
    );
    if (budget.isBlocked) {
      this.metrics.deniedAuditSuppressed();
      return;
    }
    const params = d.req.params as Record<string, string | undefined>;
    await this.audit.record({
      actor: d.actor ?? null,
      action: 'access.denied',
      target: params.sn ?? params.id ?? d.req.path,
      outcome: 'refused',
      statusCode: d.status,
      detail: {
        method: d.req.method,
        path: d.req.path,
        route: routeTemplate(d.req),
        reason: d.reason,
        ...d.detail,
      },
      ip: d.client,
    });
  }
}
