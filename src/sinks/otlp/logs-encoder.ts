/**
 * OtlpLogsEncoder: standalone events to an OTLP `ExportLogsServiceRequest`,
 * protobuf or JSON, with the bytes and fields `@opentelemetry/otlp-transformer`
 * writes for the same log records (its serializers are the oracle in
 * test/otlp-encoder.test.ts).
 *
 * A Logs API record (severityNumber set) carries its own severity, body,
 * event name, observed time, trace flags and scope version; other events are
 * described by their level and message, and carry trace flags 0 ("not known
 * to be sampled") with their span's ids.
 *
 * @internal
 */
import type { EventRecord } from '../../record/trace-record.js';
import type { OtlpProtocol } from '../otlp-config.js';
import { jsonAnyValue, jsonAttributesWithThread, jsonResource, jsonTime, resourceBytes, writeAnyValue, AttributeWriter, ThreadAttributes, type AttributesInput } from './any-value.js';
import { BatchLayout } from './batch-layout.js';
import type { ProtobufWriter } from './protobuf-writer.js';

const SEVERITY_NUMBER = { trace: 1, debug: 5, info: 9, warn: 13, error: 17 } as const;
const SEVERITY_TEXT = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

function scopeKey(e: EventRecord): string {
  const version = e.scopeVersion ?? '';
  const schemaUrl = e.schemaUrl ?? '';
  return version === '' && schemaUrl === '' ? e.target : `${e.target}\u0000${version}\u0000${schemaUrl}`;
}

export class OtlpLogsEncoder {
  readonly #json: boolean;
  readonly #attributes: AttributesInput;
  readonly #layout = new BatchLayout();
  readonly #resource: Uint8Array;
  readonly #attributeWriter = new AttributeWriter();
  readonly #threadAttributes = new ThreadAttributes(0x32);

  constructor(resourceAttributes: AttributesInput, protocol: OtlpProtocol) {
    this.#json = protocol === 'http/json';
    this.#attributes = resourceAttributes;
    this.#resource = resourceBytes(this.#layout.writer, resourceAttributes);
  }

  /** A protobuf body `encode` returned may be reused once its request settled. */
  release(body: Uint8Array): void {
    this.#layout.release(body);
  }

  encode(records: readonly EventRecord[]): Uint8Array {
    return this.#json ? this.#encodeJson(records) : this.#encodeProtobuf(records);
  }

  #encodeProtobuf(records: readonly EventRecord[]): Uint8Array {
    const layout = this.#layout;
    layout.reset(this.#resource);
    const w = layout.writer;
    for (let i = 0; i < records.length; i++) {
      const e = records[i]!;
      const key = scopeKey(e);
      let scope = layout.scope(key);
      if (scope < 0) {
        const [head, tail] = this.#scopeBytes(w, e);
        scope = layout.addScope(key, head, tail);
      }
      layout.begin(scope);
      // The item's tag and two bytes for its length, after one bounds check.
      const body = w.start(3);
      w.buf[body - 3] = 0x12;
      this.#record(w, e);
      w.finish(body, 2);
    }
    return layout.assemble();
  }

  /** ScopeLogs' field 1 (the scope) and field 3 (schema_url), taken out of the writer's free end. */
  #scopeBytes(w: ProtobufWriter, e: EventRecord): [Uint8Array, Uint8Array] {
    const at = w.pos;
    w.byte(0x0a);
    const body = w.start();
    w.byte(0x0a);
    w.string(e.target);
    if (e.scopeVersion) {
      w.byte(0x12);
      w.string(e.scopeVersion);
    }
    w.finish(body);
    const head = w.copy(at, w.pos);
    w.pos = at;
    let tail: Uint8Array = new Uint8Array(0);
    if (e.schemaUrl) {
      w.byte(0x1a);
      w.string(e.schemaUrl);
      tail = w.copy(at, w.pos);
      w.pos = at;
    }
    return [head, tail];
  }

  #record(w: ProtobufWriter, e: EventRecord): void {
    const fromLogsApi = e.severityNumber !== undefined;
    w.byte(0x09);
    w.timeMs(e.time);
    const severityNumber = fromLogsApi ? e.severityNumber! : SEVERITY_NUMBER[e.level];
    if (severityNumber !== 0) {
      w.byte(0x10);
      w.int64(severityNumber);
    }
    const severityText = fromLogsApi ? e.severityText : SEVERITY_TEXT[e.level];
    if (severityText) {
      w.byte(0x1a);
      w.string(severityText);
    }
    const body = fromLogsApi ? e.body : e.message;
    if (body !== undefined) {
      w.byte(0x2a);
      const at = w.start();
      writeAnyValue(w, body);
      w.finish(at);
    }
    this.#attributeWriter.write(w, 0x32, e.fields);
    this.#threadAttributes.write(w, e.thread, e.fields);
    w.byte(0x38);
    w.byte(0);
    const withContext = e.traceId !== undefined && e.spanId !== undefined;
    if (withContext) {
      const flags = e.traceFlags ?? 0;
      if (flags) {
        w.byte(0x45);
        w.fixed32(flags);
      }
      if (e.traceId) {
        w.byte(0x4a);
        w.hex(e.traceId);
      }
      if (e.spanId) {
        w.byte(0x52);
        w.hex(e.spanId);
      }
    }
    w.byte(0x59);
    w.timeMs(e.observedTime === undefined ? e.time : e.observedTime);
    if (e.eventName) {
      w.byte(0x62);
      w.string(e.eventName);
    }
  }

  #encodeJson(records: readonly EventRecord[]): Uint8Array {
    const groups = new Map<string, EventRecord[]>();
    for (const e of records) {
      const key = scopeKey(e);
      let group = groups.get(key);
      if (group === undefined) groups.set(key, (group = []));
      group.push(e);
    }
    const resourceLogs =
      records.length === 0
        ? []
        : [
            {
              resource: jsonResource(this.#attributes),
              scopeLogs: [...groups.values()].map((group) => {
                const first = group[0]!;
                return {
                  scope: { name: first.target, version: first.scopeVersion || undefined },
                  logRecords: group.map(jsonRecord),
                  schemaUrl: first.schemaUrl || undefined,
                };
              }),
            },
          ];
    return new TextEncoder().encode(JSON.stringify({ resourceLogs }));
  }
}

function jsonRecord(e: EventRecord): Record<string, unknown> {
  const fromLogsApi = e.severityNumber !== undefined;
  const withContext = e.traceId !== undefined && e.spanId !== undefined;
  return {
    timeUnixNano: jsonTime(e.time),
    observedTimeUnixNano: jsonTime(e.observedTime === undefined ? e.time : e.observedTime),
    severityNumber: fromLogsApi ? e.severityNumber : SEVERITY_NUMBER[e.level],
    severityText: fromLogsApi ? e.severityText || undefined : SEVERITY_TEXT[e.level],
    body: jsonAnyValue(fromLogsApi ? e.body : e.message),
    eventName: e.eventName || undefined,
    attributes: jsonAttributesWithThread(e.fields, e.thread),
    droppedAttributesCount: 0,
    flags: withContext ? (e.traceFlags ?? 0) : undefined,
    traceId: withContext ? e.traceId : undefined,
    spanId: withContext ? e.spanId : undefined,
  };
}
