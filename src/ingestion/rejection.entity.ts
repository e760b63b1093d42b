import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('rejections')
export class Rejection {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id!: string;
  @Column('timestamptz', { default: () => 'now()' }) at!: Date;
  @Column('text') reason!: string;
  @Column('text') topic!: string;
  @Column('text', { nullable: true }) sn!: string | null;
  @Column('text', { nullable: true }) field!: string | null;
  @Column('text', { nullable: true }) detail!: string | null;
  @Column('text', { nullable: true }) excerpt!: string | null;
}
