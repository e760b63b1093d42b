import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { IsIntInRange } from '../../common/int-param';
import { PaginationQuery, PageOf } from '../../common/pagination.dto';
import { BACKEND_MESSAGE_TYPES } from '../../protocol/backend-messages';
import { COMMAND_STATES } from '../command.entity';

export class LateAckView {
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ nullable: true, type: Boolean }) ok!: boolean | null;
  @ApiProperty({ nullable: true, type: Number }) code!: number | null;
  @ApiProperty({ nullable: true, type: String }) msg!: string | null;
}

export class CommandView {
  @ApiProperty({ example: 'c-3q2x9V1bQ0aZ8kLmN4pR7w' }) id!: string;
  @ApiProperty({ example: '202005010001' }) sn!: string;
  @ApiProperty({ enum: BACKEND_MESSAGE_TYPES }) type!: string;
  @ApiProperty({
    nullable: true,
    type: [Number],
    description: 'lines a switch targets ("all" expanded when the line count is known)',
  })
  lines!: number[] | null;
  @ApiProperty({ type: Object, description: 'the exact message published on todev' })
  payload!: Record<string, unknown>;
  @ApiProperty({ enum: COMMAND_STATES }) state!: string;
  @ApiProperty({ nullable: true, type: Number, description: "the device's ack code" })
  ackCode!: number | null;
  @ApiProperty({ nullable: true, type: String }) ackMsg!: string | null;
  @ApiProperty({ description: 'token name, or "system"' }) actor!: string;
  @ApiProperty({ nullable: true, type: String }) actorRole!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) settledAt!: string | null;
  @ApiProperty({
    nullable: true,
    type: LateAckView,
    description: 'an ack received after the command was settled; the state is not rewritten',
  })
  lateAck!: LateAckView | null;
}

export class CommandPage extends PageOf(CommandView) {}

export class ListCommandsQuery extends PaginationQuery {
  @ApiPropertyOptional({ example: '202005010001' })
  @IsOptional()
  @Matches(/^[0-9]{12}$/, { message: 'sn must be 12 digits' })
  sn?: string;

  @ApiPropertyOptional({ enum: COMMAND_STATES })
  @IsOptional()
  @IsIn(COMMAND_STATES)
  state?: (typeof COMMAND_STATES)[number];

  @ApiPropertyOptional({ enum: BACKEND_MESSAGE_TYPES })
  @IsOptional()
  @IsIn(BACKEND_MESSAGE_TYPES)
  type?: (typeof BACKEND_MESSAGE_TYPES)[number];
}

export class WaitQuery {
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: 30,
    description: 'hold the answer until the state is final or this many seconds pass',
  })
  @IsOptional()
  @IsIntInRange(0, 30)
  wait?: number;
}
