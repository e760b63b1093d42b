import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ValidateBy, ValidationArguments, ValidationOptions } from 'class-validator';

/**
 * Supported instants: from 2000-01-01T00:00:00Z (inclusive) to
 * 2100-01-01T00:00:00Z (exclusive). Wide enough for any stored telemetry
 * and any token expiry, and well inside what PostgreSQL and Date hold, so a
 * parameter never reaches SQL as "timestamp out of range".
 */
export const TIMESTAMP_MIN = '2000-01-01T00:00:00Z';
export const TIMESTAMP_MAX = '2100-01-01T00:00:00Z';
const MIN_MS = Date.parse(TIMESTAMP_MIN);
const MAX_MS = Date.parse(TIMESTAMP_MAX);

/**
 * RFC 3339 date-time: full date, full time, optional fraction, and a zone
 * (`Z` or ±hh:mm) that is never implied, so every value names one instant.
 * No date-only form: "2024-05-01" would be midnight in which zone?
 */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export const TIMESTAMP_RULE =
  `an RFC 3339 timestamp with a zone (e.g. 2024-05-01T00:00:00Z or 2024-05-01T08:00:00+08:00), ` +
  `from ${TIMESTAMP_MIN} to before ${TIMESTAMP_MAX}`;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The instant an RFC 3339 text names, or undefined (bad form, or no such day or time). Range not checked. */
export function parseTimestamp(text: string): Date | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  // Leap seconds (:60) are refused: Date cannot hold them.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMin = 0;
  if (!m[8]) {
    const [oh, om] = [Number(m[10]), Number(m[11])];
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
  return new Date(utc);
}

export function inTimestampRange(d: Date): boolean {
  const t = d.getTime();
  return t >= MIN_MS && t < MAX_MS;
}

function message(a: ValidationArguments | undefined): string {
  const name = a?.property ?? 'value';
  const v: unknown = a?.value;
  if (v instanceof Date) return `${name} must lie from ${TIMESTAMP_MIN} to before ${TIMESTAMP_MAX}`;
  // An unencoded "+" in a query string arrives as a space.
  const hint =
    typeof v === 'string' && / \d{2}:\d{2}$/.test(v)
      ? '; a "+" in a query string must be sent as %2B'
      : '';
  return `${name} must be ${TIMESTAMP_RULE}${hint}`;
}

/**
 * The one rule for every date parameter (query or body): RFC 3339 with a
 * zone, within [TIMESTAMP_MIN, TIMESTAMP_MAX). The property becomes a Date.
 */
export function IsTimestamp(options?: ValidationOptions) {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' ? (parseTimestamp(value) ?? value) : value,
    ),
    ValidateBy(
      {
        name: 'isTimestamp',
        validator: {
          validate: (v: unknown) => v instanceof Date && inTimestampRange(v),
          defaultMessage: message,
        },
      },
      options,
    ),
  );
}
