import {
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  OnModuleDestroy,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../identity/roles';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DeviceHistory } from '../concentrators/device-history.service';
import {
  DeviceAuthorizer,
  DeviceCheck,
  EMBEDDED_BROKER_AUTH,
  EmbeddedBrokerAuth,
} from '../embedded/broker-auth';
import { SecurityMetrics } from '../metrics/security-metrics.service';
import { generatePassword, hashPassword, verifyPassword } from './password-hash';

export interface IssuedCredentials {
  sn: string;
  mqttPassword: string;
  issuedAt: Date;
}

type IssueReason = 'create' | 'adopt' | 'rotate';

/**
 * Per-device MQTT passwords: generated here, shown once, stored only as a
 * mosquitto `$7$` hash. Also the device check behind the embedded broker and
 * the EMQX hooks, so every broker applies the same rules:
 * - a serial with a password must present it, and be managed (or pending
 *   under open enrollment);
 * - a serial without one (unknown, discovered, auto-adopted) gets in only
 *   under open enrollment, so it can be discovered.
 */
@Injectable()
export class CredentialsService implements DeviceAuthorizer, OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('Credentials');
  private unsubscribe?: () => void;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly deviceEvents: DeviceHistory,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Optional()
    @Inject(EMBEDDED_BROKER_AUTH)
    private readonly brokerAuth: EmbeddedBrokerAuth | null = null,
    @Optional()
    @Inject(SecurityMetrics)
    private readonly metrics: SecurityMetrics | null = null,
  ) {}

  onModuleInit(): void {
    this.brokerAuth?.install(this, (reason) => this.metrics?.brokerAuthFailure(reason));
    // Released or deleted: the device loses its right to be connected at once.
    this.unsubscribe = this.deviceEvents.onEvent((e) => {
      if (e.kind === 'released' || e.kind === 'deleted') this.brokerAuth?.disconnect(e.sn);
    });
  }

  onModuleDestroy(): void {
    this.brokerAuth?.uninstall(this);
    this.unsubscribe?.();
  }

  get openEnrollment(): boolean {
    return this.config.security.openEnrollment;
  }

  async checkDevice(sn: string, password: Buffer | undefined): Promise<DeviceCheck> {
    const rows: { state: string; password_hash: string | null }[] = await this.dataSource.query(
      `SELECT c.state, d.password_hash
         FROM concentrators c LEFT JOIN device_credentials d ON d.sn = c.sn
        WHERE c.sn = $1`,
      [sn],
    );
    const row = rows[0];
    if (!row) return this.openEnrollment ? { ok: true } : { ok: false, reason: 'unknown_serial' };
    if (row.password_hash === null) {
      return this.openEnrollment ? { ok: true } : { ok: false, reason: 'no_credentials' };
    }
    if (!password || !(await verifyPassword(password, row.password_hash))) {
      return { ok: false, reason: 'bad_password' };
    }
    if (row.state !== 'managed' && !this.openEnrollment) return { ok: false, reason: 'pending' };
    return { ok: true };
  }

  /** A new password for a registered concentrator; the old one stops working at once. */
  async rotate(sn: string, actor: Actor | null): Promise<IssuedCredentials> {
    try {
      const issued = await this.store(sn, actor, 'replace');
      if (!issued) throw new NotFoundException(`concentrator ${sn} not found`);
      const disconnected = this.brokerAuth?.disconnect(sn) ?? false;
      await this.record(actor, 'rotate', sn, 'ok', { disconnected });
      return issued;
    } catch (err) {
      const status = (err as { getStatus?: () => number }).getStatus?.();
      await this.record(actor, 'rotate', sn, status && status < 500 ? 'refused' : 'failed', {
        statusCode: status,
        error: (err as Error).message,
      });
      throw err;
    }
  }

  /** The first password of a concentrator just registered. */
  async issueForNew(sn: string, actor: Actor | null): Promise<IssuedCredentials> {
    const issued = await this.store(sn, actor, 'replace');
    if (!issued) throw new NotFoundException(`concentrator ${sn} not found`);
    await this.record(actor, 'create', sn, 'ok', {});
    return issued;
  }

  /**
   * On adoption: a password only if the device has none yet (discovered under
   * open enrollment, or auto-adopted). A device that already has one, e.g.
   * released and adopted again, keeps it.
   */
  async issueIfMissing(sn: string, actor: Actor | null): Promise<IssuedCredentials | null> {
    const issued = await this.store(sn, actor, 'if_missing');
    if (issued) await this.record(actor, 'adopt', sn, 'ok', {});
    return issued;
  }

  private async store(
    sn: string,
    actor: Actor | null,
    mode: 'replace' | 'if_missing',
  ): Promise<IssuedCredentials | null> {
    const mqttPassword = generatePassword();
    const hash = await hashPassword(mqttPassword, this.config.security.passwordIterations);
    const onConflict =
      mode === 'replace'
        ? 'DO UPDATE SET password_hash = EXCLUDED.password_hash, issued_at = now(), issued_by = EXCLUDED.issued_by'
        : 'DO NOTHING';
    // INSERT … SELECT from concentrators: no row (unknown serial) inserts nothing.
    const rows: { issued_at: Date }[] = await this.dataSource.query(
      `INSERT INTO device_credentials (sn, password_hash, issued_by)
       SELECT sn, $2, $3 FROM concentrators WHERE sn = $1
       ON CONFLICT (sn) ${onConflict}
       RETURNING issued_at`,
      [sn, hash, actor?.name ?? null],
    );
    if (rows.length === 0) return null;
    return { sn, mqttPassword, issuedAt: rows[0].issued_at };
  }

  private async record(
    actor: Actor | null,
    reason: IssueReason,
    sn: string,
    outcome: 'ok' | 'refused' | 'failed',
    detail: Record<string, unknown> & { statusCode?: number },
  ): Promise<void> {
    const { statusCode, ...rest } = detail;
    if (outcome !== 'ok') this.log.warn(`credential ${reason} for ${sn}: ${outcome}`);
    await this.audit.record({
      actor,
      action: reason === 'rotate' ? 'credentials.rotate' : 'credentials.issue',
      target: sn,
      outcome,
      statusCode,
      detail: { reason, ...rest },
    });
  }
}
