import { CallHandler, ExecutionContext, NotAcceptableException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiProduces } from '@nestjs/swagger';
import { of } from 'rxjs';
import { AcceptInterceptor, negotiate } from './accept-negotiation';

const JSON_CSV = ['application/json', 'text/csv'];
const JSON_ONLY = ['application/json'];
const CHROME =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';
const PROMETHEUS =
  'application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';

describe('negotiate', () => {
  it('takes the first offer when Accept sets no constraint', () => {
    expect(negotiate(undefined, JSON_CSV)).toBe('application/json');
    expect(negotiate('', JSON_CSV)).toBe('application/json');
    expect(negotiate('  ', JSON_ONLY)).toBe('application/json');
    expect(negotiate('garbage', JSON_ONLY)).toBe('application/json');
  });

  it('answers JSON to wildcards and browsers', () => {
    for (const a of ['*/*', 'application/*', CHROME, '*', 'text/html, */*; q=.2']) {
      expect(negotiate(a, JSON_ONLY)).toBe('application/json');
      expect(negotiate(a, JSON_CSV)).toBe('application/json');
    }
  });

  it('picks CSV when it is rated higher, JSON on a tie', () => {
    expect(negotiate('text/csv', JSON_CSV)).toBe('text/csv');
    expect(negotiate('text/csv, */*;q=0.1', JSON_CSV)).toBe('text/csv');
    expect(negotiate('TEXT/CSV; charset=utf-8', JSON_CSV)).toBe('text/csv');
    expect(negotiate('text/*', JSON_CSV)).toBe('text/csv');
    expect(negotiate('text/csv, application/json', JSON_CSV)).toBe('application/json');
    expect(negotiate('text/csv;q=0.5, application/json', JSON_CSV)).toBe('application/json');
    expect(negotiate('application/json;q=0.5, text/csv', JSON_CSV)).toBe('text/csv');
  });

  it('refuses when nothing offered is admitted', () => {
    expect(negotiate('text/csv', JSON_ONLY)).toBeNull();
    expect(negotiate('text/*', JSON_ONLY)).toBeNull();
    expect(negotiate('application/json;q=0', JSON_ONLY)).toBeNull();
    expect(negotiate('application/json;q=0, */*', JSON_ONLY)).toBeNull();
    expect(negotiate('application/xml', JSON_CSV)).toBeNull();
  });

  it('lets the most specific range decide', () => {
    expect(negotiate('*/*;q=0, application/json', JSON_ONLY)).toBe('application/json');
    expect(negotiate('text/csv;q=0, */*', JSON_CSV)).toBe('application/json');
    expect(negotiate('application/*;q=0, */*', JSON_CSV)).toBe('text/csv');
  });

  it('accepts several header fields and Prometheus-style parameters', () => {
    expect(negotiate(['text/plain', 'text/csv'], JSON_CSV)).toBe('text/csv');
    expect(negotiate(PROMETHEUS, ['text/plain'])).toBe('text/plain');
    expect(negotiate('text/plain;version=0.0.4', ['text/plain'])).toBe('text/plain');
  });
});

describe('AcceptInterceptor', () => {
  class Routes {
    json(): void {}
    @ApiProduces('application/json', 'text/csv')
    csv(): void {}
    @ApiProduces('text/event-stream')
    sse(): void {}
  }
  const interceptor = new AcceptInterceptor(new Reflector());
  const next: CallHandler = { handle: () => of('answer') };
  const ctx = (handler: () => void, accept?: string, type = 'http'): ExecutionContext =>
    ({
      getType: () => type,
      getHandler: () => handler,
      getClass: () => Routes,
      switchToHttp: () => ({ getRequest: () => ({ headers: { accept } }) }),
    }) as unknown as ExecutionContext;
  const run = (handler: () => void, accept?: string, type?: string) => () =>
    interceptor.intercept(ctx(handler, accept, type), next);
  const p = Routes.prototype;

  it('lets through what the route produces, JSON by default', () => {
    expect(run(p.json)).not.toThrow();
    expect(run(p.json, CHROME)).not.toThrow();
    expect(run(p.csv, 'text/csv')).not.toThrow();
    expect(run(p.sse, 'text/event-stream')).not.toThrow();
    expect(run(p.sse, '*/*')).not.toThrow();
  });

  it('answers 406 naming what the route produces', () => {
    expect(run(p.json, 'text/csv')).toThrow(NotAcceptableException);
    expect(run(p.json, 'text/csv')).toThrow(/available as application\/json only/);
    expect(run(p.csv, 'application/xml')).toThrow(/application\/json or text\/csv/);
    expect(run(p.sse, 'application/json')).toThrow(NotAcceptableException);
  });

  it('leaves the MQTT transport alone', () => {
    expect(run(p.json, 'text/csv', 'rpc')).not.toThrow();
  });
});
