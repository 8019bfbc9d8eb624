/**
 * Global installation, the way the SDK's `NodeTracerProvider.register()`
 * does it: the tracer provider, an AsyncLocalStorage context manager and the
 * W3C trace-context + baggage propagators, from the OpenTelemetry packages;
 * and the meter provider, as `metrics.setGlobalMeterProvider()` does.
 *
 * The OpenTelemetry API keeps the first registration of each global. When
 * another provider (or context manager, or propagator) is already there, we
 * warn and keep it, unless `{ replace: true }` is given; installing the same
 * dispatcher twice warns and changes nothing. Either way the application is
 * left with working globals.
 */
import { context, metrics, propagation, trace, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ERROR_CODES } from '../errors.js';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';

export interface InstallOptions {
  /** Replace globals another SDK registered, instead of keeping them. Default false. */
  replace?: boolean;
}

/** What an installation registered, so `uninstall` removes exactly that. */
export interface Installation {
  provider: boolean;
  contextManager: AsyncLocalStorageContextManager | undefined;
  propagator: boolean;
  meterProvider: boolean;
}

/** The warning code for installation conflicts (`process.on('warning')`). */
export const INSTALL_WARNING_CODE = ERROR_CODES.INSTALL;

let installed: TracerProvider | undefined;
let installedMeters: MeterProvider | undefined;

function warn(message: string): void {
  process.emitWarning(message, { code: INSTALL_WARNING_CODE });
}

export function installGlobals(provider: TracerProvider, options: InstallOptions = {}, meterProvider?: MeterProvider): Installation | undefined {
  if (installed === provider) {
    warn('ringtrace: this dispatcher is already installed as the global tracer provider; nothing changed');
    return undefined;
  }
  if (options.replace === true) {
    trace.disable();
    context.disable();
    propagation.disable();
    if (meterProvider !== undefined) metrics.disable();
  }
  const result: Installation = { provider: false, contextManager: undefined, propagator: false, meterProvider: false };
  const manager = new AsyncLocalStorageContextManager().enable();
  if (context.setGlobalContextManager(manager)) {
    result.contextManager = manager;
  } else {
    manager.disable();
    warn('ringtrace: a global context manager is already registered; keeping it (pass { replace: true } to replace it)');
  }
  const propagator = new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
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
  if (meterProvider !== undefined) {
    if (metrics.setGlobalMeterProvider(meterProvider)) {
      result.meterProvider = true;
      installedMeters = meterProvider;
    } else {
      warn(
        'ringtrace: another global meter provider is already registered (an OpenTelemetry SDK?); keeping it, so metrics do not reach ringtrace. Pass { replace: true } to install ringtrace in its place.',
      );
    }
  }
  return result;
}

export function uninstallGlobals(provider: TracerProvider, installation: Installation, meterProvider?: MeterProvider): void {
  if (installation.meterProvider && installedMeters === meterProvider) {
    metrics.disable();
    installedMeters = undefined;
  }
  if (installation.provider && installed === provider) {
    trace.disable();
    installed = undefined;
  }
  if (installation.propagator) propagation.disable();
  if (installation.contextManager !== undefined) {
    installation.contextManager.disable();
    context.disable();
  }
}
