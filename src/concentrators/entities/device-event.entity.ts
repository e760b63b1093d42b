import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type DeviceEventKind =
  | 'discovered'
  | 'online'
  | 'offline'
  | 'clock_skew'
  | 'clock_ok'
  | 'serial_mismatch'
  | 'status'
  | 'adopted'
  | 'released'
  | 'created'
  | 'deleted';

@Entity('device_events')
export class DeviceEvent {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('text') sn!: string;
  @Column('timestamptz', { default: () => 'now()' }) at!: Date;
  @Column('text') kind!: DeviceEventKind;
  @Column('smallint', { nullable: true }) line!: number | null;
  @Column('jsonb', { nullable: true }) detail!: Record<string, unknown> | null;
  /** How many identical events this row stands for (DEVICE_EVENTS_COALESCE_S); `at` is the first. */
  @Column('integer', { default: 1 }) occurrences!: number;
  /** Time of the last of them; null while there is only the first. */
  @Column('timestamptz', { name: 'last_at', nullable: true }) lastAt!: Date | null;
}
