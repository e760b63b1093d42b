import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { LoadOptions, LoadResult, SentBatch, connectLoad, runLoad } from './load';

/** The simulated fleet, either on a worker thread (default) or on the bench's own thread. */
export interface LoadDriver {
  /** Resolves with the number of connected devices. */
  ready: Promise<number>;
  run(): Promise<LoadResult>;
  stop(): Promise<void>;
}

type WorkerMessage =
  | { kind: 'ready'; connected: number }
  | { kind: 'sent'; batch: SentBatch }
  | { kind: 'done'; result: LoadResult }
  | { kind: 'error'; message: string }
  | { kind: 'stopped' };

export function inProcessDriver(o: LoadOptions, onSent: (b: SentBatch) => void): LoadDriver {
  const fleet = connectLoad(o);
  return {
    ready: fleet.then((f) => f.devices.length),
    run: async () => runLoad(await fleet, o, onSent),
    stop: async () => (await fleet).stop(),
  };
}

export function workerDriver(o: LoadOptions, onSent: (b: SentBatch) => void): LoadDriver {
  // Worker threads do not inherit ts-node's require hook, so register it there too.
  const ts = __filename.endsWith('.ts');
  const entry = path.join(__dirname, ts ? 'load-worker.ts' : 'load-worker.js');
  const project = path.resolve(__dirname, '../../tsconfig.json');
  const code = ts
    ? `require('ts-node').register({ transpileOnly: true, project: ${JSON.stringify(project)} });` +
      `require(${JSON.stringify(entry)});`
    : `require(${JSON.stringify(entry)});`;
  const worker = new Worker(code, { eval: true, workerData: o });
  const waiters = new Map<
    string,
    { resolve: (m: WorkerMessage) => void; reject: (e: Error) => void }
  >();
  const expect = (kind: WorkerMessage['kind']) =>
    new Promise<WorkerMessage>((resolve, reject) => waiters.set(kind, { resolve, reject }));
  const failAll = (e: Error) => {
    for (const w of waiters.values()) w.reject(e);
    waiters.clear();
  };
  worker.on('message', (m: WorkerMessage) => {
    if (m.kind === 'sent') return onSent(m.batch);
    if (m.kind === 'error') return failAll(new Error(`load worker: ${m.message}`));
    waiters.get(m.kind)?.resolve(m);
    waiters.delete(m.kind);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`load worker exited (${code})`)));
  const ready = expect('ready').then((m) => (m.kind === 'ready' ? m.connected : 0));
  return {
    ready,
    run: async () => {
      const done = expect('done');
      worker.postMessage({ kind: 'go' });
      const m = await done;
      if (m.kind !== 'done') throw new Error('unexpected worker reply');
      return m.result;
    },
    stop: async () => {
      const stopped = expect('stopped').catch(() => undefined);
      worker.postMessage({ kind: 'stop' });
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 10_000))]);
      await worker.terminate();
    },
  };
}
