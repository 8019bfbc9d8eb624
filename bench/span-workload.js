/**
 * The span every span benchmark makes: `startSpan` with two attributes, one
 * `setAttribute`, `end` (and its `startActiveSpan` form). Kept apart from
 * spans.js so that a process measuring one candidate alone (export.js)
 * loads neither the other candidate nor spans.js's imports.
 */
export const START_OPTIONS = { attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 } };

/**
 * Each candidate gets its own copy of the loop (a fresh function from
 * source), so V8's call-site feedback in one candidate's loop never sees
 * another's tracer and span classes: a loop shared by all of them would turn
 * megamorphic and slow every candidate down.
 */
export const SPANS_LOOP = `return function spans(n) {
  for (let i = 0; i < n; i++) {
    const span = tracer.startSpan('GET /items', options);
    span.setAttribute('items.count', i);
    span.end();
  }
};`;
export const ACTIVE_LOOP = `function body(span) {
  span.setAttribute('items.count', 1);
  span.end();
}
return function active(n) {
  for (let i = 0; i < n; i++) tracer.startActiveSpan('GET /items', options, body);
};`;

/** A fresh `spans(n)` loop of `tracer`'s: n spans of the workload. */
export function spansLoop(tracer) {
  return new Function('tracer', 'options', SPANS_LOOP)(tracer, START_OPTIONS);
}

/** A fresh `active(n)` loop of `tracer`'s: n spans with startActiveSpan. */
export function activeLoop(tracer) {
  return new Function('tracer', 'options', ACTIVE_LOOP)(tracer, START_OPTIONS);
}
