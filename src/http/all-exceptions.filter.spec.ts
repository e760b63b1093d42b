import { ArgumentsHost, HttpException, Logger } from '@nestjs/common';
import { DatabaseUnavailableError } from '../database/database-errors';
import { AllExceptionsFilter } from './all-exceptions.filter';

function httpHost() {
  const res = {
    statusCode: 0,
    headers: {} as Record<string, string>,
    body: undefined as unknown,
    headersSent: false,
    status(code: number) {
      this.statusCode = code;
      return this;
    },
    setHeader(k: string, v: string) {
      this.headers[k] = v;
    },
    json(b: unknown) {
      this.body = b;
    },
  };
  const host = {
    getType: () => 'http',
    switchToHttp: () => ({ getResponse: () => res }),
  } as unknown as ArgumentsHost;
  return { host, res };
}

describe('AllExceptionsFilter', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  it.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' }),
      /cannot be reached/,
    ],
    [
      'a query the server never answered',
      new Error('Query read timeout'),
      /did not answer in time/,
    ],
    [
      'a TypeORM-wrapped admin shutdown',
      { message: 'x', driverError: { code: '57P01', message: 'terminating connection' } },
      /cannot be reached/,
    ],
    ['the gate', new DatabaseUnavailableError('timeout', 'down since now'), /did not answer/],
    ['a full server', { code: '53300', message: 'too many clients' }, /no more connections/],
  ])('%s: 503 with Retry-After and code database_unavailable, no internals', (_, err, msg) => {
    const { host, res } = httpHost();
    new AllExceptionsFilter().catch(err, host);
    expect(res.statusCode).toBe(503);
    expect(res.headers['Retry-After']).toMatch(/^[1-9][0-9]*$/);
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringMatching(msg),
      code: 'database_unavailable',
    });
    expect(JSON.stringify(res.body)).not.toMatch(/10\.1\.2\.3|5432|terminating/);
  });

  it('anything else stays a 500 without details; HTTP errors keep their status', () => {
    const a = httpHost();
    new AllExceptionsFilter().catch(new Error('boom'), a.host);
    expect(a.res.statusCode).toBe(500);
    expect(a.res.body).toEqual({
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error',
    });
    const b = httpHost();
    new AllExceptionsFilter().catch(new HttpException('device offline', 409), b.host);
    expect(b.res.statusCode).toBe(409);
  });
});
