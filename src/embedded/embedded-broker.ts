import { createServer, Server } from 'node:net';
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

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
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
  const connectHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  try {
    const server = createServer(broker.handle);
    const port = await listen(server, opts.port, opts.host);
    servers.push(server);
    log.log(`embedded MQTT broker (aedes) listening on ${opts.host}:${port}`);
    let tlsPort: number | undefined;
    if (opts.tls && tlsFiles) {
      const tlsServer = createTlsServer(tlsFiles, broker.handle);
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
      async close() {
        // Closing the broker first drops client sockets, which server.close() waits for.
        await new Promise<void>((resolve) => broker.close(() => resolve()));
        await Promise.all(servers.map(closeServer));
      },
    };
  } catch (err) {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await Promise.all(servers.map(closeServer));
    throw err;
  }
}
