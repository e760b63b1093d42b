import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsQueryBoolean } from '../../common/query-boolean';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsIntInRange } from '../../common/int-param';
import { PaginationQuery, PageOf } from '../../common/pagination.dto';
import { ALARM_CODES } from '../../protocol/device-messages';

export class ListAlarmsQuery extends PaginationQuery {
  @ApiPropertyOptional({ description: 'true: open alarms only; false: cleared ones only' })
  @IsOptional()
  @IsQueryBoolean()
  active?: boolean;

  @ApiPropertyOptional({ description: 'true: acknowledged only; false: not yet acknowledged' })
  @IsOptional()
  @IsQueryBoolean()
  acked?: boolean;

  @ApiPropertyOptional({ description: 'concentrator serial' })
  @IsOptional()
  @Matches(/^[0-9]{12}$/, { message: 'sn must be 12 digits' })
  sn?: string;

  @ApiPropertyOptional({ enum: ALARM_CODES })
  @IsOptional()
  @IsIn(ALARM_CODES)
  code?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 64,
    description: '0 = the concentrator itself',
  })
  @IsOptional()
  @IsIntInRange(0, 64)
  line?: number;
}

export class AckAlarmDto {
  @ApiPropertyOptional({ maxLength: 500, description: 'free text kept with the acknowledgement' })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  note?: string;
}

export class AlarmView {
  @ApiProperty() id!: string;
  @ApiProperty({ example: '202005010001' }) sn!: string;
  @ApiProperty({ description: 'breaker line 1-64, 0 = the concentrator itself' }) line!: number;
  @ApiProperty({ enum: ALARM_CODES }) code!: string;
  @ApiProperty({ description: 'true while open (raised, not yet cleared)' }) active!: boolean;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'device time of the raise; null for an unmatched clear',
  })
  raisedAt!: string | null;
  @ApiProperty({ nullable: true, type: Number }) raisedValue!: number | null;
  @ApiProperty({ nullable: true, type: Number }) raisedLimit!: number | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'time of the latest active:true report (raise or repeat)',
  })
  lastAt!: string | null;
  @ApiProperty({ nullable: true, type: Number }) lastValue!: number | null;
  @ApiProperty({ nullable: true, type: Number }) lastLimit!: number | null;
  @ApiProperty({ description: 'active:true reports received while already open' })
  repeatCount!: number;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) clearedAt!: string | null;
  @ApiProperty({ nullable: true, type: Number }) clearValue!: number | null;
  @ApiProperty({ description: 'a clear arrived with no open alarm to close (raise never seen)' })
  unmatchedClear!: boolean;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) ackedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) ackedBy!: string | null;
  @ApiProperty({ nullable: true, type: String }) ackNote!: string | null;
  @ApiProperty({ format: 'date-time', description: 'server time the row was created' })
  createdAt!: string;
}

export class AlarmPage extends PageOf(AlarmView) {}
