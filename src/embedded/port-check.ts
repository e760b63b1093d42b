import { createServer } from 'node:net';

export class PortInUseError extends Error {}

/**
 * Probes a port before a component binds it, so a clash is reported with the
 * variable the operator has to change instead of a bare EADDRINUSE later.
 */
export async function assertPortFree(port: number, host: string, variable: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EACCES'
          ? new PortInUseError(
              `Port ${port} on ${host} is not available (${err.code}); set ${variable} to a free port.`,
            )
          : err,
      );
    });
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve()));
  });
}
