/**
 * Global installation, the way the SDK's `NodeTracerProvider.register()`
 * does it: the tracer provider, the Logs API logger provider, the meter
 * provider, an AsyncLocalStorage context manager and the W3C trace-context
 * (checked to the letter, see strict-trace-context-propagator.ts) + baggage
 * propagators.
 *
 * The OpenTelemetry API keeps the first registration of each global. When
 * another provider (or context manager, or propagator) is already there, we
 * warn and keep it, unless `{ replace: true }` is given; installing the same
 * dispatcher twice warns and changes nothing. Either way the application is
 * left with working globals.
 */
import {
  context,
  logs,
  metrics,
  propagation,
  trace,
  type LoggerProvider,
  type MeterProvider,
  type TextMapPropagator,
  type TracerProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator } from '@opentelemetry/core';
import { ERROR_CODES } from '../errors.js';
import { isInstalledContextManager, setInstalledContextManager } from './span-context.js';
import { StrictTraceContextPropagator } from './strict-trace-context-propagator.js';

/**
 * The context manager install() registers. Capture reads it directly while
 * it is the global one (see `activeContext`); every way the API retires a
 * global context manager (`context.disable()`, from any copy of the API)
 * calls its `disable()` first, which ends that.
 */
class InstalledContextManager extends AsyncLocalStorageContextManager {
  override disable(): this {
    if (isInstalledContextManager(this)) setInstalledContextManager(undefined);
    return super.disable();
  }
}

export interface InstallOptions {
  /** Replace globals another SDK registered, instead of keeping them. Default false. */
  replace?: boolean;
  /**
   * The propagator to register. Default: W3C trace context (its `tracestate`
   * checked to the letter) and W3C baggage. `ringtrace/register` builds one
   * from `OTEL_PROPAGATORS`.
   */
  propagator?: TextMapPropagator;
}

/** The default propagator: strict W3C trace context and W3C baggage. */
export function defaultPropagator(): TextMapPropagator {
  return new CompositePropagator({ propagators: [new StrictTraceContextPropagator(), new W3CBaggagePropagator()] });
}

/** The providers one dispatcher installs. */
export interface Providers {
  tracerProvider: TracerProvider;
  loggerProvider: LoggerProvider;
  meterProvider: MeterProvider;
}

/** What an installation registered, so `uninstall` removes exactly that. */
export interface Installation {
  provider: boolean;
  loggerProvider: boolean;
  meterProvider: boolean;
  contextManager: AsyncLocalStorageContextManager | undefined;
  propagator: boolean;
}

/** The warning code for installation conflicts (`process.on('warning')`). */
export const INSTALL_WARNING_CODE = ERROR_CODES.INSTALL;

let installed: TracerProvider | undefined;
let installedLogs: LoggerProvider | undefined;
let installedMeters: MeterProvider | undefined;

function warn(message: string): void {
  process.emitWarning(message, { code: INSTALL_WARNING_CODE });
}

function kept(what: string, lost: string): string {
  return `ringtrace: another global ${what} is already registered (an OpenTelemetry SDK?); keeping it, so ${lost} do not reach ringtrace. Pass { replace: true } to install ringtrace in its place.`;
}

export function installGlobals(providers: Providers, options: InstallOptions = {}): Installation | undefined {
  const { tracerProvider, loggerProvider, meterProvider } = providers;
  if (installed === tracerProvider) {
    warn('ringtrace: this dispatcher is already installed as the global tracer provider; nothing changed');
    return undefined;
  }
  if (options.replace === true) {
    trace.disable();
    logs.disable();
    metrics.disable();
    context.disable();
    propagation.disable();
  }
  const result: Installation = { provider: false, loggerProvider: false, meterProvider: false, contextManager: undefined, propagator: false };
  const manager = new InstalledContextManager().enable();
  if (context.setGlobalContextManager(manager)) {
    result.contextManager = manager;
    setInstalledContextManager(manager);
  } else {
    manager.disable();
    warn('ringtrace: a global context manager is already registered; keeping it (pass { replace: true } to replace it)');
  }
  const propagator = options.propagator ?? defaultPropagator();
  if (propagation.setGlobalPropagator(propagator)) {
    result.propagator = true;
  } else {
    warn('ringtrace: a global propagator is already registered; keeping it (pass { replace: true } to replace it)');
  }
  if (trace.setGlobalTracerProvider(tracerProvider)) {
    result.provider = true;
    installed = tracerProvider;
  } else {
    warn(kept('tracer provider', 'spans'));
  }
  if (logs.setGlobalLoggerProvider(loggerProvider)) {
    result.loggerProvider = true;
    installedLogs = loggerProvider;
  } else {
    warn(kept('logger provider', 'Logs API records'));
  }
  if (metrics.setGlobalMeterProvider(meterProvider)) {
    result.meterProvider = true;
    installedMeters = meterProvider;
  } else {
    warn(kept('meter provider', 'metrics'));
  }
  return result;
}

export function uninstallGlobals(providers: Providers, installation: Installation): void {
  if (installation.provider && installed === providers.tracerProvider) {
    trace.disable();
    installed = undefined;
  }
  if (installation.loggerProvider && installedLogs === providers.loggerProvider) {
    logs.disable();
    installedLogs = undefined;
  }
  if (installation.meterProvider && installedMeters === providers.meterProvider) {
    metrics.disable();
    installedMeters = undefined;
  }
  if (installation.propagator) propagation.disable();
  if (installation.contextManager !== undefined) {
    installation.contextManager.disable();
    context.disable();
  }
}
