import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startFleet } from './fleet';

const USAGE = `Simulated breaker concentrators (protocol v1).

npm run simulate -- [options]
  --broker URL          mqtt:// or mqtts:// broker (default mqtt://127.0.0.1:1883)
  --devices N           number of concentrators (default 5)
  --lines N             breaker lines per concentrator, 1-64 (default 8)
  --interval S          telemetry period in seconds, 0 = none (default 5)
  --sn-start SN         first 12-digit serial (default 202005010001)
  --root TOPIC          topic root (default smart/devs)
  --username U          one username for all devices (default: each device's serial)
  --password P          one password for all devices
  --passwords-file F    JSON {"<sn>": "<password>"}, wins over --password
  --fail-rate X         share of commands answered ack ok:false code 34 (default 0)
  --ack-rate X          share of commands acked at all (default 1)
  --ca FILE             CA certificate for mqtts:// and https:// firmware downloads
  --insecure            do not verify the server certificate
  --mqtt5               MQTT 5 instead of 3.1.1
  --no-chatter          no random manual switching / alarms
  --concurrency N       simultaneous connection attempts (default 50)
  --summary S           seconds between summary lines (default 10)
  --seed N              random seed (default: derived from each serial)
  --verbose             log every device event
`;

function num(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number`);
  return n;
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      broker: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      devices: { type: 'string' },
      lines: { type: 'string' },
      interval: { type: 'string' },
      'sn-start': { type: 'string', default: '202005010001' },
      root: { type: 'string', default: 'smart/devs' },
      username: { type: 'string' },
      password: { type: 'string' },
      'passwords-file': { type: 'string' },
      'fail-rate': { type: 'string' },
      'ack-rate': { type: 'string' },
      ca: { type: 'string' },
      insecure: { type: 'boolean', default: false },
      mqtt5: { type: 'boolean', default: false },
      'no-chatter': { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      summary: { type: 'string' },
      seed: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (a.help) {
    process.stdout.write(USAGE);
    return;
  }
  const passwords = a['passwords-file']
    ? (JSON.parse(readFileSync(a['passwords-file'], 'utf8')) as Record<string, string>)
    : undefined;
  const count = num(a.devices, 'devices', 5);
  const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

  const fleet = await startFleet({
    brokerUrl: a.broker,
    count,
    snStart: a['sn-start'],
    lines: num(a.lines, 'lines', 8),
    intervalMs: num(a.interval, 'interval', 5) * 1000,
    topicRoot: a.root,
    username: a.username,
    password: a.password,
    passwords,
    failRate: num(a['fail-rate'], 'fail-rate', 0),
    ackRate: num(a['ack-rate'], 'ack-rate', 1),
    tls: {
      ca: a.ca ? readFileSync(a.ca) : undefined,
      rejectUnauthorized: !a.insecure,
    },
    protocolVersion: a.mqtt5 ? 5 : 4,
    chatter: !a['no-chatter'],
    seed: a.seed === undefined ? undefined : num(a.seed, 'seed', 0),
    concurrency: num(a.concurrency, 'concurrency', 50),
    tolerateFailures: true,
    logger: a.verbose ? log : undefined,
    onStarted: (d) => log(`${d.sn} connected (fw ${d.fw}, ${d.lineCount} lines)`),
    onFailed: (sn, e) => log(`${sn} FAILED: ${e.message}`),
  });
  log(`${fleet.devices.length}/${count} concentrators running; Ctrl-C to stop`);

  let last = { published: 0, commands: 0 };
  const everyS = num(a.summary, 'summary', 10);
  const summary = setInterval(() => {
    const online = fleet.devices.filter((d) => d.connected).length;
    const published = fleet.devices.reduce((s, d) => s + d.stats.published, 0);
    const commands = fleet.devices.reduce((s, d) => s + d.stats.commands, 0);
    log(
      `online ${online}/${fleet.devices.length}, ` +
        `published ${published} (+${published - last.published}), ` +
        `commands ${commands} (+${commands - last.commands})`,
    );
    last = { published, commands };
  }, everyS * 1000);

  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(130);
    stopping = true;
    clearInterval(summary);
    log('stopping (Ctrl-C again to force)');
    fleet.stop().then(
      () => process.exit(0),
      (e: Error) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
