import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { enroll, EnrollError } from './enroll';
import { snAt, startFleet } from './fleet';

// The service's own settings file: its ports, root and token are the defaults
// here too (the environment wins, as for the service).
if (existsSync('.env')) process.loadEnvFile('.env');
const env = process.env;
const DEFAULT_BROKER = `mqtt://127.0.0.1:${env.EMBEDDED_MQTT_PORT || 1883}`;
const DEFAULT_API = `http://127.0.0.1:${env.PORT || 3000}`;
const DEFAULT_TOKEN_FILE = join(env.DATA_DIR || 'data', 'admin-token');
const DEFAULT_ROOT = env.MQTT_TOPIC_ROOT || 'smart/devs';

const USAGE = `Simulated breaker concentrators (protocol v1).

npm run simulate -- [options]
  --register            register the devices through the API first and use the
                        passwords it returns (needs an admin token, see --token)
  --api URL             the service's HTTP API (default ${DEFAULT_API})
  --token T             admin token (default: ADMIN_TOKEN, else --token-file)
  --token-file F        file holding the token (default ${DEFAULT_TOKEN_FILE})
  --broker URL          mqtt:// or mqtts:// broker (default ${DEFAULT_BROKER})
  --devices N           number of concentrators (default 5)
  --lines N             breaker lines per concentrator, 1-64 (default 8)
  --interval S          telemetry period in seconds, 0 = none (default 5)
  --sn-start SN         first 12-digit serial (default 202005010001)
  --root TOPIC          topic root (default ${DEFAULT_ROOT})
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
      register: { type: 'boolean', default: false },
      api: { type: 'string', default: DEFAULT_API },
      token: { type: 'string' },
      'token-file': { type: 'string', default: DEFAULT_TOKEN_FILE },
      broker: { type: 'string', default: DEFAULT_BROKER },
      devices: { type: 'string' },
      lines: { type: 'string' },
      interval: { type: 'string' },
      'sn-start': { type: 'string', default: '202005010001' },
      root: { type: 'string', default: DEFAULT_ROOT },
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
  const count = num(a.devices, 'devices', 5);
  const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
  let passwords = a['passwords-file']
    ? (JSON.parse(readFileSync(a['passwords-file'], 'utf8')) as Record<string, string>)
    : undefined;
  if (a.register) {
    const sns = Array.from({ length: count }, (_, i) => snAt(a['sn-start'], i));
    passwords = await enroll({ apiUrl: a.api, token: adminToken(a.token, a['token-file']), sns });
    log(`registered ${sns.length} concentrators through ${a.api}`);
  }

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
  if (fleet.devices.length === 0) {
    console.error(
      `\nNo concentrator could connect to ${a.broker}: ${explain(fleet.failed[0]?.error)}\n`,
    );
    process.exit(1);
  }
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

function adminToken(flag: string | undefined, file: string): string {
  const token = flag ?? env.ADMIN_TOKEN;
  if (token) return token;
  if (!existsSync(file)) {
    throw new EnrollError(
      `--register needs an admin token: none in --token, ADMIN_TOKEN or ${file} ` +
        '(the service writes that file when it generates the token at its first start)',
    );
  }
  return readFileSync(file, 'utf8').trim();
}

/** What a refused or failed connection means for someone trying the simulator. */
function explain(error: Error | undefined): string {
  const m = error?.message ?? 'unknown error';
  if (/not authori[sz]ed|bad user ?name or password/i.test(m)) {
    return (
      `${m}.\nThe broker authenticates every concentrator. Register them first with ` +
      '--register (or give their passwords with --passwords-file), or start the service ' +
      'with OPEN_ENROLLMENT=true to discover unknown serials as pending (demos only).'
    );
  }
  if (/ECONNREFUSED|connect timeout/i.test(m))
    return `${m}. Is the service (or your broker) running?`;
  return m;
}

main().catch((e: Error) => {
  console.error(e instanceof EnrollError ? `\n${e.message}\n` : e.message);
  process.exit(1);
});
