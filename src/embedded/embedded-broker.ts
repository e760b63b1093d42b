import { createServer, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Logger } from '@nestjs/common';
import Aedes from 'aedes';
import { readPemFile } from '../mqtt/mqtt-client-options';
import type { EmbeddedBrokerAuth } from './broker-auth';
import { assertPortFree } from './port-check';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  /** Authentication and ACL; without it the broker is open (only the e2e suite's shared broker). */
  auth?: EmbeddedBrokerAuth;
  /** A second, TLS listener (one-way TLS, same authentication) when cert and key are given. */
  tls?: { port: number; certFile: string; keyFile: string };
}

export interface EmbeddedBrokerHandle {
  url: string;
  port: number;
  /** `mqtts://…` when the TLS listener runs. */
  tlsUrl?: string;
  tlsPort?: number;
  broker: Aedes;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * Stops accepting at once, then closes the broker and ends the connections it
 * does not know of (a client between TCP accept and CONNECT, or one that
 * reconnected meanwhile): server.close() waits for every socket, so a single
 * leftover would keep close() — and the process — from ever finishing.
 */
async function closeAll(broker: Aedes, servers: Server[], sockets: Set<Socket>): Promise<void> {
  const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  for (const s of sockets) s.destroy();
  await Promise.all(closed);
}

/** An in-process aedes broker, so a newcomer needs no mosquitto to try the service. */
export async function startEmbeddedBroker(
  opts: EmbeddedBrokerOptions,
  log = new Logger('EmbeddedBroker'),
): Promise<EmbeddedBrokerHandle> {
  await assertPortFree(opts.port, opts.host, 'EMBEDDED_MQTT_PORT');
  // Read before anything listens, so a bad file fails the start naming the variable.
  const tlsFiles = opts.tls && {
    cert: readPemFile(opts.tls.certFile, 'EMBEDDED_MQTT_TLS_CERT_FILE'),
    key: readPemFile(opts.tls.keyFile, 'EMBEDDED_MQTT_TLS_KEY_FILE'),
  };
  if (opts.tls) await assertPortFree(opts.tls.port, opts.host, 'EMBEDDED_MQTT_TLS_PORT');
  const broker = new Aedes();
  opts.auth?.attach(broker);
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const track = (server: Server) =>
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
  const connectHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  try {
    const server = track(createServer(broker.handle));
    const port = await listen(server, opts.port, opts.host);
    servers.push(server);
    log.debug(`embedded MQTT broker (aedes) listening on ${opts.host}:${port}`);
    let tlsPort: number | undefined;
    if (opts.tls && tlsFiles) {
      const tlsServer = createTlsServer(tlsFiles, broker.handle);
      // 'connection' is the raw TCP socket, before the handshake: tracked like plain ones.
      track(tlsServer);
      // A failed handshake (wrong CA on the device, plain MQTT on the TLS port) is the client's problem.
      tlsServer.on('tlsClientError', () => undefined);
      tlsPort = await listen(tlsServer, opts.tls.port, opts.host);
      servers.push(tlsServer);
      log.log(`embedded MQTT broker TLS listener on ${opts.host}:${tlsPort}`);
    }
    return {
      url: `mqtt://${connectHost}:${port}`,
      port,
      tlsUrl: tlsPort === undefined ? undefined : `mqtts://${connectHost}:${tlsPort}`,
      tlsPort,
      broker,
      close: () => closeAll(broker, servers, sockets),
    };
  } catch (err) {
    await closeAll(broker, servers, sockets);
    throw err;
  }
}
