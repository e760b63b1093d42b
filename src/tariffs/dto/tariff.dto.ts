import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsNumber,
  isISO4217CurrencyCode,
  IsOptional,
  IsString,
  IsTimeZone,
  Length,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import { PageOf, PaginationQuery } from '../../common/pagination.dto';
import { ASSIGNMENT_KINDS } from '../entities/tariff-assignment.entity';
import { HOURS_PER_DAY, MAX_PRICE_PER_KWH, MAX_RATE_PERIODS, isLocalDate } from '../tariff-pricing';

/** Concentrators and sites one tariff may be assigned to in one PUT. */
export const MAX_ASSIGNED_CONCENTRATORS = 10_000;
export const MAX_ASSIGNED_SITES = 1_000;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const trimEach = ({ value }: { value: unknown }): unknown =>
  Array.isArray(value)
    ? (value as unknown[]).map((v) => (typeof v === 'string' ? v.trim() : v))
    : value;

const EXAMPLE_PRICES = Array.from({ length: HOURS_PER_DAY }, (_, h) =>
  h < 7 || h >= 22 ? 0.21 : h >= 17 && h < 20 ? 0.42 : 0.32,
);

/** YYYY-MM-DD, a real date (2000 … 2099). */
function IsLocalDate() {
  return ValidateBy({
    name: 'isLocalDate',
    validator: {
      validate: (v: unknown) => isLocalDate(v),
      defaultMessage: (a) =>
        `${a?.property ?? 'value'} must be a date YYYY-MM-DD (2000-01-01 to 2099-12-31)`,
    },
  });
}

/** An ISO 4217 currency code, in capitals. */
function IsCurrencyCode() {
  return ValidateBy({
    name: 'isCurrencyCode',
    validator: {
      validate: (v: unknown) =>
        typeof v === 'string' && /^[A-Z]{3}$/.test(v) && isISO4217CurrencyCode(v),
      defaultMessage: () => 'currency must be an ISO 4217 code in capitals, e.g. EUR',
    },
  });
}

export class RatePeriodDto {
  @ApiProperty({
    example: '2024-01-01',
    description:
      "first day the prices apply, a date in the tariff's time zone (from its local " +
      'midnight); they apply until the next period starts',
  })
  @IsLocalDate()
  effectiveFrom!: string;

  @ApiProperty({
    type: [Number],
    minItems: HOURS_PER_DAY,
    maxItems: HOURS_PER_DAY,
    example: EXAMPLE_PRICES,
    description:
      `price per kWh, in the tariff's currency, for each local hour: index 0 is 00:00–01:00, ` +
      `23 is 23:00–24:00; each finite, from 0 to ${MAX_PRICE_PER_KWH}. On the day clocks go ` +
      'forward the skipped hour is not billed; on the day they go back the repeated hour is ' +
      'billed twice at its price.',
  })
  @IsArray({ message: 'pricePerKwh must be an array of 24 prices, one per local hour 0-23' })
  @ArrayMinSize(HOURS_PER_DAY, {
    message: 'pricePerKwh must hold 24 prices, one per local hour 0-23',
  })
  @ArrayMaxSize(HOURS_PER_DAY, {
    message: 'pricePerKwh must hold 24 prices, one per local hour 0-23',
  })
  @IsNumber(
    { allowNaN: false, allowInfinity: false },
    { each: true, message: 'pricePerKwh must hold finite numbers only' },
  )
  @Min(0, { each: true, message: 'pricePerKwh must hold prices of 0 or more' })
  @Max(MAX_PRICE_PER_KWH, {
    each: true,
    message: `pricePerKwh must hold prices of at most ${MAX_PRICE_PER_KWH}`,
  })
  pricePerKwh!: number[];
}

export class PutTariffDto {
  @ApiPropertyOptional({ example: 'Residential time-of-use 2024', maxLength: 100 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  name?: string;

  @ApiProperty({ example: 'EUR', description: 'ISO 4217 currency code, in capitals' })
  @IsCurrencyCode()
  currency!: string;

  @ApiProperty({
    example: 'Europe/Berlin',
    description:
      "IANA time zone of the prices' hours and the effective-from dates (stored with the " +
      "zone database's spelling, e.g. europe/berlin → Europe/Berlin)",
  })
  @IsString()
  @IsTimeZone()
  tz!: string;

  @ApiProperty({
    type: [RatePeriodDto],
    minItems: 1,
    maxItems: MAX_RATE_PERIODS,
    description:
      'one or more rate periods, each in effect from its date until the next one; no two ' +
      'on one date (any order; stored sorted). Energy before the first period has no price.',
  })
  @IsArray()
  @ArrayMinSize(1, { message: 'rates must hold at least one rate period' })
  @ArrayMaxSize(MAX_RATE_PERIODS, {
    message: `rates may hold at most ${MAX_RATE_PERIODS} rate periods`,
  })
  @ValidateNested({ each: true })
  @Type(() => RatePeriodDto)
  rates!: RatePeriodDto[];

  @ApiPropertyOptional({
    type: [String],
    example: ['202005010001'],
    maxItems: MAX_ASSIGNED_CONCENTRATORS,
    description:
      'serials this tariff applies to (their own tariff wins over their site’s); replaces ' +
      'the previous list. A serial assigned to another tariff is a 409.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ASSIGNED_CONCENTRATORS)
  @ArrayUnique({ message: 'concentrators must not repeat a serial' })
  @Matches(/^[0-9]{12}$/, { each: true, message: 'concentrators must hold serials of 12 digits' })
  concentrators?: string[];

  @ApiPropertyOptional({
    type: [String],
    example: ['campus-north'],
    maxItems: MAX_ASSIGNED_SITES,
    description:
      "sites this tariff applies to (a concentrator's `site`, exact match); replaces the " +
      'previous list. A site assigned to another tariff is a 409.',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_ASSIGNED_SITES)
  @Transform(trimEach)
  @IsString({ each: true })
  @Length(1, 100, { each: true, message: 'sites must hold names of 1 to 100 characters' })
  @ArrayUnique({ message: 'sites must not repeat a site' })
  sites?: string[];
}

export class RatePeriodView {
  @ApiProperty({ example: '2024-01-01' }) effectiveFrom!: string;
  @ApiProperty({ type: [Number], example: EXAMPLE_PRICES }) pricePerKwh!: number[];
}

export class TariffView {
  @ApiProperty({ example: 'residential-tou' }) id!: string;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({ example: 'Europe/Berlin' }) tz!: string;
  @ApiProperty({ type: [RatePeriodView], description: 'sorted by effectiveFrom' })
  rates!: RatePeriodView[];
  @ApiProperty({ type: [String], description: 'serials assigned to this tariff, sorted' })
  concentrators!: string[];
  @ApiProperty({ type: [String], description: 'sites assigned to this tariff, sorted' })
  sites!: string[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ description: 'who last put it' }) updatedBy!: string;
}

export class TariffPage extends PageOf(TariffView) {}

export class ListTariffsQuery extends PaginationQuery {}

/** The tariff a concentrator's energy is priced with, and why it applies. */
export class AppliedTariffView {
  @ApiProperty({ example: 'residential-tou' }) id!: string;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({ example: 'EUR' }) currency!: string;
  @ApiProperty({ example: 'Europe/Berlin' }) tz!: string;
  @ApiProperty({
    enum: ASSIGNMENT_KINDS,
    description: "assigned to the concentrator itself, or to its site (the concentrator's wins)",
  })
  via!: 'concentrator' | 'site';
}
