import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import { isSerial } from '../protocol/serial';

/** Path serials are checked before any lookup: 12 ASCII digits or 400. */
@Injectable()
export class SerialPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isSerial(value)) throw new BadRequestException('sn must be 12 digits');
    return value;
  }
}
