import { readFileSync, readdirSync } from 'node:fs';
import type { Client } from 'pg';

/**
 * Process times in /proc are in clock ticks of 1/USER_HZ s, and USER_HZ is 100
 * on every Linux ABI Node runs on: 10 ms resolution, fine over runs of seconds.
 */
const TICK_US = 10_000;

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** This process's own CPU (all its threads), µs. */
  cpuUs: number;
  /** CPU of its children that exited and were reaped, µs. */
  reapedChildrenUs: number;
}

/** /proc/<pid>/stat, or undefined when the process is gone or not visible. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may contain spaces and parentheses: it ends at the last ')'.
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' '); // f[0] is field 3 (state)
  const n = (field: number) => Number(f[field - 3]);
  return {
    pid,
    comm: text.slice(text.indexOf('(') + 1, close),
    ppid: n(4),
    cpuUs: (n(14) + n(15)) * TICK_US,
    reapedChildrenUs: (n(16) + n(17)) * TICK_US,
  };
}

/** User + system CPU of a process and all its threads, µs. */
export function processCpuUs(pid: number): number {
  const s = readStat(pid);
  if (!s) throw new Error(`process ${pid} is gone`);
  return s.cpuUs;
}

/** Peak resident set size over the process's life (VmHWM), bytes. */
export function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmHWM for process ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * CPU of a whole PostgreSQL server: the postmaster, every process it forked
 * that is still alive (backends, WAL writer, checkpointer, autovacuum…), and
 * those that already exited (the kernel adds a reaped child's time to its
 * parent's cutime/cstime, so a backend that closed mid-run is not lost).
 */
export class PgServerCpu {
  private constructor(readonly postmasterPid: number) {}

  /**
   * Finds the server behind a connection: its backend's parent is the
   * postmaster. Returns a reason instead when /proc does not show it (a server
   * on another host, or in a container with its own pid namespace).
   */
  static async of(db: Client): Promise<PgServerCpu | string> {
    const r = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = readStat(r.rows[0].pid);
    if (!backend || backend.comm !== 'postgres') {
      return `backend pid ${r.rows[0].pid} is not a local postgres process (remote server?)`;
    }
    const postmaster = readStat(backend.ppid);
    if (!postmaster || postmaster.comm !== 'postgres') {
      return `parent of backend ${backend.pid} is not a postgres process`;
    }
    return new PgServerCpu(postmaster.pid);
  }

  /** Total CPU so far, µs; the difference of two readings is the server's CPU in between. */
  totalUs(): number {
    const pm = readStat(this.postmasterPid);
    if (!pm) throw new Error(`postmaster ${this.postmasterPid} is gone`);
    let total = pm.cpuUs + pm.reapedChildrenUs;
    for (const entry of readdirSync('/proc')) {
      const c = entry.charCodeAt(0);
      if (c < 48 || c > 57) continue; // not a pid
      const s = readStat(Number(entry));
      if (s && s.ppid === this.postmasterPid) total += s.cpuUs;
    }
    return total;
  }
}
