import net, { AddressInfo } from 'node:net';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A first serial no earlier run used: 9 + seconds-based stamp, room for 10k devices. */
export function freshSnStart(): string {
  const stamp = Math.floor(Date.now() / 1000) % 10_000_000;
  return `9${String(stamp).padStart(7, '0')}0000`;
}
