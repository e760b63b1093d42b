import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { SqlRunner } from '../database/sql-runner';
import { LiveFeed } from '../live/live-feed.service';
import { CampaignState, UpgradeCampaign } from './entities/upgrade-campaign.entity';
import {
  CampaignTarget,
  TargetKey,
  TargetState,
  UpgradeTarget,
} from './entities/upgrade-target.entity';
import {
  ATTACH_TARGET_COMMAND,
  BUSY_SERIALS,
  EXPIRE_DUE_TARGETS,
  FINISH_COMPLETED_CAMPAIGNS,
  NOTE_TARGET_MESSAGE,
  QUEUED_TARGETS,
  RUNNING_CAMPAIGN_OF_FIRMWARE,
  SENT_IN_LAST_MINUTE,
  TARGET_BY_COMMAND,
  TARGET_STATE_COUNTS,
  TARGETS_SENT_NOT_DONE,
  transitionTarget,
} from './upgrades.sql';

/** What a new campaign records; id, state and finishedAt are the table's. */
export type NewCampaign = Pick<
  UpgradeCampaign,
  | 'firmwareId'
  | 'url'
  | 'sha256'
  | 'size'
  | 'version'
  | 'model'
  | 'allowDowngrade'
  | 'site'
  | 'createdBy'
  | 'createdByRole'
  | 'createdAt'
  | 'deadlineAt'
>;

/** A target as planned when its campaign is created: queued, or skipped with the reason. */
export type NewTarget = Pick<
  UpgradeTarget,
  'sn' | 'state' | 'fromVersion' | 'reason' | 'finishedAt'
>;

export interface StateCount {
  campaignId: string;
  state: TargetState;
  n: number;
}

/**
 * Columns a transition may set; values are parameters, `now` stamps a time
 * column, `keep_or_now` stamps it unless already set.
 */
export interface TargetPatch {
  state?: TargetState;
  progress?: number | null;
  reportedVersion?: string | null;
  reason?: string | null;
  lastMessage?: Record<string, unknown>;
  attempts?: number;
  sentAt?: Date | null | 'now';
  ackedAt?: 'now' | 'keep_or_now';
  progressAt?: 'now';
  finishedAt?: 'now' | null;
}

const COLUMN: Record<keyof TargetPatch, string> = {
  state: 'state',
  progress: 'progress',
  reportedVersion: 'reported_version',
  reason: 'reason',
  lastMessage: 'last_message',
  attempts: 'attempts',
  sentAt: 'sent_at',
  ackedAt: 'acked_at',
  progressAt: 'progress_at',
  finishedAt: 'finished_at',
};
const STAMPED: ReadonlySet<keyof TargetPatch> = new Set([
  'sentAt',
  'ackedAt',
  'progressAt',
  'finishedAt',
]);

/** A joined row as the driver returns it: bigint `size` comes as text. */
type CampaignTargetRow = Omit<CampaignTarget, 'size'> & { size: string };
const campaignTarget = (r: CampaignTargetRow): CampaignTarget => ({ ...r, size: Number(r.size) });

type TransitionRow = Pick<
  UpgradeTarget,
  'state' | 'progress' | 'reason' | 'reportedVersion' | 'commandId'
>;

/**
 * upgrade_campaigns and upgrade_targets: with upgrades.sql.ts, the only code
 * that names them. Target writes are conditional updates ("only from these
 * states"), so that concurrent events (an ack and a progress message, a
 * timeout and a late report) never move a target backwards. Each change of
 * state or progress is published as a live `upgrade` event.
 */
@Injectable()
export class UpgradeStore {
  constructor(
    @InjectRepository(UpgradeCampaign) private readonly campaigns: Repository<UpgradeCampaign>,
    @InjectRepository(UpgradeTarget) private readonly targets: Repository<UpgradeTarget>,
    private readonly sql: SqlRunner,
    private readonly live: LiveFeed,
  ) {}

  // ── campaigns ────────────────────────────────────────────────────────────

  /** The campaign and its targets, in one transaction; returns the campaign's id. */
  createCampaign(campaign: NewCampaign, targets: NewTarget[]): Promise<string> {
    return this.campaigns.manager.transaction(async (m) => {
      const c = await m
        .getRepository(UpgradeCampaign)
        .save(m.getRepository(UpgradeCampaign).create(campaign));
      const rows = targets.map((t) => ({ ...t, campaignId: c.id }));
      for (let i = 0; i < rows.length; i += 1000) {
        await m.getRepository(UpgradeTarget).insert(rows.slice(i, i + 1000));
      }
      return c.id;
    });
  }

  campaign(id: string): Promise<UpgradeCampaign | null> {
    return this.campaigns.findOneBy({ id });
  }

  /** Newest first, and the total. */
  listCampaigns(q: {
    state?: CampaignState;
    limit: number;
    offset: number;
  }): Promise<[UpgradeCampaign[], number]> {
    return this.campaigns.findAndCount({
      where: q.state ? { state: q.state } : {},
      order: { createdAt: 'DESC', id: 'ASC' },
      take: q.limit,
      skip: q.offset,
    });
  }

  /** Id of a running campaign that installs this uploaded image, if any. */
  async runningCampaignOf(firmwareId: string): Promise<string | null> {
    const [row] = await this.sql.rows<{ id: string }>(RUNNING_CAMPAIGN_OF_FIRMWARE, [firmwareId]);
    return row?.id ?? null;
  }

  /** Running campaigns whose every target is final become `finished`. */
  async finishCompleted(): Promise<void> {
    await this.sql.run(FINISH_COMPLETED_CAMPAIGNS);
  }

  // ── targets ──────────────────────────────────────────────────────────────

  /** A campaign's targets, by serial. */
  targetsOf(campaignId: string): Promise<UpgradeTarget[]> {
    return this.targets.find({ where: { campaignId }, order: { sn: 'ASC' } });
  }

  /** Number of targets per campaign and state. */
  stateCounts(campaignIds: string[]): Promise<StateCount[]> {
    if (!campaignIds.length) return Promise.resolve([]);
    return this.sql.rows<StateCount>(TARGET_STATE_COUNTS, [campaignIds]);
  }

  /** Serials with an open target in a running campaign (one upgrade at a time per device). */
  async busy(sns: string[]): Promise<Set<string>> {
    const rows = await this.sql.rows<{ sn: string }>(BUSY_SERIALS, [sns]);
    return new Set(rows.map((r) => r.sn));
  }

  /** The target of this serial that was sent this command (any attempt), if any. */
  async byCommand(sn: string, commandId: string): Promise<CampaignTarget | undefined> {
    const [row] = await this.sql.rows<CampaignTargetRow>(TARGET_BY_COMMAND, [sn, commandId]);
    return row && campaignTarget(row);
  }

  /** Targets of a serial whose command went out and that are not done yet. */
  async sentNotDone(sn: string): Promise<CampaignTarget[]> {
    const rows = await this.sql.rows<CampaignTargetRow>(TARGETS_SENT_NOT_DONE, [sn]);
    return rows.map(campaignTarget);
  }

  /** Queued targets of running campaigns before their deadline, oldest campaign first. */
  async queued(limit: number): Promise<CampaignTarget[]> {
    const rows = await this.sql.rows<CampaignTargetRow>(QUEUED_TARGETS, [limit]);
    return rows.map(campaignTarget);
  }

  async sentInLastMinute(): Promise<number> {
    const [row] = await this.sql.rows<{ n: number }>(SENT_IN_LAST_MINUTE);
    return row.n;
  }

  /**
   * Applies `patch` if the target is in one of `from` (and, with
   * `onlyCommand`, still waits on that command); returns whether it did.
   */
  async transition(
    t: TargetKey,
    from: readonly TargetState[],
    patch: TargetPatch,
    onlyCommand: string | null = null,
  ): Promise<boolean> {
    const sets: string[] = ['updated_at = now()'];
    const params: unknown[] = [t.campaignId, t.sn, [...from], onlyCommand];
    for (const key of Object.keys(patch) as (keyof TargetPatch)[]) {
      const value = patch[key];
      const col = COLUMN[key];
      if (value === undefined) continue;
      if (STAMPED.has(key) && value === 'now') sets.push(`${col} = now()`);
      else if (STAMPED.has(key) && value === 'keep_or_now')
        sets.push(`${col} = coalesce(${col}, now())`);
      else {
        params.push(key === 'lastMessage' ? JSON.stringify(value) : value);
        sets.push(`${col} = $${params.length}`);
      }
    }
    const [row] = await this.sql.rows<TransitionRow>(transitionTarget(sets), params);
    if (!row) return false;
    if (patch.state !== undefined || patch.progress !== undefined) {
      this.live.emit({
        kind: 'upgrade',
        sn: t.sn,
        at: new Date().toISOString(),
        upgrade: {
          campaignId: t.campaignId,
          version: t.version,
          state: row.state,
          progress: row.progress,
          reportedVersion: row.reportedVersion,
          commandId: row.commandId,
          reason: row.reason,
        },
      });
    }
    return true;
  }

  /** Records what the device said without changing the state (e.g. a report on a settled target). */
  async note(
    t: Pick<UpgradeTarget, 'campaignId' | 'sn'>,
    message: Record<string, unknown>,
  ): Promise<void> {
    await this.sql.run(NOTE_TARGET_MESSAGE, [t.campaignId, t.sn, JSON.stringify(message)]);
  }

  /** The command just sent for the target: its current one, and one of those it answers to. */
  async attachCommand(
    t: Pick<UpgradeTarget, 'campaignId' | 'sn'>,
    commandId: string,
  ): Promise<void> {
    await this.sql.run(ATTACH_TARGET_COMMAND, [t.campaignId, t.sn, commandId]);
  }

  /** Targets still open when their campaign's deadline passes become `expired`. */
  async expireDue(): Promise<TargetKey[]> {
    const rows = await this.sql.rows<TargetKey>(EXPIRE_DUE_TARGETS);
    for (const r of rows) {
      this.live.emit({
        kind: 'upgrade',
        sn: r.sn,
        at: new Date().toISOString(),
        upgrade: { campaignId: r.campaignId, version: r.version, state: 'expired' },
      });
    }
    return rows;
  }
}
