import { Column, Entity, PrimaryColumn } from 'typeorm';

export const CONCENTRATOR_STATES = ['pending', 'managed'] as const;
export type ConcentratorState = (typeof CONCENTRATOR_STATES)[number];
export type SyncState = 'pending' | 'synced' | 'failed';

@Entity('concentrators')
export class Concentrator {
  @PrimaryColumn('text') sn!: string;
  @Column('text') state!: ConcentratorState;
  @Column('text', { nullable: true }) name!: string | null;
  @Column('text', { nullable: true }) site!: string | null;
  @Column('text', { nullable: true }) fw!: string | null;
  @Column('text', { nullable: true }) model!: string | null;
  @Column('smallint', { name: 'line_count', nullable: true }) lineCount!: number | null;
  @Column('text', { nullable: true }) io!: string | null;
  @Column('boolean', { default: false }) online!: boolean;
  @Column('timestamptz', { name: 'online_changed_at', nullable: true })
  onlineChangedAt!: Date | null;
  @Column('timestamptz', { name: 'last_seen_at', nullable: true }) lastSeenAt!: Date | null;
  @Column('timestamptz', { name: 'first_seen_at', default: () => 'now()' }) firstSeenAt!: Date;
  @Column('boolean', { name: 'clock_skew', default: false }) clockSkew!: boolean;
  @Column('timestamptz', { name: 'clock_skew_at', nullable: true }) clockSkewAt!: Date | null;
  // Desired config: all three set, or none (the device keeps its own; nothing is pushed).
  @Column('integer', { name: 'report_s', nullable: true }) reportS!: number | null;
  @Column('integer', { name: 'heartbeat_s', nullable: true }) heartbeatS!: number | null;
  @Column('integer', { name: 'delta_pct', nullable: true }) deltaPct!: number | null;
  @Column('text', { name: 'config_sync', nullable: true }) configSync!: SyncState | null;
  @Column('text', { name: 'config_command_id', nullable: true }) configCommandId!: string | null;
  @Column('timestamptz', { name: 'adopted_at', nullable: true }) adoptedAt!: Date | null;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' }) updatedAt!: Date;
}
