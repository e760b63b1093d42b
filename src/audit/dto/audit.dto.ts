import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PaginationQuery, PageOf } from '../../common/pagination.dto';
import { AUDIT_OUTCOMES } from '../audit-entry.entity';

export class ListAuditQuery extends PaginationQuery {
  @ApiPropertyOptional({ description: 'e.g. command.switch, concentrator.adopt' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  action?: string;

  @ApiPropertyOptional({ description: 'serial, command id, token id …' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  target?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  actor?: string;

  @ApiPropertyOptional({ enum: AUDIT_OUTCOMES })
  @IsOptional()
  @IsIn(AUDIT_OUTCOMES)
  outcome?: 'ok' | 'refused' | 'failed';
}

export class AuditView {
  @ApiProperty() id!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty() actor!: string;
  @ApiProperty({ nullable: true, type: String }) actorRole!: string | null;
  @ApiProperty() action!: string;
  @ApiProperty({ nullable: true, type: String }) target!: string | null;
  @ApiProperty({ enum: AUDIT_OUTCOMES }) outcome!: string;
  @ApiProperty({ nullable: true, type: Number }) statusCode!: number | null;
  @ApiProperty({ nullable: true, type: Object }) detail!: Record<string, unknown> | null;
  @ApiProperty({ nullable: true, type: String }) ip!: string | null;
}

export class AuditPage extends PageOf(AuditView) {}
