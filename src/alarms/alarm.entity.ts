import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One protection alarm episode: opened by `active:true`, repeated while open,
 * closed by `active:false`. A clear that found nothing open is kept as a
 * closed row with `unmatchedClear` (its raise was never seen).
 */
@Entity('alarms')
export class Alarm {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('text') sn!: string;
  @Column('smallint') line!: number;
  @Column('text') code!: string;
  @Column('boolean') active!: boolean;
  @Column('timestamptz', { name: 'raised_at', nullable: true }) raisedAt!: Date | null;
  @Column('double precision', { name: 'raised_value', nullable: true }) raisedValue!: number | null;
  @Column('double precision', { name: 'raised_limit', nullable: true }) raisedLimit!: number | null;
  @Column('timestamptz', { name: 'last_at', nullable: true }) lastAt!: Date | null;
  @Column('double precision', { name: 'last_value', nullable: true }) lastValue!: number | null;
  @Column('double precision', { name: 'last_limit', nullable: true }) lastLimit!: number | null;
  @Column('integer', { name: 'repeat_count', default: 0 }) repeatCount!: number;
  @Column('timestamptz', { name: 'cleared_at', nullable: true }) clearedAt!: Date | null;
  @Column('double precision', { name: 'clear_value', nullable: true }) clearValue!: number | null;
  @Column('boolean', { name: 'unmatched_clear', default: false }) unmatchedClear!: boolean;
  @Column('timestamptz', { name: 'acked_at', nullable: true }) ackedAt!: Date | null;
  @Column('text', { name: 'acked_by', nullable: true }) ackedBy!: string | null;
  @Column('text', { name: 'ack_note', nullable: true }) ackNote!: string | null;
  @Column('timestamptz', { name: 'created_at', default: () => 'now()' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' }) updatedAt!: Date;
}
