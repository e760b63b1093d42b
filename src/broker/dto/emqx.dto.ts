import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

// Documentation only: the hooks read their bodies by hand, because a
// validation error (400) would make EMQX "ignore" instead of deny.

export class EmqxAuthnRequest {
  @ApiProperty({ example: '202005010001', description: '${username}' }) username!: string;
  @ApiProperty({ description: '${password}' }) password!: string;
  @ApiProperty({ example: '202005010001', description: '${clientid}: must equal the serial' })
  clientid!: string;
  @ApiPropertyOptional({ description: '${peerhost}, ignored' }) peerhost?: string;
}

export class EmqxAuthnResponse {
  @ApiProperty({ enum: ['allow', 'deny'] }) result!: string;
  @ApiProperty({ enum: [false] }) is_superuser!: boolean;
}

export class EmqxAuthzRequest {
  @ApiProperty({ example: '202005010001', description: '${username}' }) username!: string;
  @ApiProperty({ example: '202005010001', description: '${clientid}' }) clientid!: string;
  @ApiProperty({ example: 'smart/devs/202005010001/fromdev', description: '${topic}' })
  topic!: string;
  @ApiProperty({ enum: ['publish', 'subscribe'], description: '${action}' }) action!: string;
  @ApiPropertyOptional({
    example: 'false',
    description: '${retain}: required for publish (a retained publish is refused)',
  })
  retain?: string;
}

export class EmqxAuthzResponse {
  @ApiProperty({ enum: ['allow', 'deny'] }) result!: string;
}
