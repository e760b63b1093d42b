import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  Matches,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import { QUERY_WHATS } from '../../protocol/backend-messages';
import { CommandView } from './command.dto';

export type LineSelection = number[] | 'all';

function isLineSelection(v: unknown): v is LineSelection {
  if (v === 'all') return true;
  return (
    Array.isArray(v) &&
    v.length >= 1 &&
    v.length <= 64 &&
    v.every((n) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 64) &&
    new Set(v).size === v.length
  );
}

/** `"all"` or a non-empty list of distinct line numbers 1-64 (the protocol's own rule). */
const IsLineSelection = () =>
  ValidateBy({
    name: 'isLineSelection',
    validator: {
      validate: isLineSelection,
      defaultMessage: (a) =>
        `${a?.property ?? 'lines'} must be "all" or a non-empty list of distinct line numbers 1-64`,
    },
  });

const LINES_SCHEMA = {
  oneOf: [
    { type: 'array', items: { type: 'integer', minimum: 1, maximum: 64 }, minItems: 1 },
    { type: 'string', enum: ['all'] },
  ],
  example: [1, 3],
};

export class SwitchDto {
  @ApiProperty(LINES_SCHEMA)
  @IsLineSelection()
  lines!: LineSelection;

  @ApiProperty({ description: 'true = close the breakers (power on)' })
  @IsBoolean()
  on!: boolean;
}

export class QueryDto {
  @ApiProperty({ enum: QUERY_WHATS })
  @IsIn(QUERY_WHATS)
  what!: (typeof QUERY_WHATS)[number];
}

export class BulkSwitchTarget {
  @ApiProperty({ example: '202005010001' })
  @Matches(/^[0-9]{12}$/, { message: 'sn must be 12 digits' })
  sn!: string;

  @ApiProperty(LINES_SCHEMA)
  @IsLineSelection()
  lines!: LineSelection;
}

export class BulkSwitchDto {
  @ApiProperty({
    type: [BulkSwitchTarget],
    description: 'one entry per concentrator (BULK_SWITCH_MAX at most)',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10000)
  @ValidateNested({ each: true })
  @Type(() => BulkSwitchTarget)
  targets!: BulkSwitchTarget[];

  @ApiProperty()
  @IsBoolean()
  on!: boolean;
}

export class BulkSwitchResult {
  @ApiProperty() sn!: string;
  @ApiProperty({ description: 'what a single switch call would have answered (202 = sent)' })
  statusCode!: number;
  @ApiProperty({ required: false, type: CommandView }) command?: CommandView;
  @ApiProperty({ required: false, description: 'why it was refused, e.g. device_offline' })
  error?: string;
  @ApiProperty({
    required: false,
    description: 'for 429: seconds until the lines may switch again',
  })
  retryAfterS?: number;
}

export class BulkSwitchView {
  @ApiProperty({ description: 'targets whose command was published' }) sent!: number;
  @ApiProperty({
    description:
      'targets not switched (offline, cooldown, unknown …; 503 after a server-side failure, when the rest is not attempted); never queued',
  })
  refused!: number;
  @ApiProperty({ type: [BulkSwitchResult] }) results!: BulkSwitchResult[];
}
