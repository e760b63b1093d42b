import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

export interface JobSpec {
  /** Unique; names the job in logs and for runNow(). */
  name: string;
  everyMs: number;
  /** First run this long after start-up (default: everyMs). */
  firstAfterMs?: number;
  run: () => Promise<unknown>;
}

interface Job extends JobSpec {
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

/**
 * Every periodic task of the service (sweeps, pruning, partitions, upgrade
 * pacing) is registered here rather than keeping a timer of its own: one
 * place that starts them after start-up, stops them before shutdown, never
 * runs a job twice at once, and decides where a job runs.
 */
@Injectable()
export class PeriodicJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Jobs');
  private readonly jobs = new Map<string, Job>();
  private started = false;
  private stopped = false;

  register(spec: JobSpec): void {
    if (this.jobs.has(spec.name)) throw new Error(`job ${spec.name} registered twice`);
    const job: Job = { ...spec };
    this.jobs.set(spec.name, job);
    if (this.started) this.schedule(job, spec.firstAfterMs ?? spec.everyMs);
  }

  onApplicationBootstrap(): void {
    this.started = true;
    for (const job of this.jobs.values()) this.schedule(job, job.firstAfterMs ?? job.everyMs);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const job of this.jobs.values()) clearTimeout(job.timer);
    await Promise.all([...this.jobs.values()].map((j) => j.running));
  }

  /** Runs a job now (or waits for the run in progress); for tests and operators. */
  runNow(name: string): Promise<void> {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`no job ${name}`);
    return this.runOnce(job);
  }

  private schedule(job: Job, inMs: number): void {
    if (this.stopped) return;
    job.timer = setTimeout(() => {
      void this.runOnce(job).finally(() => this.schedule(job, job.everyMs));
    }, inMs);
    job.timer.unref();
  }

  private runOnce(job: Job): Promise<void> {
    job.running ??= job
      .run()
      .then(
        () => undefined,
        (err: Error) => this.log.error(`${job.name} failed: ${err.message}`),
      )
      .finally(() => (job.running = undefined));
    return job.running;
  }
}
