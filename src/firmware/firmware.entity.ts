import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { BIGINT_NUMBER } from '../database/column-transformers';

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
