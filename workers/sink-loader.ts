/**
 * Loads and constructs a sink from its resolved spec, in the worker. Every
 * failure is a SinkError naming the sink, so `start()` and `addSink()`
 * reject with it instead of the worker dying.
 */
import { SinkError } from '../src/errors.js';
import type { SinkContext, SinkFactory, TraceSink } from '../src/sinks/trace-sink.js';
import type { ResolvedSinkSpec } from '../src/control/control-protocol.js';
import { BUILTIN_SINK_MODULES } from '../src/sinks/builtin-sinks.js';

/** Built-ins load from source (.ts) when this module runs from source (the test runner), from dist (.js) otherwise. */
export function builtinExtension(loaderUrl: string): '.ts' | '.js' {
  return loaderUrl.endsWith('.ts') ? '.ts' : '.js';
}
const EXT = builtinExtension(import.meta.url);

const SINKS_FOLDER = new URL('../src/sinks/', import.meta.url);
export { BUILTIN_SINK_MODULES };

/** `context` is what every sink's factory gets besides its name (see `SinkContext`). */
export async function loadSink(spec: ResolvedSinkSpec, context: Omit<SinkContext, 'name'> = {}): Promise<TraceSink> {
  let url: string;
  if (spec.builtin !== undefined) {
    const path = (BUILTIN_SINK_MODULES as Readonly<Record<string, string>>)[spec.builtin];
    if (path === undefined) throw new SinkError(spec.name, `unknown built-in sink ${JSON.stringify(spec.builtin)}`);
    url = new URL(path + EXT, SINKS_FOLDER).href;
  } else {
    url = spec.moduleUrl!;
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (error) {
    throw new SinkError(spec.name, `cannot load module ${url}: ${message(error)}`, { cause: error });
  }
  const factory = mod.default;
  if (typeof factory !== 'function') {
    throw new SinkError(spec.name, `module ${url} has no default export factory function`);
  }
  let sink: unknown;
  try {
    sink = await (factory as SinkFactory)(spec.options, { ...context, name: spec.name });
  } catch (error) {
    throw new SinkError(spec.name, `factory failed: ${message(error)}`, { cause: error });
  }
  if (sink === null || typeof sink !== 'object' || typeof (sink as TraceSink).consume !== 'function' || typeof (sink as TraceSink).flush !== 'function') {
    throw new SinkError(spec.name, 'factory did not return a sink with consume() and flush() methods');
  }
  return sink as TraceSink;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
