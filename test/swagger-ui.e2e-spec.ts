import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { Controller, Get, INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ApiOperation } from '@nestjs/swagger';
import type { Page } from 'puppeteer-core';
import request from 'supertest';
import { applyHttpSecurity } from '../src/http/http-security';
import { APP_CONFIG, loadConfig } from '../src/config/app-config';
import { setupSwagger, swaggerDocument } from '../src/http/swagger';
import { HeadlessBrowser, launchBrowser } from './support/browser';
import { ADMIN_TOKEN, bootTestApp, TestApp } from './support/test-app';

/*
 * What a person sees at /docs, in a real browser: the unit of truth is the
 * rendered page, not status codes (a corrupted swagger-ui-init.js is served
 * with 200 and leaves the page blank).
 * SWAGGER_UI_SCREENSHOT_DIR=<dir> keeps screenshots of the final pages to look at.
 */

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every character String.prototype.replace treats specially, and what breaks JS or HTML. */
const ARBITRARY =
  "$` $& $' $1 $$ $<x> ${x} `tick` 'single' \"double\" \\ </script><script>x()</script>";

@Controller('probe')
class ArbitraryTextController {
  @Get()
  @ApiOperation({
    summary: ARBITRARY,
    // An indented Markdown code block: Swagger UI shows it literally.
    description: `Verbatim:\n\n    ${ARBITRARY}\n`,
  })
  get(): string {
    return 'ok';
  }
}

function baseUrl(app: INestApplication): string {
  const addr = app.getHttpServer().address() as { port: number };
  return `http://127.0.0.1:${addr.port}`;
}

/** The top of the page, or one element of it, when SWAGGER_UI_SCREENSHOT_DIR is set. */
async function screenshot(page: Page, name: string, selector?: string): Promise<void> {
  const dir = process.env.SWAGGER_UI_SCREENSHOT_DIR;
  if (!dir) return;
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.png`) as `${string}.png`;
  const el = selector ? await page.$(selector) : null;
  await (el ?? page).screenshot({ path });
}

/** The operations a document declares, as Swagger UI labels them: "GET /path". */
function documentOperations(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => METHODS.includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    )
    .sort();
}

async function renderedOperations(page: Page): Promise<string[]> {
  const ops = await page.$$eval('.opblock', (blocks) =>
    blocks.map(
      (b) =>
        `${b.querySelector('.opblock-summary-method')?.textContent ?? '?'} ` +
        `${b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '?'}`,
    ),
  );
  // An operation with several tags is rendered once per tag.
  return [...new Set(ops)].sort();
}

/** Loads /docs and waits until every operation of the document is on the page. */
async function openDocs(page: Page, url: string, expected: number, errors: string[]) {
  const res = await page.goto(`${url}/docs`, { waitUntil: 'load' });
  expect(res?.status()).toBe(200);
  try {
    // A string, not a function: this project compiles without the DOM library.
    await page.waitForFunction(
      `new Set([...document.querySelectorAll('.opblock')].map((b) => b.id)).size >= ${expected}`,
    );
  } catch (err) {
    // A blank page says nothing by itself; the browser's errors say why.
    throw new Error(`${expected} operations not rendered: ${String(err)}\n${errors.join('\n')}`);
  }
}

/** The opblock of one operation, as a selector that survives ids with odd characters. */
async function operationSelector(page: Page, method: string, path: string): Promise<string> {
  const id = await page.$$eval(
    `.opblock-${method} .opblock-summary-path`,
    (els, p) => els.find((e) => e.getAttribute('data-path') === p)?.closest('.opblock')?.id,
    path,
  );
  if (!id) throw new Error(`${method.toUpperCase()} ${path} is not rendered`);
  return `[id=${JSON.stringify(id)}]`;
}

describe('Swagger UI in a browser', () => {
  let browser: HeadlessBrowser | undefined;

  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  }, 30_000);

  describe('the real app', () => {
    let t: TestApp | undefined;
    let sn = '';

    beforeAll(async () => {
      t = await bootTestApp();
      sn = await t.register();
    }, 60_000);

    afterAll(async () => {
      await t?.close();
    }, 30_000);

    it('renders every operation, authorizes with a token and executes GET /api/v1/concentrators', async () => {
      const app = t!;
      const json = await app.http().get('/docs-json').expect(200);
      // The UI's wiring leaves the served document exactly as Nest builds it.
      expect(json.text).toBe(JSON.stringify(swaggerDocument(app.app)));
      const expected = documentOperations(json.body);
      expect(expected).toContain('GET /api/v1/concentrators');
      const { page, errors } = await browser!.page();
      let op: string | undefined;
      try {
        await openDocs(page, baseUrl(app.app), expected.length, errors);
        expect(await renderedOperations(page)).toEqual(expected);

        await page.click('.auth-wrapper button.authorize');
        await page.waitForSelector('.modal-ux input');
        await page.type('.modal-ux input', ADMIN_TOKEN);
        await page.click('.modal-ux button[aria-label="Apply credentials"]');
        // Swagger UI swaps the form for a Logout button once the token is accepted.
        await page.waitForSelector('.modal-ux button[aria-label="Remove authorization"]');
        await page.click('.modal-ux button.btn-done');
        await page.waitForSelector('.modal-ux', { hidden: true });
        await page.waitForSelector('.auth-wrapper button.authorize.locked');

        op = await operationSelector(page, 'get', '/api/v1/concentrators');
        await page.click(`${op} .opblock-summary`);
        await page.click(`${op} .try-out__btn`);
        await page.click(`${op} .execute`);
        const status = `${op} .live-responses-table tr.response .response-col_status`;
        await page.waitForSelector(status);
        expect(await page.$eval(status, (e) => e.textContent?.trim())).toBe('200');
        const body = await page.$eval(
          `${op} .live-responses-table .microlight`,
          (e) => e.textContent,
        );
        // The response Swagger UI shows is the API's answer to the authorized request.
        expect(JSON.parse(body ?? '')).toMatchObject({ total: 1, items: [{ sn }] });
        expect(errors).toEqual([]);
      } finally {
        await page.evaluate('window.scrollTo(0, 0)').catch(() => undefined);
        await screenshot(page, 'real-app-top').catch(() => undefined);
        await screenshot(page, 'real-app-operation', op).catch(() => undefined);
        await page.close();
      }
    }, 60_000);
  });

  describe('arbitrary description text', () => {
    let app: INestApplication | undefined;

    beforeAll(async () => {
      const moduleRef = await Test.createTestingModule({
        controllers: [ArbitraryTextController],
        providers: [{ provide: APP_CONFIG, useValue: loadConfig({}) }],
      }).compile();
      app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
      // The same headers (CSP) and Swagger wiring as the real app.
      applyHttpSecurity(app);
      setupSwagger(app);
      await app.listen(0, '127.0.0.1');
    }, 30_000);

    afterAll(async () => {
      await app?.close();
    }, 30_000);

    it('is served verbatim in /docs-json and shown verbatim in the page', async () => {
      const server = app!.getHttpServer();
      const json = await request(server).get('/docs-json').expect(200);
      expect(json.body.paths['/probe'].get.summary).toBe(ARBITRARY);

      const init = await request(server).get('/docs/swagger-ui-init.js').expect(200);
      expect(() => new Script(init.text, { filename: 'swagger-ui-init.js' })).not.toThrow();

      const { page, errors } = await browser!.page();
      try {
        await openDocs(page, baseUrl(app!), 1, errors);
        const op = await operationSelector(page, 'get', '/probe');
        expect(await page.$eval(`${op} .opblock-summary-description`, (e) => e.textContent)).toBe(
          ARBITRARY,
        );
        await page.click(`${op} .opblock-summary`);
        const code = `${op} .opblock-description-wrapper pre code`;
        await page.waitForSelector(code);
        expect((await page.$eval(code, (e) => e.textContent))?.trimEnd()).toBe(ARBITRARY);
        expect(errors).toEqual([]);
      } finally {
        await screenshot(page, 'arbitrary-text').catch(() => undefined);
        await page.close();
      }
    }, 60_000);
  });
});
