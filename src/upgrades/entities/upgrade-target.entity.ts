import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { UpgradeCampaign } from './upgrade-campaign.entity';

export const TARGET_STATES = [
  'queued',
  'sent',
  'acked',
  'downloading',
  'verifying',
  'installing',
  'done',
  'failed',
  'rejected',
  'skipped',
  'expired',
] as const;
export type TargetState = (typeof TARGET_STATES)[number];

export const FINAL_TARGET_STATES: readonly TargetState[] = [
  'done',
  'failed',
  'rejected',
  'skipped',
  'expired',
];
/** Sent and not settled: the device may still report on it. */
export const IN_FLIGHT_STATES: readonly TargetState[] = [
  'sent',
  'acked',
  'downloading',
  'verifying',
  'installing',
];

/**
 * A row of upgrade_targets: the one shape of it in the code, whether read by
 * the repository or by UpgradeStore's statements (upgrades.sql.ts).
 */
@Entity('upgrade_targets')
export class UpgradeTarget {
  @PrimaryColumn('uuid', { name: 'campaign_id' }) campaignId!: string;
  @PrimaryColumn('text') sn!: string;
  @Column('text') state!: TargetState;
  @Column('smallint', { nullable: true }) progress!: number | null;
  @Column('text', { name: 'from_version', nullable: true }) fromVersion!: string | null;
  @Column('text', { name: 'reported_version', nullable: true }) reportedVersion!: string | null;
  @Column('text', { nullable: true }) reason!: string | null;
  @Column('text', { name: 'command_id', nullable: true }) commandId!: string | null;
  @Column('text', { name: 'command_ids', array: true, default: () => "'{}'" })
  commandIds!: string[];
  @Column('integer', { default: 0 }) attempts!: number;
  @Column('jsonb', { name: 'last_message', nullable: true }) lastMessage!: Record<
    string,
    unknown
  > | null;
  @Column('timestamptz', { name: 'sent_at', nullable: true }) sentAt!: Date | null;
  @Column('timestamptz', { name: 'acked_at', nullable: true }) ackedAt!: Date | null;
  @Column('timestamptz', { name: 'progress_at', nullable: true }) progressAt!: Date | null;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' }) updatedAt!: Date;
}

/** What a target's campaign installs, read along with the target. */
export type CampaignOrder = Pick<
  UpgradeCampaign,
  'version' | 'url' | 'sha256' | 'size' | 'model' | 'allowDowngrade' | 'createdBy' | 'createdByRole'
>;

/** A target with its campaign's order: what the runner sends and device reports are matched to. */
export type CampaignTarget = UpgradeTarget & CampaignOrder;

/** What identifies a target and names it on the live feed. */
export type TargetKey = Pick<UpgradeTarget, 'campaignId' | 'sn'> & Pick<CampaignOrder, 'version'>;
