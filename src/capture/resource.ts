/**
 * The OpenTelemetry resource: who is producing. Built once on the
 * application thread and handed to the sinks once, not carried per record.
 *
 * `service.name`: the `serviceName` option, else `OTEL_SERVICE_NAME`, else
 * `service.name` from `OTEL_RESOURCE_ATTRIBUTES`, else `unknown_service:node`
 * (the SDK's default). `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`,
 * percent-encoded values) and the `resourceAttributes` option add more; the
 * option wins.
 */
import { hostname } from 'node:os';
import { invalidOptionType } from '../errors.js';

export type ResourceAttributes = Record<string, string | number | boolean>;

declare const RINGTRACE_VERSION: string | undefined;
const SDK_VERSION = typeof RINGTRACE_VERSION === 'string' ? RINGTRACE_VERSION : '0.1.0';

function parseEnvAttributes(raw: string | undefined): ResourceAttributes {
  const out: ResourceAttributes = {};
  if (raw === undefined || raw.trim() === '') return out;
  for (const pair of raw.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim();
    let value = pair.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // keep the raw text: a malformed escape must not stop the application
    }
    if (key !== '') out[key] = value;
  }
  return out;
}

export function buildResource(
  serviceName: unknown,
  attributes: unknown,
  env: Record<string, string | undefined> = process.env,
): ResourceAttributes {
  if (serviceName !== undefined && (typeof serviceName !== 'string' || serviceName === '')) {
    throw invalidOptionType('serviceName', 'a non-empty string', serviceName);
  }
  if (attributes !== undefined && (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes))) {
    throw invalidOptionType('resourceAttributes', 'an object of string, number or boolean values', attributes);
  }
  const extra: ResourceAttributes = {};
  for (const [k, v] of Object.entries((attributes ?? {}) as Record<string, unknown>)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw invalidOptionType(`resourceAttributes.${k}`, 'a string, number or boolean', v);
    }
    extra[k] = v;
  }
  const fromEnv = parseEnvAttributes(env['OTEL_RESOURCE_ATTRIBUTES']);
  const name =
    (serviceName as string | undefined) ??
    (typeof extra['service.name'] === 'string' ? extra['service.name'] : undefined) ??
    (env['OTEL_SERVICE_NAME'] !== undefined && env['OTEL_SERVICE_NAME'] !== '' ? env['OTEL_SERVICE_NAME'] : undefined) ??
    (typeof fromEnv['service.name'] === 'string' ? fromEnv['service.name'] : undefined) ??
    'unknown_service:node';
  return {
    'telemetry.sdk.name': 'ringtrace',
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.version': SDK_VERSION,
    'process.pid': process.pid,
    'process.executable.name': process.title,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    'host.name': hostname(),
    ...fromEnv,
    ...extra,
    'service.name': name,
  };
}
