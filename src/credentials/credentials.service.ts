import { Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { AuditService, failureOf } from '../audit/audit.service';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { SqlRunner } from '../database/sql-runner';
import { Actor } from '../identity/roles';
import { ConcentratorLifecycle } from '../lifecycle/concentrator-lifecycle';
import { generatePassword, hashPassword, verifyPassword } from './password-hash';

export interface IssuedCredentials {
  sn: string;
  mqttPassword: string;
  issuedAt: Date;
}

/** What a presented password says about a serial. */
export type PasswordCheck = 'ok' | 'bad_password' | 'no_credentials';

type IssueReason = 'create' | 'adopt' | 'rotate';

const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Per-device MQTT passwords: generated here, shown once, stored only as a
 * mosquitto `$7$` hash. The one owner of `device_credentials`. Whether a
 * device may connect also depends on its registration; that rule, shared by
 * every broker, is in broker/device-gate.ts.
 */
@Injectable()
export class CredentialsService {
  private readonly log = new Logger('Credentials');

  constructor(
    private readonly sql: SqlRunner,
    private readonly audit: AuditService,
    private readonly lifecycle: ConcentratorLifecycle,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async check(sn: string, password: Buffer | undefined): Promise<PasswordCheck> {
    const [row] = await this.sql.rows<{ password_hash: string }>(
      `SELECT password_hash FROM device_credentials WHERE sn = $1`,
      [sn],
    );
    if (!row) return 'no_credentials';
    return password && (await verifyPassword(password, row.password_hash)) ? 'ok' : 'bad_password';
  }

  /** Every stored hash, by serial (mosquitto's password_file). */
  hashes(): Promise<{ sn: string; hash: string }[]> {
    return this.sql.rows(`SELECT sn, password_hash AS hash FROM device_credentials ORDER BY sn`);
  }

  /** A new password for a registered concentrator; the old one stops working at once. */
  async rotate(sn: string, actor: Actor | null): Promise<IssuedCredentials> {
    try {
      const issued = await this.store(sn, actor, 'replace');
      if (!issued) throw new NotFoundException(`concentrator ${sn} not found`);
      // From here the new password is in force: whatever a subscriber does, the
      // caller must get it, or nobody could ever give it to the device.
      const detail: Record<string, unknown> = {};
      try {
        // Brokers drop a connection made with the old password (broker/device-gate.ts).
        await this.lifecycle.publish({
          sn,
          change: 'credentials_changed',
          actor: actor?.name ?? null,
        });
      } catch (err) {
        this.log.error(`after rotating ${sn}: ${(err as Error).message}`);
        detail.subscriberError = (err as Error).message;
      }
      await this.record(actor, 'rotate', sn, 'ok', detail);
      return issued;
    } catch (err) {
      const f = failureOf(err);
      await this.record(actor, 'rotate', sn, f.outcome, {
        statusCode: f.statusCode,
        error: f.error,
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

  /** null: the serial is not registered (the foreign key refuses it), or kept its password. */
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
    let rows: { issued_at: Date }[];
    try {
      rows = await this.sql.rows(
        `INSERT INTO device_credentials (sn, password_hash, issued_by) VALUES ($1, $2, $3)
         ON CONFLICT (sn) ${onConflict}
         RETURNING issued_at`,
        [sn, hash, actor?.name ?? null],
      );
    } catch (err) {
      if ((err as { code?: string }).code === FOREIGN_KEY_VIOLATION) return null;
      throw err;
    }
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
