import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString, Length, Matches } from 'class-validator';
import { Role, ROLES } from '../../identity/roles';
import { PaginationQuery, PageOf } from '../../common/pagination.dto';
import { IsTimestamp, TIMESTAMP_RULE } from '../../common/timestamp';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateTokenDto {
  @ApiProperty({ example: 'dashboard-north', description: 'who or what uses the token' })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  // Printable, no '#': the audit trail shows the token as name#idprefix.
  @Matches(/^[^#\p{C}]+$/u, { message: 'name must be printable and must not contain #' })
  name!: string;

  @ApiProperty({ enum: ROLES })
  @IsIn(ROLES)
  role!: Role;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    example: '2027-01-01T00:00:00Z',
    description: `after this instant the token is refused (401); must lie in the future; ${TIMESTAMP_RULE}`,
  })
  @IsOptional()
  @IsTimestamp()
  expiresAt?: Date;
}

export class ListTokensQuery extends PaginationQuery {}

export class TokenView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ROLES }) role!: Role;
  @ApiProperty({
    example: 'bcb_Xy3q',
    description: 'first characters of the token, to recognise it',
  })
  prefix!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ description: 'the actor that created it' }) createdBy!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) expiresAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastUsedAt!: string | null;
  @ApiProperty() revoked!: boolean;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revokedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) revokedBy!: string | null;
  @ApiProperty({ description: 'not revoked and not expired' }) active!: boolean;
}

export class TokenCreatedView extends TokenView {
  @ApiProperty({
    example: 'bcb_Xy3q…',
    description: 'the secret, shown only in this response (only its SHA-256 is stored)',
  })
  token!: string;
}

export class TokenPage extends PageOf(TokenView) {}
