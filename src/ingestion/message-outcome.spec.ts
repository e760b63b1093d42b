import { ACCEPTED, OutcomeLatch, dropped, failureReason, rejected } from './message-outcome';

describe('failureReason', () => {
  it.each([
    [{ code: '08006', message: 'connection failure' }],
    [{ code: '57P01', message: 'terminating connection due to administrator command' }],
    [{ code: '57014', message: 'canceling statement due to statement timeout' }],
    [{ code: '53300', message: 'too many connections' }],
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    [new Error('Connection terminated unexpectedly')],
    [new Error('timeout exceeded when trying to connect')],
    [{ message: 'query failed', driverError: { code: '08001', message: 'x' } }],
  ])('a database that cannot answer: database_unavailable (%p)', (err) => {
    expect(failureReason(err)).toBe('database_unavailable');
  });

  it.each([
    [new Error('boom')],
    [{ code: '23505', message: 'duplicate key value violates unique constraint' }],
    [{ code: '22P05', message: 'unsupported Unicode escape sequence' }],
    ['a string'],
    [null],
    [undefined],
  ])('anything else: handler_failed (%p)', (err) => {
    expect(failureReason(err)).toBe('handler_failed');
  });

  it('does not loop on an error that is its own driverError', () => {
    const e: { message: string; driverError?: unknown } = { message: 'x' };
    e.driverError = e;
    expect(failureReason(e)).toBe('handler_failed');
  });
});

describe('OutcomeLatch', () => {
  it('is accepted until something decides otherwise', () => {
    const l = new OutcomeLatch();
    expect(l.decided).toBe(false);
    expect(l.outcome).toEqual(ACCEPTED);
  });

  it('keeps the first outcome signalled, whatever comes after', () => {
    const l = new OutcomeLatch();
    expect(l.set(rejected('unknown_command'))).toBe(true);
    expect(l.set(dropped('handler_failed'))).toBe(false);
    expect(l.outcome).toEqual({ kind: 'rejected', reason: 'unknown_command' });
    const d = new OutcomeLatch();
    d.set(dropped('buffer_full'));
    d.set(rejected('unknown_command'));
    expect(d.outcome).toEqual({ kind: 'dropped', reason: 'buffer_full' });
  });
});
