import { Type } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsIntInRange, MAX_OFFSET } from './int-param';

export class PaginationQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 50 })
  @IsOptional()
  @IsIntInRange(1, 1000)
  limit: number = 50;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 })
  @IsOptional()
  @IsIntInRange(0, MAX_OFFSET)
  offset: number = 0;
}

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/**
 * The Swagger class of a page of `Item`s: `class ConcentratorPage extends
 * PageOf(ConcentratorView) {}`, so each list states its item type once and
 * the page shape lives here alone.
 */
export function PageOf<T>(Item: Type<T>) {
  class PageOfItems implements Page<T> {
    @ApiProperty({ type: [Item] }) items!: T[];
    @ApiProperty({ description: 'items matching the query, all pages' }) total!: number;
    @ApiProperty() limit!: number;
    @ApiProperty() offset!: number;
  }
  return PageOfItems;
}
