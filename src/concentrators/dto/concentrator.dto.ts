import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsQueryBoolean } from '../../common/query-boolean';
import {
  IsIn,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { PaginationQuery, PageOf } from '../../common/pagination.dto';
import { CONCENTRATOR_STATES } from '../entities/concentrator.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateConcentratorDto {
  @ApiProperty({ example: '202005010001', description: '12 ASCII digits (yyyymmddssss)' })
  @Matches(/^[0-9]{12}$/, { message: 'sn must be 12 digits' })
  sn!: string;

  @ApiProperty({ example: 'Building A, floor 2' })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name!: string;

  @ApiPropertyOptional({ example: 'campus-north' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  site?: string;
}

export class AdoptConcentratorDto {
  @ApiProperty({ example: 'Building A, floor 2' })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name!: string;

  @ApiPropertyOptional({ example: 'campus-north' })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  site?: string;
}

export class UpdateConcentratorDto {
  @ApiPropertyOptional()
  // Not IsOptional: that lets null through, and a managed concentrator always has a name.
  @ValidateIf((_, v) => v !== undefined)
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name?: string;

  @ApiPropertyOptional({ nullable: true })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(100)
  site?: string;
}

export class ListConcentratorsQuery extends PaginationQuery {
  @ApiPropertyOptional({ enum: CONCENTRATOR_STATES })
  @IsOptional()
  @IsIn(CONCENTRATOR_STATES)
  state?: 'managed' | 'pending';

  @ApiPropertyOptional({ type: Boolean })
  @IsOptional()
  @IsQueryBoolean()
  online?: boolean;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(100)
  site?: string;

  @ApiPropertyOptional({ description: 'substring of serial or name' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  q?: string;
}

export class DeleteConcentratorQuery {
  @ApiPropertyOptional({ type: Boolean, description: 'also delete stored telemetry' })
  @IsOptional()
  @IsQueryBoolean()
  purge?: boolean;
}

export class RenameLineDto {
  @ApiProperty({ example: 'Kitchen sockets' })
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name!: string;
}

export class ConcentratorView {
  @ApiProperty() sn!: string;
  @ApiProperty({ enum: CONCENTRATOR_STATES }) state!: string;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({ nullable: true, type: String }) site!: string | null;
  @ApiProperty() online!: boolean;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastSeenAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) onlineChangedAt!:
    string | null;
  @ApiProperty({ nullable: true, type: String }) fw!: string | null;
  @ApiProperty({ nullable: true, type: String }) model!: string | null;
  @ApiProperty({ nullable: true, type: Number }) lineCount!: number | null;
  @ApiProperty({ nullable: true, type: String }) io!: string | null;
  @ApiProperty() clockSkew!: boolean;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) clockSkewAt!: string | null;
  @ApiProperty({
    description:
      'sync state of config / schedules / params: pending | synced | failed (null = nothing desired yet)',
    example: { config: 'synced', schedules: 'pending', params: null },
  })
  sync!: { config: string | null; schedules: string | null; params: string | null };
  @ApiProperty({ format: 'date-time' }) firstSeenAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) adoptedAt!: string | null;
}

export class ConcentratorCreatedView extends ConcentratorView {
  @ApiPropertyOptional({
    description:
      'Per-device MQTT password (username = the serial), returned once: only a hash is kept. ' +
      'Always present on create; on adopt only when the device had none.',
  })
  mqttPassword?: string;
}

export class ConcentratorPage extends PageOf(ConcentratorView) {}

export class LineView {
  @ApiProperty() line!: number;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
}
