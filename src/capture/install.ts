/**
 * Global installation, the way the SDK's `NodeTracerProvider.register()`
 * does it: the tracer provider, the Logs API logger provider, an
 * AsyncLocalStorage context manager and the W3C trace-context (checked to the
 * letter, see strict-trace-context-propagator.ts) + baggage propagators.
 *
 * The OpenTelemetry API keeps the first registration of each global. When
 * another provider (or context manager, or propagator) is already there, we
 * warn and keep it, unless `{ replace: true }` is given; installing the same
 * dispatcher twice warns and changes nothing. Either way the application is
 * left with working globals.
 */
import { context, logs, propagation, trace, type LoggerProvider, type TextMapPropagator, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator } from '@opentelemetry/core';
import { StrictTraceContextPropagator } from './strict-trace-context-propagator.js';

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

/** What an installation registered, so `uninstall` removes exactly that. */
export interface Installation {
  provider: boolean;
  loggerProvider: boolean;
  contextManager: AsyncLocalStorageContextManager | undefined;
  propagator: boolean;
}

/** The warning code for installation conflicts (`process.on('warning')`). */
export const INSTALL_WARNING_CODE = 'RINGTRACE_INSTALL';

let installed: TracerProvider | undefined;
let installedLogs: LoggerProvider | undefined;

function warn(message: string): void {
  process.emitWarning(message, { code: INSTALL_WARNING_CODE });
}

export function installGlobals(provider: TracerProvider, loggerProvider: LoggerProvider, options: InstallOptions = {}): Installation | undefined {
  if (installed === provider) {
    warn('ringtrace: this dispatcher is already installed as the global tracer provider; nothing changed');
    return undefined;
  }
  if (options.replace === true) {
    trace.disable();
    logs.disable();
    context.disable();
    propagation.disable();
  }
  const result: Installation = { provider: false, loggerProvider: false, contextManager: undefined, propagator: false };
  const manager = new AsyncLocalStorageContextManager().enable();
  if (context.setGlobalContextManager(manager)) {
    result.contextManager = manager;
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
  if (trace.setGlobalTracerProvider(provider)) {
    result.provider = true;
    installed = provider;
  } else {
    warn(
      'ringtrace: another global tracer provider is already registered (an OpenTelemetry SDK?); keeping it, so spans do not reach ringtrace. Pass { replace: true } to install ringtrace in its place.',
    );
  }
  if (logs.setGlobalLoggerProvider(loggerProvider)) {
    result.loggerProvider = true;
    installedLogs = loggerProvider;
  } else {
    warn(
      'ringtrace: another global logger provider is already registered (an OpenTelemetry SDK?); keeping it, so Logs API records do not reach ringtrace. Pass { replace: true } to install ringtrace in its place.',
    );
  }
  return result;
}

export function uninstallGlobals(provider: TracerProvider, loggerProvider: LoggerProvider, installation: Installation): void {
  if (installation.provider && installed === provider) {
    trace.disable();
    installed = undefined;
  }
  if (installation.loggerProvider && installedLogs === loggerProvider) {
    logs.disable();
    installedLogs = undefined;
  }
  if (installation.propagator) propagation.disable();
  if (installation.contextManager !== undefined) {
    installation.contextManager.disable();
    context.disable();
  }
}
