import { Column, Entity, PrimaryColumn } from 'typeorm';

export const ASSIGNMENT_KINDS = ['concentrator', 'site'] as const;
export type AssignmentKind = (typeof ASSIGNMENT_KINDS)[number];

/**
 * Which tariff a concentrator (by serial) or a site uses: at most one each
 * (the key). A concentrator's own assignment wins over its site's. Serials
 * and sites are plain keys here, not references: a tariff may be assigned
 * before the concentrator is registered, and the registry stays its owner's.
 */
@Entity('tariff_assignments')
export class TariffAssignment {
  @PrimaryColumn('text') kind!: AssignmentKind;
  @PrimaryColumn('text') target!: string;
  @Column('text', { name: 'tariff_id' }) tariffId!: string;
}
