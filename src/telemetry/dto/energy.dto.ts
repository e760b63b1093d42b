import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsTimeZone } from 'class-validator';
import { IsQueryBoolean } from '../../common/query-boolean';
import { AppliedTariffView } from '../../tariffs/dto/tariff.dto';
import { LineRangeQuery } from './telemetry.dto';
import { ENERGY_PERIODS, EnergyPeriod } from '../telemetry.sql';

const COST_RULE =
  "the kWh of each hour of the tariff's zone × the price of that local hour in the rate " +
  'period in effect on that local date, summed over the hours of the period (a day of 23 or ' +
  '25 hours when clocks change); in the currency of the tariff, rounded to 6 decimals. ' +
  'null when some of the energy has no rate in effect (before the first effectiveFrom)';

export class EnergyQuery extends LineRangeQuery {
  @ApiPropertyOptional({ enum: ENERGY_PERIODS, default: 'day' })
  @IsOptional()
  @IsIn(ENERGY_PERIODS)
  period: EnergyPeriod = 'day';

  @ApiPropertyOptional({
    example: 'Asia/Shanghai',
    description:
      "IANA time zone the periods are aligned to; default UTC, or with cost=true the tariff's " +
      'zone (another zone is then a 400)',
  })
  @IsOptional()
  @IsTimeZone()
  tz?: string;

  @ApiPropertyOptional({
    type: Boolean,
    default: false,
    description:
      'add the cost of each item and in total, priced with the tariff of the concentrator ' +
      "(its own, else its site's: 409 `no_tariff` when neither has one); periods are then " +
      "aligned to the tariff's zone",
  })
  @IsOptional()
  @IsQueryBoolean()
  cost?: boolean;
}

export const STATEMENT_PERIODS = ['day', 'month'] as const;
export type StatementPeriod = (typeof STATEMENT_PERIODS)[number];

export class StatementQuery extends LineRangeQuery {
  @ApiPropertyOptional({ enum: STATEMENT_PERIODS, default: 'day' })
  @IsOptional()
  @IsIn(STATEMENT_PERIODS)
  period: StatementPeriod = 'day';
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
  @ApiPropertyOptional({
    nullable: true,
    type: Number,
    example: 0.0945,
    description: `with cost=true: ${COST_RULE}`,
  })
  cost?: number | null;
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
  @ApiPropertyOptional({ type: AppliedTariffView, description: 'with cost=true: the tariff used' })
  tariff?: AppliedTariffView;
  @ApiPropertyOptional({
    nullable: true,
    type: Number,
    description: "with cost=true: sum of the items' costs; null when one of them is null",
  })
  totalCost?: number | null;
  @ApiPropertyOptional({
    description: 'with cost=true: kWh without a rate in effect (0 when all energy is priced)',
  })
  unpricedKwh?: number;
}

export class StatementLine {
  @ApiProperty() line!: number;
  @ApiProperty({ nullable: true, type: String, description: "the line's name, if given" })
  name!: string | null;
  @ApiProperty({ description: 'kWh, 6 decimals' }) kwh!: number;
  @ApiProperty({ nullable: true, type: Number, description: COST_RULE }) cost!: number | null;
}

export class StatementPeriodView {
  @ApiProperty({
    example: '2024-10-27',
    description: "the local date (day) or month (YYYY-MM) in the tariff's zone",
  })
  label!: string;
  @ApiProperty({ format: 'date-time', description: 'its local midnight (UTC instant)' })
  periodStart!: string;
  @ApiProperty({ description: 'the concentrator: sum of its lines' }) kwh!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    description: "the concentrator: sum of its lines' costs, null when one is null",
  })
  cost!: number | null;
  @ApiProperty({ type: [StatementLine], description: 'lines with readings in the period' })
  lines!: StatementLine[];
}

export class StatementResult {
  @ApiProperty() sn!: string;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({ nullable: true, type: String }) site!: string | null;
  @ApiProperty({ type: AppliedTariffView }) tariff!: AppliedTariffView;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({ enum: STATEMENT_PERIODS }) period!: string;
  @ApiProperty({ description: "the tariff's zone: periods are its local days or months" })
  tz!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({ type: [StatementPeriodView], description: 'periods with readings, in order' })
  periods!: StatementPeriodView[];
  @ApiProperty({ type: [StatementLine], description: 'per line over the whole range' })
  lines!: StatementLine[];
  @ApiProperty() totalKwh!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'null when some energy is unpriced' })
  totalCost!: number | null;
  @ApiProperty({ description: 'kWh without a rate in effect (0 when all energy is priced)' })
  unpricedKwh!: number;
}
