import { plainToInstance } from 'class-transformer';
import { IsOptional, validateSync } from 'class-validator';
import { IsTimestamp, parseTimestamp, TIMESTAMP_MAX, TIMESTAMP_MIN } from './timestamp';

class Q {
  @IsOptional()
  @IsTimestamp()
  from?: Date;
}

const errors = (from: unknown) =>
  validateSync(plainToInstance(Q, { from })).flatMap((e) => Object.values(e.constraints ?? {}));

describe('parseTimestamp (RFC 3339 with a zone)', () => {
  it.each([
    ['2024-05-01T00:00:00Z', '2024-05-01T00:00:00.000Z'],
    ['2024-05-01t00:00:00z', '2024-05-01T00:00:00.000Z'],
    ['2024-05-01T08:00:00+08:00', '2024-05-01T00:00:00.000Z'],
    ['2024-04-30T19:30:00-04:30', '2024-05-01T00:00:00.000Z'],
    ['2024-05-01T00:00:00.5Z', '2024-05-01T00:00:00.500Z'],
    ['2024-05-01T00:00:00.123456789Z', '2024-05-01T00:00:00.123Z'],
    ['2024-02-29T23:59:59Z', '2024-02-29T23:59:59.000Z'],
  ])('%s is %s', (text, iso) => {
    expect(parseTimestamp(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2024-05-01', // no time: midnight where?
    '2024-05-01T00:00:00', // no zone
    '2024-05-01 00:00:00Z',
    '2024-05-01T00:00Z',
    '2023-02-29T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-05-01T24:00:00Z',
    '2024-05-01T23:60:00Z',
    '2024-06-30T23:59:60Z',
    '2024-05-01T00:00:00+24:00',
    '2024-05-01T00:00:00+0800',
    '-004714-11-24T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    "' OR '1'='1",
    '1714521600',
    'Wed, 01 May 2024 00:00:00 GMT',
    '2024-05-01T00:00:00.Z',
    '２０２４-05-01T00:00:00Z',
  ])('refuses %p', (text) => {
    expect(parseTimestamp(text)).toBeUndefined();
  });
});

describe('IsTimestamp', () => {
  it('turns a valid text into a Date within the supported range', () => {
    const q = plainToInstance(Q, { from: '2024-05-01T08:00:00+08:00' });
    expect(validateSync(q)).toEqual([]);
    expect(q.from).toEqual(new Date('2024-05-01T00:00:00Z'));
    expect(errors(TIMESTAMP_MIN)).toEqual([]);
    expect(errors('2099-12-31T23:59:59.999Z')).toEqual([]);
  });

  it('names the parameter, the form and the range', () => {
    const [form] = errors("' OR '1'='1");
    expect(form).toMatch(/^from must be an RFC 3339 timestamp with a zone/);
    expect(form).toContain(TIMESTAMP_MIN);
    expect(errors('1999-12-31T23:59:59Z')).toEqual([
      `from must lie from ${TIMESTAMP_MIN} to before ${TIMESTAMP_MAX}`,
    ]);
    expect(errors(TIMESTAMP_MAX)).toHaveLength(1);
    expect(errors(12345)).toHaveLength(1);
    expect(errors(['2024-05-01T00:00:00Z'])).toHaveLength(1);
  });

  it('says how to send a "+" when a query string turned it into a space', () => {
    expect(errors('2024-05-01T08:00:00 08:00')[0]).toContain('%2B');
    expect(errors('nonsense')[0]).not.toContain('%2B');
  });
});
