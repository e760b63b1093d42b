import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  ValidateNested,
} from 'class-validator';
import { COMMAND_STATES } from '../../commands/command.entity';

// Types are checked here; ranges and cross-field rules come from the protocol
// schemas (wire-check.ts), so the API accepts exactly what may go on the wire.

const SYNC = ['pending', 'synced', 'failed'];

export class ConfigDto {
  @ApiProperty({ minimum: 5, maximum: 3600, example: 60, description: 'telemetry period, s' })
  @IsInt()
  reportS!: number;

  @ApiProperty({ minimum: 10, maximum: 600, example: 30, description: 'heartbeat period, s' })
  @IsInt()
  heartbeatS!: number;

  @ApiProperty({
    minimum: 0,
    maximum: 100,
    example: 5,
    description: 'report on change beyond this %',
  })
  @IsInt()
  deltaPct!: number;
}

export class ScheduleItemDto {
  @ApiProperty({ minimum: 1, maximum: 24, example: 1 }) @IsInt() slot!: number;
  @ApiProperty({ type: [Number], example: [1, 2] })
  @IsArray()
  @IsInt({ each: true })
  lines!: number[];
  @ApiProperty({ example: false }) @IsBoolean() on!: boolean;
  @ApiProperty({ example: '22:30', description: "HH:MM, the device's local time" })
  @IsString()
  at!: string;
  @ApiProperty({
    type: [Number],
    example: [1, 2, 3, 4, 5],
    description: 'ISO weekdays, 1 = Monday',
  })
  @IsArray()
  @IsInt({ each: true })
  days!: number[];
  @ApiProperty({ example: true }) @IsBoolean() enabled!: boolean;
}

export class SchedulesDto {
  @ApiProperty({
    type: [ScheduleItemDto],
    maxItems: 24,
    description: 'the whole table; [] clears it',
  })
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ScheduleItemDto)
  items!: ScheduleItemDto[];
}

export class ParamsLineDto {
  @ApiProperty({ minimum: 1, maximum: 64, example: 1 }) @IsInt() line!: number;
  @ApiPropertyOptional({ minimum: 0, maximum: 1000, example: 264 })
  @IsOptional()
  @IsNumber()
  maxVoltageV?: number;
  @ApiPropertyOptional({ minimum: 0, maximum: 1000, example: 176 })
  @IsOptional()
  @IsNumber()
  minVoltageV?: number;
  @ApiPropertyOptional({ minimum: 0, maximum: 10000, example: 32 })
  @IsOptional()
  @IsNumber()
  maxCurrentA?: number;
  @ApiPropertyOptional({ minimum: 0, maximum: 10000, example: 30 })
  @IsOptional()
  @IsNumber()
  maxLeakageMa?: number;
  @ApiPropertyOptional({ minimum: -50, maximum: 200, example: 85 })
  @IsOptional()
  @IsNumber()
  maxTempC?: number;
  @ApiPropertyOptional({ minimum: 0, maximum: 1e7, example: 7000 })
  @IsOptional()
  @IsNumber()
  maxPowerW?: number;
}

export class ParamsDto {
  @ApiProperty({
    type: [ParamsLineDto],
    minItems: 1,
    description:
      'thresholds per line; a missing field leaves that threshold unchanged on the device',
  })
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ParamsLineDto)
  lines!: ParamsLineDto[];
}

export class CarrierView {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: COMMAND_STATES }) state!: string;
  @ApiProperty({ nullable: true, type: Number, description: "the device's ack code (e.g. 34)" })
  ackCode!: number | null;
  @ApiProperty({ nullable: true, type: String }) ackMsg!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) settledAt!: string | null;
}

class SyncFields {
  @ApiProperty() sn!: string;
  @ApiProperty({
    enum: SYNC,
    nullable: true,
    type: String,
    description:
      'synced = acked by the device, pending = not yet acked, failed = last ack not ok; null = nothing desired',
  })
  sync!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'the command that last carried the desired value',
  })
  commandId!: string | null;
  @ApiProperty({ nullable: true, type: CarrierView }) command!: CarrierView | null;
}

export class ConfigView extends SyncFields {
  @ApiProperty({
    nullable: true,
    type: ConfigDto,
    description:
      'null until set (PUT, or PUSH_DEFAULT_CONFIG): the device then keeps its own settings and no config is sent',
  })
  desired!: ConfigDto | null;
}

export class SchedulesView extends SyncFields {
  @ApiProperty({ nullable: true, type: SchedulesDto, description: 'null until set through PUT' })
  desired!: SchedulesDto | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) updatedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) updatedBy!: string | null;
  @ApiProperty({
    nullable: true,
    type: SchedulesDto,
    description: "the device's last report (answer to query)",
  })
  reported!: SchedulesDto | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) reportedAt!: string | null;
  @ApiProperty({
    nullable: true,
    type: Boolean,
    description: 'desired differs from reported; null if either is missing',
  })
  drift!: boolean | null;
}

export class ParamsView extends SyncFields {
  @ApiProperty({ nullable: true, type: ParamsDto, description: 'null until set through PUT' })
  desired!: ParamsDto | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) updatedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) updatedBy!: string | null;
  @ApiProperty({
    nullable: true,
    type: ParamsDto,
    description: "the device's last report (answer to query)",
  })
  reported!: ParamsDto | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) reportedAt!: string | null;
  @ApiProperty({
    nullable: true,
    type: Boolean,
    description: 'a desired threshold differs from the reported one; null if either is missing',
  })
  drift!: boolean | null;
}
