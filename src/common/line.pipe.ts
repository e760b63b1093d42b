import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

/** A breaker line number in a path: an integer 1-64 or 400. */
@Injectable()
export class LinePipe implements PipeTransform<string, number> {
  transform(value: string): number {
    const n = /^[0-9]{1,2}$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new BadRequestException('line must be 1-64');
    return n;
  }
}
