/**
 * Serving the web app: hashed assets cached for a year, index.html revalidated, every page route
 * handled by the single-page app, no listings, no dotfiles, and a plain notice when the app is
 * not built.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WEB_ROOT } from '../src/plugins/web.js';
import { createPlatformApp, fakeWebBuild, type PlatformApp } from './support/platform.js';

const HTML = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

describe('web app', () => {
  let t: PlatformApp;
  beforeAll(async () => {
    t = await createPlatformApp('sqlite', { webRoot: fakeWebBuild() });
  });
  afterAll(() => t.close());

  it('serves index.html at / with no-cache', async () => {
    const response = await t.app.inject({ url: '/', headers: HTML });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.body).toContain('<div id="root">');
  });

  it('hands every page route, known or not, to the single-page app', async () => {
    for (const url of [
      '/login',
      '/register',
      '/devices',
      '/about',
      '/setup',
      '/invite',
      '/settings',
      '/rooms/general?x=1',
      '/no-such-page',
    ]) {
      const response = await t.app.inject({ url, headers: HTML });
      expect(response.statusCode, url).toBe(200);
      expect(response.body, url).toContain('<div id="root">');
      expect(response.headers['cache-control'], url).toBe('no-cache');
    }
  });

  it('caches hashed assets for a year and serves wasm as application/wasm', async () => {
    const js = await t.app.inject({ url: '/assets/app-3f9a1c.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-type']).toContain('javascript');
    const wasm = await t.app.inject({ url: '/assets/opaque-77aa01.wasm' });
    expect(wasm.headers['content-type']).toBe('application/wasm');
    expect(wasm.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    // Files outside assets/ are not content-hashed: revalidate them.
    const icon = await t.app.inject({ url: '/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('answers a missing asset with 404, not the app', async () => {
    const response = await t.app.inject({ url: '/assets/gone-000000.js', headers: HTML });
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('Page not found');
    const script = await t.app.inject({ url: '/assets/gone-000000.js' });
    expect(script.json()).toMatchObject({ code: 'CHAT_ERR_NOT_FOUND' });
  });

  it('lists no directories', async () => {
    for (const url of ['/assets', '/assets/']) {
      const response = await t.app.inject({ url });
      expect(response.statusCode, url).toBe(404);
      expect(response.body, url).not.toContain('app-3f9a1c.js');
    }
  });

  it('never serves dotfiles', async () => {
    for (const url of ['/.env', '/%2eenv', '/assets/../.env']) {
      for (const headers of [{}, HTML]) {
        const response = await t.app.inject({ url, headers });
        expect(response.statusCode, url).toBe(404);
        expect(response.body, url).not.toContain('dotfile-must-not-leak');
      }
    }
  });

  it('never answers /api with the app, and non-browsers get JSON 404s for pages', async () => {
    const api = await t.app.inject({ url: '/api/rooms', headers: HTML });
    expect(api.statusCode).toBe(404);
    expect(api.body).not.toContain('<div id="root">');
    const json = await t.app.inject({ url: '/login', headers: { accept: 'application/json' } });
    expect(json.statusCode).toBe(404);
    expect(json.json()).toMatchObject({ code: 'CHAT_ERR_NOT_FOUND' });
  });

  it('takes no writes on page paths', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/login', headers: HTML });
    expect(response.statusCode).toBe(404);
  });
});

describe('web app not built', () => {
  let t: PlatformApp;
  beforeAll(async () => {
    t = await createPlatformApp('sqlite', {
      webRoot: mkdtempSync(join(tmpdir(), 'securechat-empty-web-')),
    });
  });
  afterAll(() => t.close());

  it('shows a plain page saying how to build it', async () => {
    for (const url of ['/', '/login']) {
      const response = await t.app.inject({ url, headers: HTML });
      expect(response.statusCode, url).toBe(503);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.body).toContain('The web app is not built');
      expect(response.body).toContain('npm run build');
      expect(response.body).not.toContain('<script');
    }
  });

  it('still serves the API, and JSON 404s to non-browsers', async () => {
    expect((await t.app.inject({ url: '/api/server' })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/login' })).json()).toMatchObject({
      code: 'CHAT_ERR_NOT_FOUND',
    });
  });
});

describe('default web root', () => {
  it('is packages/web/dist', () => {
    expect(DEFAULT_WEB_ROOT).toBe(fileURLToPath(new URL('../../web/dist', import.meta.url)));
    // When the web app has been built, that is where its index.html is.
    if (existsSync(join(DEFAULT_WEB_ROOT, 'index.html'))) {
      expect(existsSync(join(DEFAULT_WEB_ROOT, 'assets'))).toBe(true);
    }
  });
});
