import t from 'tap';
import { DispatcherStateError, ERROR_CODES, FilterSyntaxError, SinkError, deserializeError, invalidOptionRange, invalidOptionType, serializeError } from '../src/errors.js';

t.test('every error ringtrace makes carries a stable code', async (t) => {
  t.equal(invalidOptionType('queueCapacity', 'a number', 'x').code, 'RINGTRACE_INVALID_OPTION');
  t.equal(invalidOptionRange('queueCapacity', 'a power of two', 3).code, 'RINGTRACE_INVALID_OPTION');
  t.equal(new FilterSyntaxError('x=', 'x=', 'no level').code, 'RINGTRACE_FILTER_SYNTAX');
  t.equal(new SinkError('s', 'bad').code, 'RINGTRACE_SINK');
  t.equal(new DispatcherStateError('gone', ERROR_CODES.WORKER_GONE).code, 'RINGTRACE_WORKER_GONE');
  t.equal(new DispatcherStateError('stopped').code, 'RINGTRACE_SHUT_DOWN');
  for (const code of Object.values(ERROR_CODES)) t.match(code, /^RINGTRACE_[A-Z_]+$/);
});

t.test('an error crossing the port keeps its class, message, code, stack and cause', async (t) => {
  const root = new TypeError('socket refused');
  const sink = new SinkError('otlp', 'factory threw', { cause: root });
  const back = deserializeError(structuredClone(serializeError(sink)));
  t.ok(back instanceof SinkError);
  t.equal((back as SinkError).sinkName, 'otlp');
  t.equal(back.message, sink.message);
  t.equal((back as SinkError).code, 'RINGTRACE_SINK');
  t.equal(back.stack, sink.stack);
  t.ok(back.cause instanceof TypeError);
  t.equal((back.cause as Error).message, 'socket refused');
  t.equal((back.cause as Error).stack, root.stack);
  t.equal((back.cause as { code?: string }).code, 'RINGTRACE_WORKER_ERROR');

  const range = deserializeError(serializeError(invalidOptionRange('x', 'positive', -1)));
  t.ok(range instanceof RangeError);
  t.equal((range as { code?: string }).code, 'RINGTRACE_INVALID_OPTION');

  const state = deserializeError(serializeError(new DispatcherStateError('gone', ERROR_CODES.WORKER_GONE)));
  t.ok(state instanceof DispatcherStateError);
  t.equal((state as DispatcherStateError).code, 'RINGTRACE_WORKER_GONE');

  const custom = new Error('own');
  custom.name = 'MySinkFailure';
  (custom as Error & { code: string }).code = 'E_MINE';
  const own = deserializeError(serializeError(custom));
  t.equal(own.name, 'MySinkFailure');
  t.equal((own as { code?: string }).code, 'E_MINE');

  const plain = deserializeError(serializeError('a thrown string'));
  t.equal(plain.message, 'a thrown string');
  t.equal((plain as { code?: string }).code, 'RINGTRACE_WORKER_ERROR');
});

t.test('a cycle of causes is cut, not followed forever', async (t) => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  a.cause = b;
  let depth = 0;
  for (let e: unknown = deserializeError(serializeError(a)); e instanceof Error; e = e.cause) depth++;
  t.ok(depth > 1 && depth <= 9, `depth ${depth}`);
});
