import { ApiProperty } from '@nestjs/swagger';

export class CredentialsView {
  @ApiProperty({ example: '202005010001' }) sn!: string;

  @ApiProperty({
    example: 'q3J0lZ0sQ0m3d1m9Yp8f2Vb6sN4kLx7T',
    description:
      'The MQTT password (username = the serial), shown this once: only a hash is kept. ' +
      '32 URL-safe characters, 192 random bits.',
  })
  mqttPassword!: string;

  @ApiProperty({ format: 'date-time' }) issuedAt!: string;
}
