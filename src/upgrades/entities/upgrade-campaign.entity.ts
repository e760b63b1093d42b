import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { BIGINT_NUMBER } from '../../database/column-transformers';

export const CAMPAIGN_STATES = ['running', 'finished'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

/** What to install (a snapshot: the campaign keeps working if the firmware row goes). */
@Entity('upgrade_campaigns')
export class UpgradeCampaign {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('uuid', { name: 'firmware_id', nullable: true }) firmwareId!: string | null;
  @Column('text') url!: string;
  @Column('text') sha256!: string;
  @Column('bigint', { transformer: BIGINT_NUMBER }) size!: number;
  @Column('text') version!: string;
  @Column('text', { nullable: true }) model!: string | null;
  @Column('boolean', { name: 'allow_downgrade', default: false }) allowDowngrade!: boolean;
  @Column('text', { nullable: true }) site!: string | null;
  @Column('text', { default: 'running' }) state!: CampaignState;
  @Column('text', { name: 'created_by' }) createdBy!: string;
  @Column('text', { name: 'created_by_role', nullable: true }) createdByRole!: string | null;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt!: Date;
  @Column('timestamptz', { name: 'deadline_at' }) deadlineAt!: Date;
  @Column('timestamptz', { name: 'finished_at', nullable: true }) finishedAt!: Date | null;
}
