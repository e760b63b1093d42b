import { flatten, toCsv, wantsCsv } from './csv';

describe('csv', () => {
  it('writes a header and rows, quoting what needs it', () => {
    const csv = toCsv(
      ['a', 'b', 'c'],
      [
        { a: 1, b: 'x,y', c: null },
        { a: true, b: 'say "hi"', c: new Date(Date.UTC(2026, 0, 2)) },
      ],
    );
    expect(csv).toBe('a,b,c\r\n1,"x,y",\r\ntrue,"say ""hi""",2026-01-02T00:00:00.000Z\r\n');
  });

  it('defuses spreadsheet formulas but leaves negative numbers alone', () => {
    expect(toCsv(['v'], [{ v: '=HYPERLINK("x")' }, { v: '-12.5' }, { v: -3 }])).toBe(
      `v\r\n"'=HYPERLINK(""x"")"\r\n-12.5\r\n-3\r\n`,
    );
  });

  it('flattens nested aggregates', () => {
    expect(flatten({ line: 1, voltageV: { min: 1, max: 2 } })).toEqual({
      line: 1,
      voltageV_min: 1,
      voltageV_max: 2,
    });
  });

  it('detects a CSV Accept header', () => {
    expect(wantsCsv('text/csv')).toBe(true);
    expect(wantsCsv('text/csv, */*;q=0.1')).toBe(true);
    expect(wantsCsv('application/json')).toBe(false);
    expect(wantsCsv(undefined)).toBe(false);
    expect(wantsCsv('*/*')).toBe(false);
    expect(wantsCsv('text/csv, application/json')).toBe(false);
    expect(wantsCsv('application/json;q=0.5, text/csv')).toBe(true);
  });
});
