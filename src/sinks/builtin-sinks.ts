/**
 * The built-in sinks, registered in one place: the names `{ sink: name }`
 * accepts on the application's thread and the modules the worker loads.
 */

/** Each built-in sink's module, relative to this folder, without its extension. */
export const BUILTIN_SINK_MODULES = {
  ndjson: './ndjson-sink',
  memory: './memory-sink',
  prometheus: './prometheus-sink',
  'chrome-trace': './chrome-trace-sink',
  pino: './pino-sink',
  otlp: './otlp-sink',
} as const;

/** Names of the built-in sinks. */
export type BuiltinSinkName = keyof typeof BUILTIN_SINK_MODULES;

/** The built-in sinks `{ sink: name }` accepts. */
export const BUILTIN_SINKS = Object.keys(BUILTIN_SINK_MODULES) as readonly BuiltinSinkName[];
