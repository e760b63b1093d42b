import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Rejection } from './rejection.entity';
import { RejectionsController } from './rejections.controller';
import { RejectionsService } from './rejections.service';

@Module({
  imports: [TypeOrmModule.forFeature([Rejection])],
  controllers: [RejectionsController],
  providers: [RejectionsService],
  exports: [RejectionsService],
})
export class RejectionsModule {}
