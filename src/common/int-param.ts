import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ValidateBy, ValidationOptions } from 'class-validator';

/**
 * Largest `offset` a list accepts: PostgreSQL's int4 maximum. Far beyond any
 * page a client walks to, and a value PostgreSQL's OFFSET always takes.
 */
export const MAX_OFFSET = 2_147_483_647;

// Plain decimal digits only: "1e3", "0x10", " 5", "1.0" and "" are refused rather than
// read as numbers (Number() accepts them all). 16 digits reach every safe integer.
const DECIMAL = /^-?[0-9]{1,16}$/;

/** A query/path text made a number only when it is a plain decimal integer; anything else is left to fail. */
export function toIntParam(value: unknown): unknown {
  return typeof value === 'string' && DECIMAL.test(value) ? Number(value) : value;
}

export function isIntInRange(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

/**
 * An integer parameter within [min, max], in a query string (decimal digits
 * only) or a JSON body (a JSON integer). One message names the parameter and
 * its range, whatever was wrong.
 */
export function IsIntInRange(min: number, max: number, options?: ValidationOptions) {
  return applyDecorators(
    Transform(({ value }) => toIntParam(value)),
    ValidateBy(
      {
        name: 'isIntInRange',
        constraints: [min, max],
        validator: {
          validate: (v: unknown) => isIntInRange(v, min, max),
          defaultMessage: (a) =>
            `${a?.property ?? 'value'} must be an integer from ${min} to ${max}`,
        },
      },
      options,
    ),
  );
}
