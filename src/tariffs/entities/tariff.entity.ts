import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { RatePeriod } from '../tariff-pricing';

/** A time-of-use tariff: a price per kWh for each local hour, per rate period. */
@Entity('tariffs')
export class Tariff {
  @PrimaryColumn('text') id!: string;
  @Column('text', { nullable: true }) name!: string | null;
  /** ISO 4217 code */
  @Column('text') currency!: string;
  /** IANA zone the hours and the effective-from dates are local to */
  @Column('text') tz!: string;
  /** Sorted by effectiveFrom; 24 prices each */
  @Column('jsonb') rates!: RatePeriod[];
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  @Column('text', { name: 'updated_by' }) updatedBy!: string;
}
