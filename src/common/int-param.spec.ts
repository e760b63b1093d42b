import { plainToInstance } from 'class-transformer';
import { IsOptional, validateSync } from 'class-validator';
import { IsIntInRange, MAX_OFFSET, toIntParam } from './int-param';

class Q {
  @IsOptional()
  @IsIntInRange(0, MAX_OFFSET)
  offset?: number;
}

const check = (offset: unknown) => {
  const q = plainToInstance(Q, { offset });
  return {
    value: q.offset,
    errors: validateSync(q).flatMap((e) => Object.values(e.constraints ?? {})),
  };
};

describe('IsIntInRange', () => {
  it('reads plain decimal integers from query text', () => {
    expect(check('0')).toEqual({ value: 0, errors: [] });
    expect(check('42')).toEqual({ value: 42, errors: [] });
    expect(check(String(MAX_OFFSET))).toEqual({ value: MAX_OFFSET, errors: [] });
    expect(check(17)).toEqual({ value: 17, errors: [] });
  });

  it.each([
    '99999999999999999999',
    '1e308',
    '1e3',
    '0x10',
    ' 5',
    '5 ',
    '1.0',
    '1.5',
    '',
    '-1',
    String(MAX_OFFSET + 1),
    'Infinity',
    'NaN',
  ])('refuses %p with one message naming the parameter and its range', (v) => {
    expect(check(v).errors).toEqual([`offset must be an integer from 0 to ${MAX_OFFSET}`]);
  });

  it('refuses JSON numbers that are not safe integers in range, and non-numbers', () => {
    for (const v of [1e308, 1e20, 1.5, -1, NaN, Infinity, true, [1], { a: 1 }, ['1', '2']]) {
      expect({ v, errors: check(v).errors.length }).toEqual({ v, errors: 1 });
    }
  });

  it('leaves what is not a plain integer untouched for the validator to refuse', () => {
    expect(toIntParam('1e3')).toBe('1e3');
    expect(toIntParam(['1'])).toEqual(['1']);
    expect(toIntParam('-12')).toBe(-12);
  });
});
