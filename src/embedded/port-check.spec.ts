import { createServer, Server } from 'node:net';
import { assertPortFree, PortInUseError } from './port-check';

describe('assertPortFree', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('names the variable to change when the port is taken', async () => {
    await expect(assertPortFree(port, '127.0.0.1', 'EMBEDDED_MQTT_PORT')).rejects.toThrow(
      PortInUseError,
    );
    await expect(assertPortFree(port, '127.0.0.1', 'EMBEDDED_MQTT_PORT')).rejects.toThrow(
      /set EMBEDDED_MQTT_PORT/,
    );
  });

  it('passes for a free port and for port 0', async () => {
    await expect(assertPortFree(0, '127.0.0.1', 'PORT')).resolves.toBeUndefined();
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const free = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await expect(assertPortFree(free, '127.0.0.1', 'PORT')).resolves.toBeUndefined();
  });
});
