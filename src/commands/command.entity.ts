import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BIGINT_NUMBER } from '../database/column-transformers';

export const COMMAND_STATES = ['sent', 'acked', 'failed', 'timeout'] as const;
export type CommandState = (typeof COMMAND_STATES)[number];

/** One message sent to a concentrator's `todev`, and what became of it. */
@Entity('commands')
export class Command {
  @PrimaryColumn('text') id!: string;
  @Column('text') sn!: string;
  @Column('text') type!: string;
  /** Lines a switch targets ("all" expanded when the line count is known; null = all / not line-bound). */
  @Column('int', { array: true, nullable: true }) lines!: number[] | null;
  /** The exact message published (wire field names). */
  @Column('jsonb') payload!: Record<string, unknown>;
  @Column('text') state!: CommandState;
  // bigint: devices send signed or unsigned 32-bit codes (docs/protocol.md, "What passes the decoder fits the database").
  @Column('bigint', { name: 'ack_code', nullable: true, transformer: BIGINT_NUMBER })
  ackCode!: number | null;
  @Column('text', { name: 'ack_msg', nullable: true }) ackMsg!: string | null;
  @Column('text') actor!: string;
  @Column('text', { name: 'actor_role', nullable: true }) actorRole!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'settled_at', nullable: true }) settledAt!: Date | null;
  // An ack that arrives after the command was settled (timeout, or a duplicate)
  // is kept here; the final state is never rewritten.
  @Column('timestamptz', { name: 'late_ack_at', nullable: true }) lateAckAt!: Date | null;
  @Column('boolean', { name: 'late_ack_ok', nullable: true }) lateAckOk!: boolean | null;
  @Column('bigint', { name: 'late_ack_code', nullable: true, transformer: BIGINT_NUMBER })
  lateAckCode!: number | null;
  @Column('text', { name: 'late_ack_msg', nullable: true }) lateAckMsg!: string | null;
  @Column('text', { name: 'idempotency_key', nullable: true }) idempotencyKey!: string | null;
  @Column('text', { name: 'request_hash', nullable: true }) requestHash!: string | null;
}
