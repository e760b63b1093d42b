import { createServer, Server } from 'node:net';
import { Logger } from '@nestjs/common';
import Aedes from 'aedes';
import { assertPortFree } from './port-check';

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  /** Hook for authentication/authorisation (security issue); default: open broker. */
  configure?: (broker: Aedes) => void;
}

export interface EmbeddedBrokerHandle {
  url: string;
  port: number;
  broker: Aedes;
  close(): Promise<void>;
}

/** An in-process aedes broker, so a newcomer needs no mosquitto to try the service. */
export async function startEmbeddedBroker(
  opts: EmbeddedBrokerOptions,
  log = new Logger('EmbeddedBroker'),
): Promise<EmbeddedBrokerHandle> {
  await assertPortFree(opts.port, opts.host, 'EMBEDDED_MQTT_PORT');
  const broker = new Aedes();
  opts.configure?.(broker);
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const connectHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  log.log(`embedded MQTT broker (aedes) listening on ${opts.host}:${port}`);
  return {
    url: `mqtt://${connectHost}:${port}`,
    port,
    broker,
    async close() {
      // Closing the broker first drops client sockets, which server.close() waits for.
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
