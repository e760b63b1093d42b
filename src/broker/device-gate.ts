import { Inject, Injectable, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import { ConcentratorsService } from '../concentrators/concentrators.service';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { CredentialsService } from '../credentials/credentials.service';
import {
  DeviceAuthorizer,
  DeviceCheck,
  EMBEDDED_BROKER_AUTH,
  EmbeddedBrokerAuth,
} from '../embedded/broker-auth';
import { ConcentratorLifecycle } from '../lifecycle/concentrator-lifecycle';
import { SecurityMetrics } from '../metrics/security-metrics.service';

/**
 * Whether a device may connect, the same rule for every broker (the embedded
 * one, EMQX through its hooks, mosquitto through the exported files):
 * - a serial with a password must present it, and be managed (or pending
 *   under open enrollment);
 * - a serial without one (unknown, discovered, auto-adopted) gets in only
 *   under open enrollment, so it can be discovered.
 * Released, deleted or given a new password: its live connection to the
 * embedded broker is dropped at once.
 */
@Injectable()
export class DeviceGate implements DeviceAuthorizer, OnModuleInit, OnModuleDestroy {
  private unsubscribe?: () => void;

  constructor(
    private readonly concentrators: ConcentratorsService,
    private readonly credentials: CredentialsService,
    private readonly lifecycle: ConcentratorLifecycle,
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
    this.unsubscribe = this.lifecycle.subscribe((e) => {
      if (e.change === 'released' || e.change === 'deleted' || e.change === 'credentials_changed') {
        this.brokerAuth?.disconnect(e.sn);
      }
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
    const state = await this.concentrators.stateOf(sn);
    if (!state) return this.openEnrollment ? { ok: true } : { ok: false, reason: 'unknown_serial' };
    const check = await this.credentials.check(sn, password);
    if (check === 'no_credentials') {
      return this.openEnrollment ? { ok: true } : { ok: false, reason: 'no_credentials' };
    }
    if (check === 'bad_password') return { ok: false, reason: 'bad_password' };
    if (state !== 'managed' && !this.openEnrollment) return { ok: false, reason: 'pending' };
    return { ok: true };
  }

  /** Still allowed to publish and subscribe (EMQX asks on every action, cached). */
  async mayAct(sn: string): Promise<boolean> {
    return this.openEnrollment || (await this.concentrators.stateOf(sn)) === 'managed';
  }
}
