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
}
