import { Inject, Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';
import { METRIC_PREFIX, METRICS_REGISTRY } from './metrics-registry';

export type ApiAuthFailureReason =
  'missing' | 'malformed' | 'invalid' | 'expired' | 'revoked' | 'blocked';

/**
 * Counters for refused access, API and broker side. Other modules call these;
 * the broker integration calls brokerAuthFailure() for every denied client
 * (embedded aedes authenticate/authorize, EMQX hooks).
 */
@Injectable()
export class SecurityMetrics {
  private readonly apiAuthCounter: Counter<'reason'>;
  private readonly forbiddenCounter: Counter<'min_role'>;
  private readonly rateLimitedCounter: Counter<'limit'>;
  private readonly brokerAuthCounter: Counter<'reason'>;
  private readonly auditSuppressedCounter: Counter;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.apiAuthCounter = new Counter({
      name: `${METRIC_PREFIX}api_auth_failures_total`,
      help: 'API requests refused with 401 (or 429 while the client IP is blocked for repeated 401s), by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.forbiddenCounter = new Counter({
      name: `${METRIC_PREFIX}api_forbidden_total`,
      help: 'API requests refused with 403 (token role below the route minimum), by required role',
      labelNames: ['min_role'],
      registers: [registry],
    });
    this.rateLimitedCounter = new Counter({
      name: `${METRIC_PREFIX}api_rate_limited_total`,
      help: 'API requests refused with 429 by a rate limit, by limit name',
      labelNames: ['limit'],
      registers: [registry],
    });
    this.brokerAuthCounter = new Counter({
      name: `${METRIC_PREFIX}broker_auth_failures_total`,
      help: 'MQTT clients refused by the broker integration (connect or publish/subscribe), by reason',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.auditSuppressedCounter = new Counter({
      name: `${METRIC_PREFIX}api_denied_audit_suppressed_total`,
      help: 'Refused command-route calls not written to the audit log (per-client audit budget exhausted)',
      registers: [registry],
    });
  }

  deniedAuditSuppressed(): void {
    this.auditSuppressedCounter.inc();
  }

  apiAuthFailure(reason: ApiAuthFailureReason): void {
    this.apiAuthCounter.inc({ reason });
  }

  apiForbidden(minRole: string): void {
    this.forbiddenCounter.inc({ min_role: minRole });
  }

  apiRateLimited(limit: string): void {
    this.rateLimitedCounter.inc({ limit });
  }

  /** reason: a short, low-cardinality word (e.g. bad_password, unknown_serial, acl) — never a serial. */
  brokerAuthFailure(reason = 'denied'): void {
    this.brokerAuthCounter.inc({ reason });
  }
}
