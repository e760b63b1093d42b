import { Column, Entity, PrimaryGeneratedColumn, ValueTransformer } from 'typeorm';

/** bigint arrives from pg as a string; image sizes stay far below 2^53. */
export const BIGINT_NUMBER: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | null) => (v === null ? null : Number(v)),
};

/** Metadata of an uploaded image; the bytes are `<DATA_DIR>/firmware/<sha256>`. */
@Entity('firmware')
export class Firmware {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') version!: string;
  @Column('text', { nullable: true }) model!: string | null;
  @Column('text') sha256!: string;
  @Column('bigint', { transformer: BIGINT_NUMBER }) size!: number;
  @Column('text', { nullable: true }) filename!: string | null;
  @Column('text', { name: 'uploaded_by' }) uploadedBy!: string;
  @Column('timestamptz', { name: 'uploaded_at', default: () => 'now()' }) uploadedAt!: Date;
}
