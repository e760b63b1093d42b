import { parentPort, workerData } from 'node:worker_threads';
import { LoadOptions, connectLoad, runLoad } from './load';

// Runs the simulated fleet on its own thread, so publishing does not compete
// with the service under test for the same event loop.
async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('load-worker must run as a worker thread');
  const opts = workerData as LoadOptions;
  const fleet = await connectLoad(opts);
  port.postMessage({ kind: 'ready', connected: fleet.devices.length });
  port.on('message', (m: { kind: string }) => {
    if (m.kind === 'go') {
      runLoad(fleet, opts, (batch) => port.postMessage({ kind: 'sent', batch })).then(
        (result) => port.postMessage({ kind: 'done', result }),
        (e: Error) => port.postMessage({ kind: 'error', message: e.message }),
      );
    } else if (m.kind === 'stop') {
      void fleet.stop().finally(() => {
        port.postMessage({ kind: 'stopped' });
        port.close();
      });
    }
  });
}

main().catch((e: Error) => {
  parentPort?.postMessage({ kind: 'error', message: e.message });
});
