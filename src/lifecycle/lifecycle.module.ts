import { Module } from '@nestjs/common';
import { ConcentratorLifecycle } from './concentrator-lifecycle';

@Module({ providers: [ConcentratorLifecycle], exports: [ConcentratorLifecycle] })
export class LifecycleModule {}
