import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { PaginationQuery, PageOf } from '../../common/pagination.dto';
import { REJECTION_REASONS } from '../../protocol/rejections';

export class ListRejectionsQuery extends PaginationQuery {
  @ApiPropertyOptional({ enum: REJECTION_REASONS })
  @IsOptional()
  @IsIn(REJECTION_REASONS)
  reason?: string;

  @ApiPropertyOptional({ description: 'serial taken from the topic' })
  @IsOptional()
  @Matches(/^[0-9]{12}$/, { message: 'sn must be 12 digits' })
  sn?: string;
}

export class RejectionView {
  @ApiProperty() id!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ enum: REJECTION_REASONS }) reason!: string;
  @ApiProperty() topic!: string;
  @ApiProperty({ nullable: true, type: String }) sn!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'the failing field' }) field!:
    string | null;
  @ApiProperty({ nullable: true, type: String }) detail!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'short sanitised excerpt of the payload',
  })
  excerpt!: string | null;
}

export class RejectionPage extends PageOf(RejectionView) {
  @ApiProperty({ description: 'all rejections counted since start, by reason (recorded or not)' })
  counts!: Record<string, number>;
}
