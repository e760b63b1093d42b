import {
  DatabaseUnavailableError,
  isConnectionLoss,
  isDatabaseUnavailable,
  unavailableKind,
} from './database-errors';

const err = (message: string, code?: string) => Object.assign(new Error(message), { code });

describe('database error classification', () => {
  it.each([
    // a server that is gone, refuses or never answers
    [err('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), 'unreachable', true],
    [err('read ECONNRESET', 'ECONNRESET'), 'unreachable', true],
    [err('Connection terminated unexpectedly'), 'unreachable', true],
    [err('terminating connection due to administrator command', '57P01'), 'unreachable', true],
    [err('the database system is shutting down', '57P03'), 'unreachable', true],
    [err('connection failure', '08006'), 'unreachable', true],
    [err('Query read timeout'), 'timeout', true],
    [err('timeout expired'), 'timeout', true],
    [
      Object.assign(err('Connection terminated due to connection timeout'), {
        cause: err('Connection terminated unexpectedly'),
      }),
      'timeout',
      true,
    ],
    // a server that answers, but not this request in time or at all
    [err('canceling statement due to statement timeout', '57014'), 'timeout', false],
    [err('timeout exceeded when trying to connect'), 'timeout', false],
    [err('sorry, too many clients already', '53300'), 'overloaded', false],
    [new DatabaseUnavailableError('unreachable', 'down since then'), 'unreachable', false],
  ])('%p: %s, connection lost: %s', (e, kind, lost) => {
    expect(unavailableKind(e)).toBe(kind);
    expect(isDatabaseUnavailable(e)).toBe(true);
    expect(isConnectionLoss(e)).toBe(lost);
  });

  it('looks through TypeORM’s wrapper to the driver error', () => {
    const wrapped = { message: 'query failed', driverError: err('x', '08001') };
    expect(unavailableKind(wrapped)).toBe('unreachable');
    expect(isConnectionLoss(wrapped)).toBe(true);
  });

  it.each([
    [err('duplicate key value violates unique constraint', '23505')],
    [err('relation "commands" does not exist', '42P01')],
    [err('command timeout')],
    [new Error('boom')],
    ['a string'],
    [null],
    [undefined],
  ])('anything else is not unavailability (%p)', (e) => {
    expect(isDatabaseUnavailable(e)).toBe(false);
    expect(isConnectionLoss(e)).toBe(false);
  });

  it('does not loop on an error that wraps itself', () => {
    const e: { message: string; driverError?: unknown; cause?: unknown } = { message: 'x' };
    e.driverError = e;
    e.cause = e;
    expect(isDatabaseUnavailable(e)).toBe(false);
  });
});
