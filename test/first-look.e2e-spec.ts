import { join } from 'node:path';
import { firstLookBlocks } from './support/readme-blocks';
import { Job, NewcomerShell } from './support/newcomer-shell';

/**
 * README.md's first look, run as written on a copy of the checkout: start,
 * simulated concentrators, their data, a switch acked; discovery and
 * adoption; and every way of stopping leaves nothing running.
 */
const README = join(__dirname, '..', 'README.md');
const blocks = firstLookBlocks(README);

function block(name: string): string[] {
  const b = blocks.get(name);
  if (!b) throw new Error(`README.md has no <!-- first-look: ${name} --> block`);
  return b;
}

/** The one command of a block that is not the install step the test runner already did. */
function only(name: string, skip: RegExp = /^npm (install|ci)\b/): string {
  const commands = block(name).filter((c) => !skip.test(c));
  if (commands.length !== 1) throw new Error(`expected one command in ${name}: ${commands}`);
  return commands[0];
}

/** Each command's stdout, in order (a marker is printed before every top-level command). */
function runBlock(shell: NewcomerShell, commands: string[]): string[] {
  const script = `set -e\ntrap 'echo "@@cmd@@"' DEBUG\n${commands.join('\n')}\n`;
  return shell
    .run(script)
    .split('@@cmd@@\n')
    .slice(1)
    .map((s) => s.trim());
}

const json = <T>(s: string): T => JSON.parse(s) as T;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a person does with a command whose answer is not there yet: run it again, a little later. */
async function rerunUntil<T>(
  shell: NewcomerShell,
  command: string,
  pass: (out: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = json<T>(runBlock(shell, ['TOKEN=$(cat data/admin-token)', command])[1]);
    if (pass(out)) return out;
    if (Date.now() > deadline) throw new Error(`"${command}" never passed: ${JSON.stringify(out)}`);
    await sleep(500);
  }
}

async function stopped(shell: NewcomerShell, service: Job, timeoutMs = 30_000): Promise<void> {
  await service.waitForOutput(/^stopped$/m, timeoutMs);
  // An orderly stop: the last telemetry flush and the database shutdown raised no error.
  expect(service.output).not.toMatch(/\bERROR\b/);
  const deadline = Date.now() + 10_000;
  while (shell.leftovers().length > 0 && Date.now() < deadline) await sleep(200);
  expect(shell.leftovers()).toEqual([]);
}

interface Concentrator {
  sn: string;
  state: string;
  online: boolean;
}
interface Latest {
  lines: { line: number; voltageV: number | null; on: boolean | null }[];
}
interface Command {
  id: string;
  type: string;
  state: string;
}

describe('README first look, as written', () => {
  let shell: NewcomerShell;
  let isolated = false;

  beforeAll(() => {
    shell = NewcomerShell.create(join(__dirname, '..'));
    isolated = shell.isolateNetwork();
    if (!isolated) {
      // Not root: the default ports may be taken on this host, so use the
      // README's own advice for that case (.env, read by service and simulator).
      throw new Error('the first-look test needs root for a network namespace of its own');
    }
  }, 30_000);

  afterEach(() => shell?.killAll(), 10_000);
  afterAll(() => shell?.close(), 30_000);

  it('start, simulate --register, data within seconds, a switch acked; Ctrl-C leaves nothing behind', async () => {
    const service = shell.start(only('start'));
    // The first start compiles and creates the database.
    await service.waitForOutput(/Breaker concentrator backend is running/, 240_000);
    expect(service.output).toMatch(/Enrollment\s+closed/);
    const token = service.output.match(/shown once:\s*\n\s*(\S+)/)?.[1];
    expect(token).toBeDefined();
    // No wall of framework start-up lines before the banner.
    expect(service.output).not.toMatch(/InstanceLoader|RoutesResolver|RouterExplorer/);

    const sim = shell.start(only('simulate'));
    await sim.waitForOutput(/5\/5 concentrators running/, 60_000);
    // A person reads that line and turns to the next terminal; the devices report every 5 s.
    await sleep(6000);

    const [, list, latest, switched] = runBlock(shell, block('try'));
    const items = json<{ items: Concentrator[] }>(list).items;
    expect(items.map((c) => c.sn)).toEqual([
      '202005010001',
      '202005010002',
      '202005010003',
      '202005010004',
      '202005010005',
    ]);
    expect(items.every((c) => c.state === 'managed' && c.online)).toBe(true);
    // Either the first report is already in, or it comes within the simulator's 5 s period.
    const latestCmd = block('try')[2];
    const l = json<Latest>(latest).lines.length
      ? json<Latest>(latest)
      : await rerunUntil<Latest>(shell, latestCmd, (o) => o.lines.length > 0, 10_000);
    expect(l.lines).toHaveLength(8);
    expect(l.lines.every((x) => typeof x.voltageV === 'number')).toBe(true);
    const cmd = json<Command>(switched);
    expect(cmd).toMatchObject({ type: 'switch', state: 'sent' });
    const commands = await rerunUntil<{ items: Command[] }>(
      shell,
      block('try')[4],
      (o) => o.items.some((c) => c.id === cmd.id && c.state === 'acked'),
      10_000,
    );
    expect(commands.items[0]).toMatchObject({ id: cmd.id, state: 'acked' });

    sim.interrupt();
    await sim.waitForExit(15_000);
    expect(sim.output).toMatch(/stopping/);
    service.interrupt();
    await stopped(shell, service);
  }, 420_000);

  it('restarts without rebuilding; SIGTERM to `npm start` stops node and the embedded services', async () => {
    const service = shell.start(only('start'));
    await service.waitForOutput(/Breaker concentrator backend is running/, 60_000);
    expect(service.output).not.toMatch(/building/);
    expect(service.output).toMatch(
      /Admin token\s+the one generated at the first start, in data\/admin-token/,
    );
    const npm = shell.pidOf('npm start');
    expect(npm).toBeDefined();
    process.kill(npm!, 'SIGTERM');
    await stopped(shell, service);
  }, 120_000);

  it('open enrollment: unknown serials show up pending, adoption brings their data; SIGTERM to node stops all', async () => {
    const service = shell.start(only('discover-start'));
    await service.waitForOutput(/Breaker concentrator backend is running/, 60_000);
    expect(service.output).toMatch(/Enrollment\s+OPEN/);
    const sim = shell.start(only('discover-simulate'));
    await sim.waitForOutput(/2\/2 concentrators running/, 60_000);

    const commands = block('discover-try');
    const pendingCmd = commands[1];
    const pending = await rerunUntil<{ items: Concentrator[] }>(
      shell,
      pendingCmd,
      (o) => o.items.some((c) => c.sn === '202106010001'),
      10_000,
    );
    expect(pending.items.map((c) => c.sn)).toEqual(['202106010001', '202106010002']);
    const [, , adopted] = runBlock(shell, commands.slice(0, 3));
    expect(json<Concentrator>(adopted)).toMatchObject({ sn: '202106010001', state: 'managed' });
    const latest = await rerunUntil<Latest>(shell, commands[3], (o) => o.lines.length > 0, 15_000);
    expect(latest.lines).toHaveLength(8);

    sim.interrupt();
    await sim.waitForExit(15_000);
    const node = shell.pidOf('node dist/main.js');
    expect(node).toBeDefined();
    process.kill(node!, 'SIGTERM');
    await stopped(shell, service);
  }, 180_000);
});
