import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { SyncState } from '../concentrators/concentrators.service';

export type DesiredKind = 'schedules' | 'params';

/**
 * What an operator wants on a concentrator (wire form: schedule items or
 * params lines) beside what the device last reported, and which command last
 * carried the desired value. Config lives on `concentrators` instead.
 */
@Entity('desired_state')
export class DesiredState {
  @PrimaryColumn('text') sn!: string;
  @PrimaryColumn('text') kind!: DesiredKind;
  @Column('jsonb', { nullable: true }) desired!: Record<string, unknown>[] | null;
  @Column('timestamptz', { name: 'updated_at', nullable: true }) updatedAt!: Date | null;
  @Column('text', { name: 'updated_by', nullable: true }) updatedBy!: string | null;
  @Column('text', { nullable: true }) sync!: SyncState | null;
  @Column('text', { name: 'command_id', nullable: true }) commandId!: string | null;
  @Column('jsonb', { nullable: true }) reported!: Record<string, unknown>[] | null;
  @Column('timestamptz', { name: 'reported_at', nullable: true }) reportedAt!: Date | null;
  @Column('text', { name: 'reported_command_id', nullable: true }) reportedCommandId!:
    string | null;
}
