/**
 * The service under comparison, as a child process of the bench: the same
 * startService() as `npm start`, with DATABASE_URL / MQTT_URL from the bench,
 * answering the bench over IPC (see ingester-ipc.ts).
 */
import { startService } from '../../src/bootstrap';
import { IngestStats } from '../../src/ingestion/ingest-stats';
import { FromdevMqttServer } from '../../src/mqtt/fromdev-server';
import { TelemetryWriter } from '../../src/telemetry/telemetry-writer.service';
import { Ingester, serveIngester } from './ingester-ipc';

const wallMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sum = (r: Record<string, number>) => Object.values(r).reduce((s, v) => s + v, 0);

async function start(): Promise<{ ingester: Ingester; detail: string }> {
  const service = await startService({ ...process.env });
  const app = service.app;
  const stats = app.get(IngestStats);
  const writer = app.get(TelemetryWriter);
  const mqtt = app.get(FromdevMqttServer);
  let lastStoredAt = 0;
  writer.on('flushed', () => {
    lastStoredAt = wallMs();
  });
  // startService does not wait for the broker; the bench's fleet must not start before.
  for (let i = 0; i < 300 && !mqtt.isConnected; i++) await sleep(100);
  if (!mqtt.isConnected) throw new Error(`service not connected to ${service.mqttUrl}`);
  const ingester: Ingester = {
    snapshot: () => {
      const s = stats.snapshot();
      // A message dropped because the buffer was full is counted twice, as a
      // message and as its rows: count it once, as a message.
      const rowsBesides = Object.entries(s.rows.dropped)
        .filter(([reason]) => reason !== 'buffer_full')
        .reduce((n, [, v]) => n + v, 0);
      return {
        received: s.received,
        rejected: s.rejected,
        droppedMsgs: sum(s.messages.dropped),
        droppedRows: rowsBesides,
        duplicateRows: s.rows.duplicate,
        bufferedRows: writer.bufferedRows,
        lastStoredAt,
      };
    },
    drain: () => writer.drain(),
    stop: () => service.close(),
  };
  return { ingester, detail: `service ${service.httpUrl}, subscribed via ${service.mqttUrl}` };
}

if (require.main === module) serveIngester(start);
