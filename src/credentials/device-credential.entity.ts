import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A device's MQTT password, only as a mosquitto-compatible `$7$` hash. */
@Entity('device_credentials')
export class DeviceCredential {
  @PrimaryColumn('text') sn!: string;
  @Column('text', { name: 'password_hash' }) passwordHash!: string;
  @Column('timestamptz', { name: 'issued_at', default: () => 'now()' }) issuedAt!: Date;
  @Column('text', { name: 'issued_by', nullable: true }) issuedBy!: string | null;
}
