/**
 * Loads a chrome-trace file into a real third-party viewer: speedscope's
 * built app (the npm package ships it), in Debian's Chromium driven headless
 * by playwright-core. speedscope's own Trace Event importer parses the file;
 * its Export button gives back what it imported, which is checked here.
 * Skipped when /usr/bin/chromium is absent. With UPDATE_SCREENSHOT=1 it also
 * saves docs/chrome-trace.png for the README.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { TraceDispatcher } from '../src/index.js';
import { openSpan, writeSpan } from './fixtures/span-writer.js';

const CHROMIUM = '/usr/bin/chromium';
const SPEEDSCOPE = fileURLToPath(new URL('../node_modules/speedscope/dist/release/', import.meta.url));
const SCREENSHOT = fileURLToPath(new URL('../docs/chrome-trace.png', import.meta.url));

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.png': 'image/png' };

interface SpeedscopeExport {
  shared: { frames: { name: string }[] };
  profiles: { name: string; type: string; events: { type: 'O' | 'C'; frame: number; at: number }[] }[];
}

t.test('speedscope imports the file: every span, in its lane, nested', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed` }, async (t) => {
  const path = join(t.testdir(), 'trace.json');
  const d = await TraceDispatcher.start({ sinks: [{ name: 'trace', sink: 'chrome-trace', filter: 'trace', options: { path, processName: 'shop' } }] });
  const t0 = Date.now();
  // Two requests; the second has concurrent children that overlap without nesting.
  for (const [i, start] of [t0, t0 + 14].entries()) {
    const req = openSpan(d.encoder, { name: `GET /cart/${i}`, target: 'http', start });
    writeSpan(d.encoder, { name: 'auth.verify', target: 'auth', parent: req, start: start + 0.5, end: start + 2 });
    const price = openSpan(d.encoder, { name: 'pricing.compute', target: 'pricing', parent: req, start: start + 2.5 });
    writeSpan(d.encoder, { name: 'cache.get', target: 'cache', parent: price, start: start + 3, end: start + 4, status: { code: 2, message: 'miss' } });
    writeSpan(d.encoder, { name: 'db.query', target: 'db', parent: price, start: start + (i === 0 ? 4.5 : 3.5), end: start + 9 });
    price.end(start + 10);
    d.logger('http').info('response sent', { status: 200 });
    req.end(start + 11, { code: 1 });
  }
  await d.shutdown();

  const server = createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0]!;
    const file = p === '/trace.json' ? path : join(SPEEDSCOPE, p === '/' ? 'index.html' : p.slice(1));
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 420 }, acceptDownloads: true });
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(`${base}/trace.json`)}&title=ringtrace`);
  // A string, evaluated in the page: this file is type-checked without the DOM library.
  await page.waitForFunction("document.title === 'ringtrace - speedscope'", undefined, { timeout: 15_000 });
  t.ok(logs.includes('Importing as Trace Event Format profile'), 'speedscope recognised the Trace Event format');
  t.notOk(logs.some((l) => l.startsWith('pageerror')), `no page errors: ${logs.join(' | ')}`);
  const body = await page.innerText('body');
  t.notMatch(body, /Something went wrong|Unrecognized format/);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Export')]);
  const exported = JSON.parse(await readFile((await download.path())!, 'utf8')) as SpeedscopeExport;
  const frameName = (i: number): string => exported.shared.frames[i]!.name.split(' {')[0]!;
  const opened = exported.profiles.flatMap((p) => p.events.filter((e) => e.type === 'O').map((e) => frameName(e.frame)));
  t.same(
    opened.sort(),
    ['GET /cart/0', 'GET /cart/1', 'auth.verify', 'auth.verify', 'cache.get', 'cache.get', 'db.query', 'db.query', 'pricing.compute', 'pricing.compute'],
    'every span came through the importer',
  );
  t.equal(exported.profiles.length, 3, 'three lanes: one per trace, plus one for the overlapping sibling');
  // Nesting as speedscope rebuilt it: in the first lane, db.query opens inside pricing.compute inside GET /cart/0.
  const first = exported.profiles.find((p) => p.events.some((e) => frameName(e.frame) === 'GET /cart/0'))!;
  const stack: string[] = [];
  let deepest: string[] = [];
  for (const e of first.events) {
    if (e.type === 'O') {
      stack.push(frameName(e.frame));
      if (stack.length > deepest.length) deepest = [...stack];
    } else stack.pop();
  }
  t.same(deepest.slice(0, 2), ['GET /cart/0', 'pricing.compute'], 'children nest under their parent');

  if (process.env.UPDATE_SCREENSHOT === '1') {
    await page.screenshot({ path: SCREENSHOT });
    await writeFile(SCREENSHOT.replace(/\.png$/, '.json'), await readFile(path));
    t.pass(`screenshot saved to ${SCREENSHOT}`);
  }
});
