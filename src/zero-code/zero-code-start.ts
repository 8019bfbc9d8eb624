/**
 * What `ringtrace/register` does, in two steps:
 *
 *   at once (before the application's first line): read the environment
 *     (env-config.ts), set the diagnostic logger (OTEL_LOG_LEVEL), register
 *     the ESM loader hook and the application's auto-instrumentations, so
 *     the modules it loads next are patched;
 *   then (async): start the dispatcher with the sinks the variables and
 *     RINGTRACE_CONFIG name, and install it (tracer and logger providers,
 *     context manager, the OTEL_PROPAGATORS propagators). Exit and signals
 *     drain it, as for any dispatcher `start()` made.
 *
 * It never throws into the application: every failure is a warning, and
 * the application runs without ringtrace (or without the part that failed).
 *
 * In the application's worker threads (which inherit the preload) the same
 * two steps attach instead of starting: the thread's own instrumentations,
 * then `TraceDispatcher.attach()` and the thread's globals. It does nothing
 * in ringtrace's own dispatcher worker.
 */
import * as nodeModule from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, threadId } from 'node:worker_threads';
import { diag, DiagConsoleLogger, type LoggerProvider, type TextMapPropagator, type TracerProvider } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator } from '@opentelemetry/core';
import { TraceDispatcher } from '../dispatcher.js';
import type { AttachedThread } from '../threads/attach.js';
import { isDispatcherWorker } from '../worker-identity.js';
import { isInternalThread, setMainStartState } from './main-start-state.js';
import { resolveSinkSpec } from '../options.js';
import { StrictTraceContextPropagator } from '../capture/strict-trace-context-propagator.js';
import type { SinkSpec } from '../sinks/trace-sink.js';
import type { OtlpSignalConfig, OtlpSinkOptions } from '../sinks/otlp-config.js';
import { applicationRoots, requireFromApp, type AppPackage } from './app-packages.js';
import { badVariable, readZeroCodeConfig, warnEnv, type PropagatorName, type Warn, type ZeroCodeConfig } from './env-config.js';

/** The packages the variables can ask for, resolved from the application. */
export const AUTO_INSTRUMENTATIONS_PACKAGE = '@opentelemetry/auto-instrumentations-node';
export const B3_PACKAGE = '@opentelemetry/propagator-b3';
export const JAEGER_PACKAGE = '@opentelemetry/propagator-jaeger';
export const ESM_HOOK = '@opentelemetry/instrumentation/hook.mjs';

/** Shared by the ESM and CommonJS entries (and any second copy of ringtrace): one start per process. */
const STARTED = Symbol.for('ringtrace.register');
/** The same, for one worker thread's attach (globals are per thread). */
const ATTACHED = Symbol.for('ringtrace.register.thread');

type Global = typeof globalThis & { [STARTED]?: Promise<TraceDispatcher | undefined>; [ATTACHED]?: Promise<AttachedThread | undefined> };

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Start ringtrace from the environment, once per process. The synchronous
 * part (instrumentations, loader hook) is done when this returns; the
 * promise resolves with the installed dispatcher, or undefined when
 * disabled, outside the main thread, or when it could not start (warned).
 * Worker threads made once it is called attach (see `attachZeroCode`);
 * they see whether it started.
 */
export function startZeroCode(env: Readonly<Record<string, string | undefined>> = process.env, warn: Warn = warnEnv): Promise<TraceDispatcher | undefined> {
  const g = globalThis as Global;
  if (!isMainThread) return Promise.resolve(undefined);
  if (g[STARTED] !== undefined) return g[STARTED];
  let started: Promise<TraceDispatcher | undefined>;
  try {
    started = begin(env, warn);
  } catch (error) {
    warn(`ringtrace: zero-code start failed, the application runs without ringtrace: ${message(error)}`);
    started = Promise.resolve(undefined);
  }
  g[STARTED] = started;
  void started.then((d) => {
    if (d !== undefined) setMainStartState('started');
    else if (mainStarting) setMainStartState('failed');
  });
  return started;
}

/** Set once the main thread's start is past `OTEL_SDK_DISABLED` and under way. */
let mainStarting = false;

/**
 * In one of the application's worker threads: register this thread's
 * instrumentations, attach it to the dispatcher the main thread's
 * `startZeroCode()` started, and install the thread's globals (with the
 * OTEL_PROPAGATORS propagator). Once per thread. Resolves with the attached
 * thread, or undefined on the main thread, in ringtrace's own worker, when
 * in Node's own loader thread, when disabled, or when it could not attach (one warning). The variables are
 * not warned about again: the main thread did.
 */
export function attachZeroCode(env: Readonly<Record<string, string | undefined>> = process.env, warn: Warn = warnEnv): Promise<AttachedThread | undefined> {
  const g = globalThis as Global;
  if (isMainThread || isDispatcherWorker() || isInternalThread()) return Promise.resolve(undefined);
  if (g[ATTACHED] !== undefined) return g[ATTACHED];
  let attached: Promise<AttachedThread | undefined>;
  try {
    attached = beginAttached(env, warn);
  } catch (error) {
    warn(`ringtrace: worker thread ${threadId} runs without ringtrace: ${message(error).replace(/^ringtrace: /, '')}`);
    attached = Promise.resolve(undefined);
  }
  g[ATTACHED] = attached;
  return attached;
}

/** The thread `attachZeroCode()` attached (undefined if none). */
export function zeroCodeThread(): Promise<AttachedThread | undefined> {
  return (globalThis as Global)[ATTACHED] ?? Promise.resolve(undefined);
}

/** The dispatcher `ringtrace/register` started (undefined if none). */
export function zeroCodeDispatcher(): Promise<TraceDispatcher | undefined> {
  return (globalThis as Global)[STARTED] ?? Promise.resolve(undefined);
}

function begin(env: Readonly<Record<string, string | undefined>>, warn: Warn): Promise<TraceDispatcher | undefined> {
  const config = readZeroCodeConfig(env, warn);
  if (config.disabled) return Promise.resolve(undefined);
  // Workers made while the dispatcher starts (a --require start does not wait) attach once it answers.
  mainStarting = true;
  setMainStartState('starting');
  if (config.logLevel !== undefined) diag.setLogger(new DiagConsoleLogger(), { logLevel: config.logLevel });
  const roots = applicationRoots();
  const instrumentations = registerInstrumentations(env, roots, warn);
  return startDispatcher(config, roots, instrumentations, warn).catch((error: unknown) => {
    warn(`ringtrace: zero-code start failed, the application runs without ringtrace: ${message(error)}`);
    return undefined;
  });
}

async function beginAttached(env: Readonly<Record<string, string | undefined>>, warn: Warn): Promise<AttachedThread | undefined> {
  // What the main thread already warned about (the same variables, the same packages) goes to the diagnostic logger only.
  const quiet: Warn = (m) => diag.warn(m);
  const config = readZeroCodeConfig(env, quiet);
  if (config.disabled) return undefined;
  if (config.logLevel !== undefined) diag.setLogger(new DiagConsoleLogger(), { logLevel: config.logLevel });
  const roots = applicationRoots();
  const instrumentations = registerInstrumentations(env, roots, quiet);
  let thread: AttachedThread;
  try {
    thread = await TraceDispatcher.attach();
  } catch (error) {
    warn(`ringtrace: worker thread ${threadId} runs without ringtrace: ${message(error).replace(/^ringtrace: /, '')}`);
    return undefined;
  }
  thread.install({ propagator: propagators(config.propagators, roots, quiet) });
  connectInstrumentations(instrumentations, thread, quiet);
  return thread;
}

// ── instrumentations ───────────────────────────────────────────────────

/** What is used of an instrumentation of the application's. */
interface Instrumentation {
  setTracerProvider?(provider: TracerProvider): void;
  setLoggerProvider?(provider: LoggerProvider): void;
}
interface AutoInstrumentations {
  getNodeAutoInstrumentations(): Instrumentation[];
}
interface InstrumentationPackage {
  registerInstrumentations(options: { instrumentations: unknown[] }): unknown;
}

/** The application's auto-instrumentations, enabled and disabled by OTEL_NODE_*_INSTRUMENTATIONS, and the ESM hook. */
function registerInstrumentations(env: Readonly<Record<string, string | undefined>>, roots: string[], warn: Warn): Instrumentation[] {
  let auto: AppPackage | undefined;
  try {
    auto = requireFromApp(AUTO_INSTRUMENTATIONS_PACKAGE, roots);
  } catch (error) {
    warn(`ringtrace: ${AUTO_INSTRUMENTATIONS_PACKAGE} did not load, no instrumentation is registered: ${message(error)}`);
    return [];
  }
  if (auto === undefined) return [];
  checkInstrumentationNames(env, auto, warn);
  registerEsmHook(auto, warn);
  try {
    const instrumentations = (auto.exports as AutoInstrumentations).getNodeAutoInstrumentations();
    // The registration of the auto-instrumentations' own copy of @opentelemetry/instrumentation.
    const api = auto.require('@opentelemetry/instrumentation') as InstrumentationPackage;
    api.registerInstrumentations({ instrumentations });
    return instrumentations;
  } catch (error) {
    warn(`ringtrace: registering ${AUTO_INSTRUMENTATIONS_PACKAGE} failed: ${message(error)}`);
    return [];
  }
}

/**
 * Hand the providers to each instrumentation once installed. They were
 * registered before the dispatcher existed, with the global proxy of the
 * API copy they load: the CommonJS copy, whose proxy never learns of a
 * provider that ringtrace (which loads the ES module copy) installs.
 */
function connectInstrumentations(instrumentations: readonly Instrumentation[], producer: { tracerProvider: TracerProvider; loggerProvider: LoggerProvider }, warn: Warn): void {
  for (const instrumentation of instrumentations) {
    try {
      instrumentation.setTracerProvider?.(producer.tracerProvider);
      instrumentation.setLoggerProvider?.(producer.loggerProvider);
    } catch (error) {
      warn(`ringtrace: an instrumentation refused the tracer provider: ${message(error)}`);
    }
  }
}

/** One warning per variable naming instrumentations the package does not have (it would only say so on the diagnostic logger). */
function checkInstrumentationNames(env: Readonly<Record<string, string | undefined>>, auto: AppPackage, warn: Warn): void {
  for (const name of ['OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'OTEL_NODE_DISABLED_INSTRUMENTATIONS']) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const unknown = raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => {
        if (s === '') return false;
        try {
          auto.require.resolve(`@opentelemetry/instrumentation-${s}`);
          return false;
        } catch {
          return true;
        }
      });
    if (unknown.length > 0) {
      warn(badVariable(name, raw, `no instrumentation named ${unknown.map((u) => JSON.stringify(u)).join(', ')} in ${AUTO_INSTRUMENTATIONS_PACKAGE}`, 'ignoring those names'));
    }
  }
}

/**
 * @opentelemetry/instrumentation's loader hook (import-in-the-middle), so ES
 * modules are patched as CommonJS ones are: `module.register`, Node >= 20.6
 * and >= 18.19. Older Node: ES modules are not instrumented (warned).
 */
function registerEsmHook(auto: AppPackage, warn: Warn): void {
  const register = (nodeModule as { register?: (specifier: string, parentURL: string) => void }).register;
  if (typeof register !== 'function') {
    warn(`ringtrace: this Node.js (${process.version}) has no module.register, so ES modules are not instrumented; CommonJS modules are`);
    return;
  }
  let hook: string;
  try {
    hook = auto.require.resolve(ESM_HOOK);
  } catch (error) {
    warn(`ringtrace: ${ESM_HOOK} not found, so ES modules are not instrumented: ${message(error)}`);
    return;
  }
  try {
    register(pathToFileURL(hook).href, pathToFileURL(auto.path).href);
  } catch (error) {
    warn(`ringtrace: registering ${ESM_HOOK} failed, so ES modules are not instrumented: ${message(error)}`);
  }
}

// ── the dispatcher ─────────────────────────────────────────────────────

function sameSettings(a: OtlpSignalConfig, b: OtlpSignalConfig): boolean {
  return a.protocol === b.protocol && a.timeoutMs === b.timeoutMs && a.compression === b.compression && JSON.stringify(a.headers) === JSON.stringify(b.headers);
}

function otlpOptions(signal: OtlpSignalConfig): OtlpSinkOptions {
  // Everything explicit, the variables read above: the sink reads none itself.
  return { ignoreEnvironment: true, protocol: signal.protocol, headers: signal.headers, timeoutMs: signal.timeoutMs, compression: signal.compression };
}

/**
 * The sinks OTEL_TRACES_EXPORTER, OTEL_LOGS_EXPORTER and OTEL_METRICS_EXPORTER
 * name. OTLP metrics ride on the first otlp sink (its `metrics` option carries
 * their own endpoint and settings), else on one of their own.
 */
export function environmentSinks(config: ZeroCodeConfig): SinkSpec[] {
  const sinks: SinkSpec[] = [];
  const { traces, logs } = config.otlp;
  const filter = config.filter;
  const tracesOtlp = config.traceExporters.includes('otlp');
  const logsOtlp = config.logExporters.includes('otlp');
  if (tracesOtlp && logsOtlp && sameSettings(traces, logs)) {
    sinks.push({ name: 'otlp', sink: 'otlp', filter, options: { ...otlpOptions(traces), endpoint: traces.endpoint, logsEndpoint: logs.endpoint } });
  } else {
    if (tracesOtlp) sinks.push({ name: 'otlp-traces', sink: 'otlp', filter, options: { ...otlpOptions(traces), endpoint: traces.endpoint, exportEvents: false } });
    if (logsOtlp) sinks.push({ name: 'otlp-logs', sink: 'otlp', filter, options: { ...otlpOptions(logs), logsEndpoint: logs.endpoint, exportSpans: false } });
  }
  if (config.metricExporters.includes('otlp')) {
    const metrics = config.otlp.metrics;
    const carrier = sinks[0];
    if (carrier !== undefined) carrier.options = { ...(carrier.options as OtlpSinkOptions), metrics };
    // No record reaches it ('off'): it only exports the metrics.
    else sinks.push({ name: 'otlp-metrics', sink: 'otlp', filter: 'off', options: { ignoreEnvironment: true, exportSpans: false, exportEvents: false, metrics } });
  }
  const tracesConsole = config.traceExporters.includes('console');
  if (tracesConsole || config.logExporters.includes('console')) {
    sinks.push({ name: 'console', sink: 'pino', filter, options: { destination: 'stdout', spans: tracesConsole } });
  }
  return sinks;
}

/** A sink's module path in a config file is relative to that file. */
function relativeToFile(spec: unknown, file: string): unknown {
  if (spec === null || typeof spec !== 'object') return spec;
  const m = (spec as { module?: unknown }).module;
  if (typeof m === 'string' && (m.startsWith('./') || m.startsWith('../'))) return { ...spec, module: resolve(dirname(file), m) };
  return spec;
}

/** The sinks of RINGTRACE_CONFIG: a JSON file, or an ES module whose default export (or namespace) has `sinks`. */
export async function configFileSinks(path: string, warn: Warn, cwd: string = process.cwd()): Promise<SinkSpec[]> {
  const file = isAbsolute(path) ? path : resolve(cwd, path);
  let data: unknown;
  try {
    if (file.endsWith('.json')) {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } else {
      const ns = (await import(pathToFileURL(file).href)) as { default?: unknown; sinks?: unknown };
      data = ns.default !== undefined ? ns.default : ns;
    }
  } catch (error) {
    warn(badVariable('RINGTRACE_CONFIG', path, `a readable JSON file or ES module: ${message(error)}`, 'using no config file'));
    return [];
  }
  const sinks = data !== null && typeof data === 'object' ? (data as { sinks?: unknown }).sinks : undefined;
  if (!Array.isArray(sinks)) {
    warn(badVariable('RINGTRACE_CONFIG', path, 'a config with a `sinks` array', 'using no config file'));
    return [];
  }
  const out: SinkSpec[] = [];
  sinks.forEach((spec: unknown, i) => {
    const where = `RINGTRACE_CONFIG sinks[${i}]`;
    try {
      const given = relativeToFile(spec, file);
      resolveSinkSpec(given, where);
      out.push(given as SinkSpec);
    } catch (error) {
      warn(badVariable('RINGTRACE_CONFIG', path, message(error).replace(/^ringtrace: /, ''), `skipping sinks[${i}]`));
    }
  });
  return out;
}

/** The OTEL_PROPAGATORS propagators; b3, b3multi and jaeger from the application's packages. */
function propagators(names: readonly PropagatorName[], roots: string[], warn: Warn): TextMapPropagator {
  const list: TextMapPropagator[] = [];
  const fromApp = (pkg: string, name: PropagatorName): Record<string, unknown> | undefined => {
    try {
      const found = requireFromApp(pkg, roots);
      if (found !== undefined) return found.exports as Record<string, unknown>;
    } catch (error) {
      warn(`ringtrace: ${pkg} did not load, so the ${name} propagator is left out: ${message(error)}`);
      return undefined;
    }
    warn(badVariable('OTEL_PROPAGATORS', names.join(','), `${name} needs ${pkg}, which the application does not have`, `leaving ${name} out`));
    return undefined;
  };
  for (const name of names) {
    if (name === 'tracecontext') list.push(new StrictTraceContextPropagator());
    else if (name === 'baggage') list.push(new W3CBaggagePropagator());
    else if (name === 'b3' || name === 'b3multi') {
      const b3 = fromApp(B3_PACKAGE, name) as { B3Propagator: new (c?: object) => TextMapPropagator; B3InjectEncoding: { MULTI_HEADER: number } } | undefined;
      if (b3 !== undefined) list.push(new b3.B3Propagator(name === 'b3multi' ? { injectEncoding: b3.B3InjectEncoding.MULTI_HEADER } : {}));
    } else {
      const jaeger = fromApp(JAEGER_PACKAGE, name) as { JaegerPropagator: new () => TextMapPropagator } | undefined;
      if (jaeger !== undefined) list.push(new jaeger.JaegerPropagator());
    }
  }
  return new CompositePropagator({ propagators: list });
}

async function startDispatcher(config: ZeroCodeConfig, roots: string[], instrumentations: readonly Instrumentation[], warn: Warn): Promise<TraceDispatcher | undefined> {
  const fromEnv = environmentSinks(config);
  const fromFile = config.configPath === undefined ? [] : await configFileSinks(config.configPath, warn);
  // A config-file sink with the name of an environment one replaces it (to give it a filter, say).
  const names = new Set(fromFile.map((s) => s.name));
  const sinks = [...fromEnv.filter((s) => !names.has(s.name)), ...fromFile];
  const options = {
    serviceName: config.serviceName,
    resourceAttributes: config.resourceAttributes,
    queueCapacity: config.queueCapacity,
    flushIntervalMs: config.flushIntervalMs,
    sampler: config.sampler,
    samplerArg: config.samplerArg,
    spanLimits: config.spanLimits,
    metrics: { exportIntervalMs: config.metricExportIntervalMs },
  };
  let dispatcher: TraceDispatcher;
  try {
    dispatcher = await TraceDispatcher.start({ ...options, sinks });
  } catch (error) {
    if (fromFile.length === 0) throw error;
    warn(badVariable('RINGTRACE_CONFIG', config.configPath ?? '', `its sinks did not start: ${message(error)}`, 'starting without them'));
    dispatcher = await TraceDispatcher.start({ ...options, sinks: fromEnv });
  }
  dispatcher.install({ propagator: propagators(config.propagators, roots, warn) });
  connectInstrumentations(instrumentations, dispatcher, warn);
  return dispatcher;
}
