import {
  HttpException,
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { Actor, Role, ROLES } from '../identity/roles';
import { Command } from '../commands/command.entity';
import { CommandSettlement } from '../commands/command-settlement.service';
import { CommandsService } from '../commands/commands.service';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ConcentratorRegistry } from '../concentrators/concentrator-registry.service';
import { describeSkip, skipReason } from './eligibility';
import { TargetRow, UpgradeTargetStore } from './upgrade-target-store';

/** Sends of one target before a missing ack counts as failure (QoS 0 loses messages). */
export const MAX_ATTEMPTS = 3;
const TICK_MS = 1000;
const SCAN_LIMIT = 5000;

/**
 * Drives running campaigns: sends `upgrade` to online queued targets within
 * the per-minute budget (UPGRADE_RATE_PER_MIN, devices across all campaigns),
 * expires what is open at a campaign's deadline, closes finished campaigns,
 * and turns command outcomes (ack, refusal, timeout) into target states.
 */
@Injectable()
export class UpgradeRunner implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger('Upgrades');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private unsubscribe?: () => void;
  /** Per serial: a send whose command id is not stored yet; reports wait for it. */
  private readonly sending = new Map<string, Promise<void>>();
  private readonly versions = new Map<string, string>();

  constructor(
    private readonly store: UpgradeTargetStore,
    private readonly commands: CommandsService,
    private readonly settlement: CommandSettlement,
    private readonly registry: ConcentratorRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.settlement.onSettled((cmd) => {
      if (cmd.type !== 'upgrade') return;
      this.onCommandSettled(cmd).catch((err: Error) =>
        this.log.error(`settling ${cmd.id} for ${cmd.sn}: ${err.message}`),
      );
    });
    this.timer = setInterval(() => this.kick(), TICK_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.running;
  }

  /** Runs a pass now (or right after the current one). */
  kick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.pass()
      .catch((err: Error) => this.log.error(`campaign pass failed: ${err.message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          void this.kick();
        }
      });
    return this.running;
  }

  /** Lets a device report be matched only once the command id of a send in flight is stored. */
  async settledSend(sn: string): Promise<void> {
    await this.sending.get(sn);
  }

  private async pass(): Promise<void> {
    await this.store.expireDue();
    let budget = this.config.firmware.ratePerMin - (await this.store.sentInLastMinute());
    if (budget > 0) {
      for (const t of await this.store.queued(SCAN_LIMIT)) {
        if (budget <= 0) break;
        if (!this.registry.get(t.sn)?.online) continue;
        if (await this.sendOne(t)) budget--;
      }
    }
    await this.store.finishCompleted();
  }

  /** The version a device just reported (config_request), ahead of the registry's own update. */
  noteVersion(sn: string, fw: string): void {
    this.versions.set(sn, fw);
  }

  private async sendOne(t: TargetRow): Promise<boolean> {
    // The device reports its version on every connect: until it has, the
    // downgrade check cannot be made, so the target waits.
    const fw = this.versions.get(t.sn) ?? this.registry.get(t.sn)?.fw ?? null;
    if (fw === null) return false;
    const campaign = { version: t.version, model: t.model, allowDowngrade: t.allow_downgrade };
    const reason = skipReason({ fw, model: null }, campaign);
    if (reason) {
      await this.store.transition(t, ['queued'], {
        state: 'skipped',
        reason: describeSkip(reason, { fw, model: null }, campaign),
        finished_at: 'now',
      });
      return false;
    }
    const claimed = await this.store.transition(t, ['queued'], {
      state: 'sent',
      attempts: t.attempts + 1,
      sent_at: 'now',
      progress: null,
      reason: null,
    });
    if (!claimed) return false;
    const job = this.publish(t);
    const marker = job.then(
      () => undefined,
      () => undefined,
    );
    this.sending.set(t.sn, marker);
    try {
      return await job;
    } finally {
      if (this.sending.get(t.sn) === marker) this.sending.delete(t.sn);
    }
  }

  private async publish(t: TargetRow): Promise<boolean> {
    try {
      const cmd = await this.commands.dispatch({
        sn: t.sn,
        message: {
          type: 'upgrade',
          url: t.url,
          version: t.version,
          sha256: t.sha256,
          size: Number(t.size),
        },
        actor: campaignActor(t),
        requireOnline: true,
      });
      await this.store.attachCommand(t, cmd.id);
      return true;
    } catch (err) {
      const status = err instanceof HttpException ? err.getStatus() : undefined;
      const permanent =
        (err as Error).name === 'ProtocolEncodeError' || status === 400 || status === 422;
      if (permanent) {
        await this.store.transition(t, ['sent'], {
          state: 'failed',
          reason: `command not sendable: ${(err as Error).message}`,
          finished_at: 'now',
        });
      } else {
        // Offline after all, broker down, …: back in the queue, the attempt not counted.
        await this.store.transition(t, ['sent'], {
          state: 'queued',
          attempts: t.attempts,
          sent_at: t.sent_at,
        });
        if (status !== 409)
          this.log.warn(`upgrade for ${t.sn} not sent: ${(err as Error).message}`);
      }
      return false;
    }
  }

  private async onCommandSettled(cmd: Command): Promise<void> {
    await this.settledSend(cmd.sn);
    const t = await this.store.byCommand(cmd.sn, cmd.id);
    if (!t || t.command_id !== cmd.id) return;
    const current = 'AND command_id = $4';
    if (cmd.state === 'acked') {
      await this.store.transition(t, ['sent'], { state: 'acked', acked_at: 'now' }, current, [
        cmd.id,
      ]);
    } else if (cmd.state === 'failed') {
      const detail = `device refused the upgrade: code ${cmd.ackCode ?? '?'}${cmd.ackMsg ? ` (${cmd.ackMsg})` : ''}`;
      await this.store.transition(
        t,
        ['sent'],
        { state: 'failed', reason: detail, finished_at: 'now' },
        current,
        [cmd.id],
      );
    } else if (cmd.state === 'timeout') {
      if (t.attempts < MAX_ATTEMPTS) {
        await this.store.transition(
          t,
          ['sent'],
          { state: 'queued', reason: `no ack to attempt ${t.attempts}; will retry` },
          current,
          [cmd.id],
        );
        void this.kick();
      } else {
        await this.store.transition(
          t,
          ['sent'],
          { state: 'failed', reason: `no ack after ${t.attempts} attempts`, finished_at: 'now' },
          current,
          [cmd.id],
        );
      }
    }
  }
}

/** Commands of a campaign are attributed to the admin who started it. */
function campaignActor(t: TargetRow): Actor | null {
  const role = t.created_by_role as Role | null;
  return role && ROLES.includes(role) ? { name: t.created_by, role } : null;
}
