// Runs one built bundle in this (fresh) process the way its platform would, and prints one JSON
// line: { importMs, handlerType, firstEventMs?, result?, error? }. Plain JavaScript so that a probe
// process pays for nothing but Node and the bundle: the cold-start bench and test/build use it.
//   node app/build/probe.mjs                                   import nothing (the baseline)
//   node app/build/probe.mjs <bundle> [lambda|fc] [event.json] import it, then invoke once
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [bundle, target = 'lambda', eventFile] = process.argv.slice(2);
const out = {};
if (bundle) {
  const started = performance.now();
  // FC's runtime require()s index.js; Lambda import()s index.mjs. (import() of a CommonJS file
  // would also lex it for named exports, which FC does not do.)
  const mod = target === 'fc' ? createRequire(import.meta.url)(bundle) : await import(pathToFileURL(bundle).href);
  const handler = mod.handler ?? mod.default?.handler;
  out.importMs = performance.now() - started;
  out.handlerType = typeof handler;
  if (eventFile && typeof handler === 'function') {
    const text = readFileSync(eventFile);
    // Lambda hands over parsed JSON and a context with the remaining time; FC a Buffer and
    // `function.timeout` in seconds.
    const [event, context] =
      target === 'fc'
        ? [text, { requestId: 'probe', function: { name: 'probe', timeout: 60 } }]
        : [JSON.parse(text.toString('utf8')), { getRemainingTimeInMillis: () => 60_000 }];
    const invoked = performance.now();
    try {
      out.result = await handler(event, context);
    } catch (err) {
      out.error = { name: err?.name, message: String(err?.message ?? err) };
    }
    out.firstEventMs = performance.now() - invoked;
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
// Open sockets or timers in a bundle must not keep a probe alive.
process.exit(0);
