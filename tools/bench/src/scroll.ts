/**
 * The scroll suite: the web app's message list (packages/web/bench/scroll.tsx bundles the real
 * component and stylesheet) in headless Chromium, over generated histories of 100 messages —
 * the reference, a room that has always been smooth — and of 10,000 (or BENCH_SCROLL_SIZES).
 * For each it prints the time to show the list, the elements in the page, the JS heap, the
 * frame times while scrolling up through the history a step a frame, and the time to jump to
 * the first message and back to the newest. Prints figures; asserts nothing about time.
 *
 * Environment: BENCH_SCROLL_SIZES (default `100,10000`), BENCH_SCROLL_FRAMES (default 300),
 * BENCH_SCROLL_STEP (pixels a frame, default 120), CHROMIUM.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromiumPath, launchChromium, serveFiles, type ServedFile } from './browser.js';
import type { ScrollFigures } from './scroll-figures.js';
import { printTable, summarize } from './stats.js';

async function bundle(): Promise<Map<string, ServedFile>> {
  const entry = fileURLToPath(new URL('../../../packages/web/bench/scroll.tsx', import.meta.url));
  const result = await build({
    entryPoints: { scroll: entry },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    jsx: 'automatic',
    define: { 'process.env.NODE_ENV': '"production"' },
    minify: true,
    outdir: 'out',
    write: false,
    logLevel: 'error',
  });
  const files = new Map<string, ServedFile>([
    [
      '/',
      {
        type: 'text/html; charset=utf-8',
        body: '<!doctype html><meta charset="utf-8"><link rel="stylesheet" href="/scroll.css"><div id="root"></div><script type="module" src="/scroll.js"></script>',
      },
    ],
  ]);
  for (const output of result.outputFiles) {
    const name = output.path.slice(output.path.lastIndexOf('/'));
    files.set(name, {
      type: name.endsWith('.css') ? 'text/css' : 'text/javascript',
      body: output.contents,
    });
  }
  return files;
}

export async function scrollBenchmark(options: {
  sizes: number[];
  frames: number;
  step: number;
}): Promise<ScrollFigures[] | null> {
  if (!existsSync(chromiumPath())) {
    console.log(`\nScrolling in Chromium — skipped: no Chromium at ${chromiumPath()}`);
    return null;
  }
  const served = await serveFiles(await bundle());
  const browser = await launchChromium();
  const figures: ScrollFigures[] = [];
  try {
    for (const count of options.sizes) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.on('pageerror', (error) => console.error('page error:', error.message));
      await page.goto(`${served.origin}/?count=${count}`);
      await page.waitForFunction(() => 'scrollBench' in globalThis);
      figures.push(
        await page.evaluate(
          ([frames, step]) =>
            (
              globalThis as unknown as {
                scrollBench: { run(f: number, s: number): Promise<ScrollFigures> };
              }
            ).scrollBench.run(frames, step),
          [options.frames, options.step] as const,
        ),
      );
      await page.close();
    }
  } finally {
    await browser.close();
    await served.close();
  }
  const fmt = (ms: number) => ms.toFixed(1);
  console.log(
    `\nScrolling the message list in Chromium — ${options.frames} frames, ${options.step} px a frame up from the newest`,
  );
  printTable(
    figures.map((f) => {
      const frames = summarize(f.frames);
      return {
        messages: f.count,
        'show ms': fmt(f.mountMs),
        'rows in page': f.rows,
        elements: f.domNodes,
        'heap MB': f.heapMb === null ? '-' : f.heapMb.toFixed(1),
        'frame p50 ms': fmt(frames.p50),
        'frame p99 ms': fmt(frames.p99),
        'frame max ms': fmt(frames.max),
        'frames > 50 ms': f.frames.filter((ms) => ms > 50).length,
        'jump to first ms': fmt(f.jumpTopMs),
        'jump to newest ms': fmt(f.jumpBottomMs),
      };
    }),
  );
  return figures;
}
