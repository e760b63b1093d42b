import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One breaker line's latest known values and switch state, written by
 * LatestStore (UPSERT_LATEST_BATCH). Its operator-given name is the
 * registry's (`line_names`).
 */
@Entity('concentrator_lines')
export class ConcentratorLine {
  @PrimaryColumn('text') sn!: string;
  @PrimaryColumn('smallint') line!: number;
  @Column('timestamptz', { nullable: true }) ts!: Date | null;
  @Column('timestamptz', { name: 'received_at', nullable: true }) receivedAt!: Date | null;
  @Column('real', { name: 'voltage_v', nullable: true }) voltageV!: number | null;
  @Column('real', { name: 'current_a', nullable: true }) currentA!: number | null;
  @Column('real', { name: 'power_w', nullable: true }) powerW!: number | null;
  @Column('real', { name: 'reactive_var', nullable: true }) reactiveVar!: number | null;
  @Column('real', { nullable: true }) pf!: number | null;
  @Column('real', { name: 'freq_hz', nullable: true }) freqHz!: number | null;
  @Column('double precision', { name: 'energy_kwh', nullable: true }) energyKwh!: number | null;
  @Column('real', { name: 'leakage_ma', nullable: true }) leakageMa!: number | null;
  @Column('real', { name: 'temp_c', nullable: true }) tempC!: number | null;
  @Column('boolean', { name: 'is_on', nullable: true }) isOn!: boolean | null;
  @Column('timestamptz', { name: 'on_at', nullable: true }) onAt!: Date | null;
  @Column('text', { name: 'on_cause', nullable: true }) onCause!: string | null;
}
