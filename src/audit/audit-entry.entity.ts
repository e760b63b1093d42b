import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const AUDIT_OUTCOMES = ['ok', 'refused', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

@Entity('audit_log')
export class AuditEntry {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('timestamptz', { default: () => 'now()' }) at!: Date;
  @Column('text') actor!: string;
  @Column('text', { name: 'actor_role', nullable: true }) actorRole!: string | null;
  @Column('text') action!: string;
  @Column('text', { nullable: true }) target!: string | null;
  @Column('text') outcome!: AuditOutcome;
  @Column('integer', { name: 'status_code', nullable: true }) statusCode!: number | null;
  @Column('jsonb', { nullable: true }) detail!: Record<string, unknown> | null;
  @Column('text', { nullable: true }) ip!: string | null;
}
