import { Module } from '@nestjs/common';
import { PeriodicJobs } from './periodic-jobs';

@Module({ providers: [PeriodicJobs], exports: [PeriodicJobs] })
export class JobsModule {}
