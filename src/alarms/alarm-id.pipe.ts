import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

/** Alarm ids are bigserial: checked here so a bad path never reaches SQL as a cast error. */
@Injectable()
export class AlarmIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[1-9][0-9]{0,17}$/.test(value)) {
      throw new BadRequestException('id must be a positive integer');
    }
    return value;
  }
}
