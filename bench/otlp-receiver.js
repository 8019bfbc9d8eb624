/**
 * An OTLP/HTTP trace receiver for bench/export.js, run as its own process
 * (`fork`ed, with an IPC channel): it listens on loopback, answers every
 * POST at once with 200 and an empty ExportTraceServiceResponse, then counts
 * the spans in the body (gunzipped when `Content-Encoding: gzip`).
 *
 *   --mode decode   decode each protobuf body with protobufjs and the official
 *                   schema in test/fixtures/opentelemetry-proto (JSON bodies:
 *                   JSON.parse), and check every span's ids are 16 and 8 bytes
 *   --mode count    walk the protobuf wire format to the spans and count them,
 *                   without building messages (for capacity runs, where a full
 *                   decode would make the receiver the bottleneck)
 *
 * IPC: sends `{ type: 'listening', port }` once; answers `{ type: 'count' }`
 * with `{ type: 'count', spans, requests, bytes, badSpans, errors, cpuMs }`
 * (cpuMs: the receiver's own CPU time since it listened, to see whether it kept up). Bodies
 * are decoded in the request's `end` handler right after the answer is
 * written, so a count asked for after the sender has seen its last answer
 * includes that request.
 *
 *   node bench/otlp-receiver.js [--mode decode|count]   (normally forked by bench/export.js)
 */
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const args = process.argv.slice(2);
const mode = args.includes('--mode') ? args[args.indexOf('--mode') + 1] : 'decode';
if (mode !== 'decode' && mode !== 'count') throw new Error(`--mode must be decode or count, not ${JSON.stringify(mode)}`);

const PROTO_ROOT = fileURLToPath(new URL('../test/fixtures/opentelemetry-proto/', import.meta.url));

function traceServiceTypes() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : PROTO_ROOT + target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  return {
    request: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  };
}

const types = traceServiceTypes();
const EMPTY_RESPONSE = Buffer.from(types.response.encode(types.response.create({})).finish());

const counts = { spans: 0, requests: 0, bytes: 0, badSpans: 0, errors: 0, lastError: undefined };

/** Spans in a decoded ExportTraceServiceRequest; ids of the wrong length are counted bad. */
function countDecoded(message) {
  let spans = 0;
  for (const rs of message.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        spans++;
        if (span.traceId?.length !== 16 || span.spanId?.length !== 8) counts.badSpans++;
      }
    }
  }
  return spans;
}

/** Spans in an OTLP/JSON body: hex ids of 32 and 16 characters. */
function countJson(body) {
  let spans = 0;
  for (const rs of JSON.parse(body.toString('utf8')).resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        spans++;
        if (span.traceId?.length !== 32 || span.spanId?.length !== 16) counts.badSpans++;
      }
    }
  }
  return spans;
}

function varint(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    if (pos.at >= buf.length) throw new Error('truncated varint');
    const b = buf[pos.at++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return value;
    shift += 7;
    if (shift > 63) throw new Error('varint too long');
  }
}

/**
 * Calls `onField(field, start, end)` for each length-delimited field of the
 * message in buf[start, end); skips the other wire types.
 */
function eachLengthDelimited(buf, start, end, onField) {
  const pos = { at: start };
  while (pos.at < end) {
    const key = varint(buf, pos);
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        varint(buf, pos);
        break;
      case 1:
        pos.at += 8;
        break;
      case 2: {
        const length = varint(buf, pos);
        if (pos.at + length > end) throw new Error('length past the end of the message');
        onField(field, pos.at, pos.at + length);
        pos.at += length;
        break;
      }
      case 5:
        pos.at += 4;
        break;
      default:
        throw new Error(`wire type ${key & 7} at byte ${pos.at}`);
    }
  }
  if (pos.at !== end) throw new Error('field past the end of the message');
}

/** Spans in ExportTraceServiceRequest bytes: resource_spans = 1, scope_spans = 2, spans = 2. */
function countWire(buf) {
  let spans = 0;
  eachLengthDelimited(buf, 0, buf.length, (f1, s1, e1) => {
    if (f1 !== 1) return;
    eachLengthDelimited(buf, s1, e1, (f2, s2, e2) => {
      if (f2 !== 2) return;
      eachLengthDelimited(buf, s2, e2, (f3) => {
        if (f3 === 2) spans++;
      });
    });
  });
  return spans;
}

function countBody(body, contentType) {
  if (contentType.includes('json')) return countJson(body);
  return mode === 'decode' ? countDecoded(types.request.decode(body)) : countWire(body);
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const json = (req.headers['content-type'] ?? '').includes('json');
    res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
    res.end(json ? '{}' : EMPTY_RESPONSE);
    counts.requests++;
    try {
      let body = Buffer.concat(chunks);
      counts.bytes += body.length;
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      counts.spans += countBody(body, req.headers['content-type'] ?? '');
    } catch (error) {
      counts.errors++;
      counts.lastError = String(error);
    }
  });
});
server.keepAliveTimeout = 30_000;

let cpuAtListen;
server.listen(0, '127.0.0.1', () => {
  cpuAtListen = process.cpuUsage();
  process.send({ type: 'listening', port: server.address().port, mode });
});

process.on('message', (message) => {
  if (message?.type !== 'count') return;
  const cpu = process.cpuUsage(cpuAtListen);
  process.send({ type: 'count', ...counts, cpuMs: (cpu.user + cpu.system) / 1000 });
});
// The parent going away ends the receiver.
process.on('disconnect', () => process.exit(0));
