import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsTimeZone } from 'class-validator';
import { LineRangeQuery } from './telemetry.dto';
import { ENERGY_PERIODS, EnergyPeriod } from '../telemetry.sql';

export class EnergyQuery extends LineRangeQuery {
  @ApiPropertyOptional({ enum: ENERGY_PERIODS, default: 'day' })
  @IsOptional()
  @IsIn(ENERGY_PERIODS)
  period: EnergyPeriod = 'day';

  @ApiPropertyOptional({
    default: 'UTC',
    example: 'Asia/Shanghai',
    description: 'IANA time zone the periods are aligned to',
  })
  @IsOptional()
  @IsTimeZone()
  tz: string = 'UTC';
}

export class EnergyItem {
  @ApiProperty({ format: 'date-time', description: 'start of the period (UTC instant)' })
  periodStart!: string;
  @ApiProperty() line!: number;
  @ApiProperty({
    description:
      'kWh used in the period, rounded to 6 decimals (1 mWh): differences of the float8 ' +
      'counter carry binary noise beyond that (0.30000000000000004)',
    example: 0.3,
  })
  kwh!: number;
  @ApiProperty({ description: 'counter resets seen (breaker swapped)' }) resets!: number;
  @ApiProperty({ description: 'counter readings in the period' }) readings!: number;
}

export class EnergyResult {
  @ApiProperty() sn!: string;
  @ApiProperty({ enum: ENERGY_PERIODS }) period!: string;
  @ApiProperty() tz!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ type: [EnergyItem] }) items!: EnergyItem[];
  @ApiProperty({ description: 'sum over all items, rounded to 6 decimals like each item' })
  totalKwh!: number;
}
