import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

/** A tariff id: a slug of 1–64 lowercase letters, digits and hyphens, starting with a letter or digit. */
export const TARIFF_ID_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** Path tariff ids are checked before any lookup: a slug or 400. */
@Injectable()
export class TariffIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!TARIFF_ID_RE.test(value)) {
      throw new BadRequestException(
        'tariff id must be a slug: 1 to 64 lowercase letters, digits and hyphens, ' +
          'starting with a letter or digit',
      );
    }
    return value;
  }
}
