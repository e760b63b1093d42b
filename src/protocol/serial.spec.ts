import { SERIAL_RE, isSerial } from './serial';

describe('isSerial', () => {
  it.each(['202005010001', '000000000000', '999999999999'])('accepts %s', (sn) => {
    expect(isSerial(sn)).toBe(true);
    expect(SERIAL_RE.test(sn)).toBe(true);
  });

  it.each([
    ['11 digits', '20200501000'],
    ['13 digits', '2020050100011'],
    ['empty', ''],
    ['letters', '20200501000a'],
    ['Devanagari digits', '२०२००५०१०००१'],
    ['Arabic-Indic digits', '٢٠٢٠٠٥٠١٠٠٠١'],
    ['fullwidth digits', '２０２００５０１０００１'],
    ['trailing newline', '202005010001\n'],
    ['leading space', ' 202005010001'],
    ['sign', '+20200501000'],
  ])('rejects %s', (_label, sn) => {
    expect(isSerial(sn)).toBe(false);
  });

  it.each([202005010001, null, undefined, {}, ['202005010001'], true])(
    'rejects non-string %p',
    (v) => {
      expect(isSerial(v)).toBe(false);
    },
  );
});
