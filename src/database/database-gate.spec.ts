import { createServer, Server, Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { DatabaseUnavailableError } from './database-errors';
import { DatabaseGate, gatedClientClass } from './database-gate';

/** A TCP server that accepts and never says a word: a frozen PostgreSQL, as a client sees it. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => r());
      }),
  };
}

describe('DatabaseGate', () => {
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let gate: DatabaseGate;
  const url = () => `postgres://u:p@127.0.0.1:${silent.port}/db`;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    silent = await silentServer();
  });
  afterAll(async () => {
    await silent.close();
    Logger.overrideLogger(['error', 'warn', 'log']);
  });
  beforeEach(() => {
    // The probe meets the same silent server: the gate stays closed during each test.
    gate = new DatabaseGate({ connectionString: url(), connectionTimeoutMillis: 200 }, 60_000);
  });
  afterEach(() => gate.close());

  it('is open until a lost connection closes it; a slow statement or a full server do not', () => {
    expect(gate.up).toBe(true);
    expect(gate.refusal()).toBeUndefined();
    gate.observe(Object.assign(new Error('statement timeout'), { code: '57014' }));
    gate.observe(Object.assign(new Error('too many clients'), { code: '53300' }));
    gate.observe(new Error('duplicate key'));
    expect(gate.up).toBe(true);
    gate.observe(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect(gate.up).toBe(false);
    expect(gate.state()).toEqual({
      up: false,
      downSince: expect.any(String),
      reason: 'not reachable',
    });
    expect(gate.refusal()).toBeInstanceOf(DatabaseUnavailableError);
  });

  it('a closed gate fails connects and queries at once, without the network', async () => {
    gate.observe(new Error('Query read timeout'));
    const Client = gatedClientClass(gate);
    const c = new Client({ connectionString: url(), connectionTimeoutMillis: 60_000 });
    const started = Date.now();
    await expect(c.connect()).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(c.query('SELECT 1')).rejects.toMatchObject({ code: 'database_unavailable' });
    await new Promise<void>((resolve) =>
      c.query('SELECT 1', [], (e: Error) => {
        expect(e).toBeInstanceOf(DatabaseUnavailableError);
        resolve();
      }),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a server that never answers the handshake closes the gate after the connect timeout', async () => {
    const Client = gatedClientClass(gate);
    const c = new Client({ connectionString: url(), connectionTimeoutMillis: 200 });
    await expect(c.connect()).rejects.toThrow();
    expect(gate.state()).toMatchObject({ up: false, reason: 'did not answer in time' });
  });
});
