import { Column, Entity, PrimaryColumn } from 'typeorm';

/** The name an operator gave one breaker line (its values are telemetry's: `concentrator_lines`). */
@Entity('line_names')
export class LineName {
  @PrimaryColumn('text') sn!: string;
  @PrimaryColumn('smallint') line!: number;
  @Column('text') name!: string;
}
