import { Injectable, OnModuleInit } from '@nestjs/common';
import { KeyedSerializer } from '../lib/keyed-serializer';
import { DeviceMessageContext } from '../ingestion/device-message-context';
import { IngestionService } from '../ingestion/ingestion.service';
import { ConfigRequestMsg, UpgradeProgressMsg } from '../protocol/device-messages';
import { compareVersions } from '../protocol/version';
import { UpgradeLastMessage } from './dto/upgrade.dto';
import { CampaignTarget, IN_FLIGHT_STATES, TargetState } from './entities/upgrade-target.entity';
import { UpgradeRunner } from './upgrade-runner.service';
import { UpgradeStore } from './upgrade-store';

/** A report for an earlier attempt still counts: the device may have acted on a command whose ack was lost. */
const REPORTABLE: readonly TargetState[] = ['queued', ...IN_FLIGHT_STATES];
/** Stages only move forward, whatever order reports are handled in. */
const STAGE_FROM: Record<'downloading' | 'verifying' | 'installing', readonly TargetState[]> = {
  downloading: ['queued', 'sent', 'acked', 'downloading'],
  verifying: ['queued', 'sent', 'acked', 'downloading', 'verifying'],
  installing: REPORTABLE,
};
/** Reality wins over bookkeeping: a device that runs the version is done, even after a timeout or the deadline. */
const CAN_COMPLETE: readonly TargetState[] = [...REPORTABLE, 'failed', 'expired'];

const sameVersion = (a: string, b: string) => compareVersions(a, b) === 0;

/**
 * What devices say about their upgrade: `upgrade` progress messages (matched
 * by the command id and the topic's serial) and, after the reboot, the
 * version in `config_request`, which is what marks a target done.
 */
@Injectable()
export class UpgradeProgress implements OnModuleInit {
  private readonly perDevice = new KeyedSerializer();

  constructor(
    private readonly ingestion: IngestionService,
    private readonly store: UpgradeStore,
    private readonly runner: UpgradeRunner,
  ) {}

  onModuleInit(): void {
    // The transport hands messages over concurrently: one device's reports are applied in arrival order.
    this.ingestion.on('upgrade', (ctx) =>
      this.perDevice.run(ctx.dev.sn, () => this.onUpgrade(ctx)),
    );
    this.ingestion.on('config_request', (ctx) =>
      this.perDevice.run(ctx.dev.sn, () => this.onConfigRequest(ctx)),
    );
  }

  async onUpgrade({
    dev,
    msg,
    at,
    reject,
  }: DeviceMessageContext<UpgradeProgressMsg>): Promise<void> {
    await this.runner.settledSend(dev.sn);
    const t = await this.store.byCommand(dev.sn, msg.id);
    if (!t) {
      // Not an upgrade this serial was sent: a refusal, counted like an ack for an unknown id.
      reject({
        reason: 'unknown_command',
        field: 'id',
        detail: 'upgrade progress for a command id this concentrator was not sent',
        payload: JSON.stringify(msg),
      });
      return;
    }
    const lastMessage = {
      state: msg.state,
      progress: msg.progress ?? null,
      version: msg.version ?? null,
      msg: msg.msg ?? null,
      commandId: msg.id,
      at: at.toISOString(),
    } satisfies UpgradeLastMessage;
    const changed = await this.apply(t, msg, lastMessage);
    // A settled target still records the device's final word (e.g. `done` after config_request did it).
    if (!changed && ['done', 'failed', 'rejected'].includes(msg.state)) {
      await this.store.note(t, lastMessage);
    }
  }

  private apply(
    t: CampaignTarget,
    msg: UpgradeProgressMsg,
    lastMessage: Record<string, unknown>,
  ): Promise<boolean> {
    const base = {
      lastMessage,
      progressAt: 'now' as const,
      ackedAt: 'keep_or_now' as const,
    };
    switch (msg.state) {
      case 'downloading':
      case 'verifying':
      case 'installing':
        return this.store.transition(t, STAGE_FROM[msg.state], {
          ...base,
          state: msg.state,
          progress: msg.progress ?? (msg.state === 'downloading' ? 0 : null),
          reason: null,
        });
      case 'done':
        if (msg.version === undefined) {
          // Wait for the version in config_request before calling it done.
          return this.store.transition(t, REPORTABLE, {
            ...base,
            state: 'installing',
            progress: 100,
          });
        }
        if (sameVersion(msg.version, t.version)) {
          return this.store.transition(t, CAN_COMPLETE, {
            ...base,
            state: 'done',
            progress: 100,
            reportedVersion: msg.version,
            reason: null,
            finishedAt: 'now',
          });
        }
        return this.store.transition(t, REPORTABLE, {
          ...base,
          state: 'failed',
          reportedVersion: msg.version,
          reason: `device reported done but runs ${msg.version}`,
          finishedAt: 'now',
        });
      case 'failed':
      case 'rejected':
        return this.store.transition(t, REPORTABLE, {
          ...base,
          state: msg.state,
          progress: msg.progress,
          reason: msg.msg ? `device: ${msg.msg}` : `device reported ${msg.state}`,
          finishedAt: 'now',
        });
    }
  }

  async onConfigRequest({ dev, msg }: DeviceMessageContext<ConfigRequestMsg>): Promise<void> {
    this.runner.noteVersion(dev.sn, msg.fw);
    await this.runner.settledSend(dev.sn);
    for (const t of await this.store.sentNotDone(dev.sn)) {
      if (sameVersion(msg.fw, t.version)) {
        await this.store.transition(t, CAN_COMPLETE, {
          state: 'done',
          progress: 100,
          reportedVersion: msg.fw,
          reason: null,
          finishedAt: 'now',
        });
      } else if (t.state === 'installing') {
        // Installing ends in a reboot; coming back on another version means it did not take.
        await this.store.transition(t, ['installing'], {
          state: 'failed',
          reportedVersion: msg.fw,
          reason: `rebooted into ${msg.fw} instead of ${t.version}`,
          finishedAt: 'now',
        });
      }
    }
    // A device that just connected may have a queued upgrade waiting for it.
    void this.runner.kick();
  }
}
