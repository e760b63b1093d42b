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
import { PeriodicJobs } from '../jobs/periodic-jobs';
import { describeSkip, skipReason } from './eligibility';
import { CampaignTarget } from './entities/upgrade-target.entity';
import { UpgradeStore } from './upgrade-store';

/** Sends of one target before a missing ack counts as failure (QoS 0 loses messages). */
export const MAX_ATTEMPTS = 3;
/** The runner's periodic pass (PeriodicJobs). */
export const PACING_JOB = 'upgrades.pacing';
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
  private running?: Promise<void>;
  private again = false;
  private unsubscribe?: () => void;
  /** Per serial: a send whose command id is not stored yet; reports wait for it. */
  private readonly sending = new Map<string, Promise<void>>();
  private readonly versions = new Map<string, string>();

  constructor(
    private readonly store: UpgradeStore,
    private readonly commands: CommandsService,
    private readonly settlement: CommandSettlement,
    private readonly registry: ConcentratorRegistry,
    private readonly jobs: PeriodicJobs,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.settlement.onSettled((cmd) => {
      if (cmd.type !== 'upgrade') return;
      // Listeners are synchronous: the work runs on, its failure logged here.
      void this.onCommandSettled(cmd).catch((err: Error) =>
        this.log.error(`settling ${cmd.id} for ${cmd.sn}: ${err.message}`),
      );
    });
    this.jobs.register({ name: PACING_JOB, everyMs: TICK_MS, run: () => this.kick() });
  }

  async onApplicationShutdown(): Promise<void> {
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

  private async sendOne(t: CampaignTarget): Promise<boolean> {
    // The device reports its version on every connect: until it has, the
    // downgrade check cannot be made, so the target waits.
    const fw = this.versions.get(t.sn) ?? this.registry.get(t.sn)?.fw ?? null;
    if (fw === null) return false;
    const campaign = { version: t.version, model: t.model, allowDowngrade: t.allowDowngrade };
    const reason = skipReason({ fw, model: null }, campaign);
    if (reason) {
      await this.store.transition(t, ['queued'], {
        state: 'skipped',
        reason: describeSkip(reason, { fw, model: null }, campaign),
        finishedAt: 'now',
      });
      return false;
    }
    const claimed = await this.store.transition(t, ['queued'], {
      state: 'sent',
      attempts: t.attempts + 1,
      sentAt: 'now',
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

  private async publish(t: CampaignTarget): Promise<boolean> {
    try {
      const cmd = await this.commands.dispatch({
        sn: t.sn,
        message: {
          type: 'upgrade',
          url: t.url,
          version: t.version,
          sha256: t.sha256,
          size: t.size,
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
          finishedAt: 'now',
        });
      } else {
        // Offline after all, broker down, …: back in the queue, the attempt not counted.
        await this.store.transition(t, ['sent'], {
          state: 'queued',
          attempts: t.attempts,
          sentAt: t.sentAt,
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
    // Only the target's current command moves it: an earlier attempt's late outcome does not.
    if (!t || t.commandId !== cmd.id) return;
    if (cmd.state === 'acked') {
      await this.store.transition(t, ['sent'], { state: 'acked', ackedAt: 'now' }, cmd.id);
    } else if (cmd.state === 'failed') {
      const detail = `device refused the upgrade: code ${cmd.ackCode ?? '?'}${cmd.ackMsg ? ` (${cmd.ackMsg})` : ''}`;
      await this.store.transition(
        t,
        ['sent'],
        { state: 'failed', reason: detail, finishedAt: 'now' },
        cmd.id,
      );
    } else if (cmd.state === 'timeout') {
      if (t.attempts < MAX_ATTEMPTS) {
        await this.store.transition(
          t,
          ['sent'],
          { state: 'queued', reason: `no ack to attempt ${t.attempts}; will retry` },
          cmd.id,
        );
        void this.kick();
      } else {
        await this.store.transition(
          t,
          ['sent'],
          { state: 'failed', reason: `no ack after ${t.attempts} attempts`, finishedAt: 'now' },
          cmd.id,
        );
      }
    }
  }
}

/** Commands of a campaign are attributed to the admin who started it. */
function campaignActor(t: CampaignTarget): Actor | null {
  const role = t.createdByRole as Role | null;
  return role && ROLES.includes(role) ? { name: t.createdBy, role } : null;
}
