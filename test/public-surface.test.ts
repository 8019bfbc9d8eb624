/**
 * The published types: `npm run build` emits declarations with
 * `stripInternal`; this compiles them the way a user's project would
 * (strict, skipLibCheck off), lists what `ringtrace` exports, and fails on
 * any name that is not on the list below or any declaration marked
 * `@internal` that reached them. A change to the public surface is then a
 * change to this list.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import ts from 'typescript';

const root = fileURLToPath(new URL('../', import.meta.url));
// Under node_modules (as a compiled build for children is), so the declarations resolve our dependencies.
const out = join(root, 'node_modules', '.cache', `ringtrace-dts-${process.pid}-${Date.now()}`);
t.teardown(() => rmSync(out, { recursive: true, force: true }));
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root, '--emitDeclarationOnly', '--declarationMap', 'false', '--outDir', out], { stdio: 'inherit' });

const EXPECTED = [
  'LogBody',
  'MAX_TRACESTATE_MEMBERS',
  'RingLogger',
  'RingLoggerProvider',
  'StrictTraceContextPropagator',
  'defaultPropagator',
  'parseTraceState',
  'severityLevel',
  'traceStateViolation',
  'tracedPool',
  'tracedTask',
  'RunnablePool',
  'PoolRunOptions',
  'DEFAULT_CARDINALITY_LIMIT',
  'DEFAULT_HISTOGRAM_BOUNDARIES',
  'DEFAULT_METRIC_EXPORT_INTERVAL_MS',
  'HistogramMetric',
  'HistogramPoint',
  'METRICS_WARNING_CODE',
  'MeterProviderStats',
  'MetricAttributeValue',
  'MetricKind',
  'MetricScope',
  'MetricSnapshotEntry',
  'MetricsOptions',
  'MetricsSnapshot',
  'MetricsTemporalityPreference',
  'NumberMetric',
  'NumberPoint',
  'OVERFLOW_ATTRIBUTE',
  'OtlpMetricsOptions',
  'RingMeterProvider',
  'BUILTIN_SINKS',
  'AttachError',
  'AttachOptions',
  'AttachedThread',
  'DEFAULT_ATTACHED_QUEUE_CAPACITY',
  'DEFAULT_ATTACH_TIMEOUT_MS',
  'ThreadInfo',
  'ThreadStats',
  'ChromeTraceLanes',
  'BuiltinSinkName',
  'BuiltinSinkSpec',
  'ChromeTraceSinkInspection',
  'ChromeTraceSinkOptions',
  'DEFAULT_EXIT_DRAIN_TIMEOUT_MS',
  'DEFAULT_FLUSH_EVERY_RECORDS',
  'DEFAULT_FLUSH_INTERVAL_MS',
  'DEFAULT_MAX_ARRAY_LENGTH',
  'DEFAULT_MAX_INTERNED_STRINGS',
  'DEFAULT_MAX_OPEN_SPANS',
  'DEFAULT_MAX_STRING_LENGTH',
  'DEFAULT_MAX_WORKER_RESTARTS',
  'DEFAULT_QUEUE_CAPACITY',
  'DEFAULT_SAMPLER',
  'DEFAULT_SINK_FILTER',
  'DEFAULT_SINK_TIMEOUT_MS',
  'DEFAULT_SPAN_COUNT_LIMIT',
  'DispatcherHealth',
  'DispatcherOptions',
  'DispatcherStateError',
  'DispatcherStats',
  'DrainStats',
  'ERROR_CODES',
  'EventFields',
  'EventLogger',
  'EventRecord',
  'FieldPrimitive',
  'FieldValue',
  'Fields',
  'FilterLevelName',
  'FilterSyntaxError',
  'INSTALL_WARNING_CODE',
  'InstallOptions',
  'LevelName',
  'MAX_QUEUE_CAPACITY',
  'MIN_QUEUE_CAPACITY',
  'MemorySinkContents',
  'MemorySinkOptions',
  'ModuleSinkSpec',
  'NdjsonSinkOptions',
  'PinoDestination',
  'PinoSinkOptions',
  'PrometheusSinkInspection',
  'PrometheusSinkOptions',
  'ResourceAttributes',
  'RingSpan',
  'RingTracer',
  'RingTracerProvider',
  'RingtraceErrorCode',
  'SAMPLER_NAMES',
  'SamplerName',
  'SinkContext',
  'SinkError',
  'SinkFactory',
  'SinkHealth',
  'SinkSpec',
  'SinkStats',
  'SpanAttributesRecord',
  'SpanEndRecord',
  'SpanEventRecord',
  'SpanInfo',
  'SpanLimits',
  'SpanLinkRecord',
  'SpanNameRecord',
  'SpanRecord',
  'SpanStartRecord',
  'SpanStatusRecord',
  'TargetDirective',
  'TargetFilter',
  'TraceDispatcher',
  'TraceRecord',
  'TraceSink',
];

function declarations(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...declarations(path));
    else if (name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

t.test('the published declarations compile in a strict project that checks libraries', async (t) => {
  const consumer = join(out, 'consumer.ts');
  writeFileSync(consumer, `import * as ringtrace from './src/index.js';\nexport const dispatcher: typeof ringtrace.TraceDispatcher = ringtrace.TraceDispatcher;\n`);
  const program = ts.createProgram([consumer], {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || d.file.fileName.startsWith(out));
  t.same(
    diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    [],
    'no errors in the published types',
  );
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(join(out, 'src', 'index.d.ts'))!;
  const names = checker.getExportsOfModule(checker.getSymbolAtLocation(index)!).map((s) => s.name).sort();
  t.same(names, [...EXPECTED].sort(), 'what ringtrace exports');
});

t.test('nothing marked @internal reaches the published declarations', async (t) => {
  const leaked: string[] = [];
  for (const file of declarations(out)) {
    const text = readFileSync(file, 'utf8');
    if (text.includes('@internal')) leaked.push(file.slice(out.length + 1));
  }
  t.same(leaked, []);
  const dispatcher = readFileSync(join(out, 'src', 'dispatcher.d.ts'), 'utf8');
  const member = (name: string) => new RegExp(`^\\s+(readonly )?${name}[(:;]`, 'm');
  for (const name of ['writer', 'encoder', 'levelHint']) t.notMatch(dispatcher, member(name), `TraceDispatcher.${name} is not published`);
  t.match(dispatcher, member('tracerProvider'), 'a public member is (the check can see one)');
  const span = readFileSync(join(out, 'src', 'capture', 'ring-span.d.ts'), 'utf8');
  for (const name of ['publish', 'handle', 'attributeList']) t.notMatch(span, member(name), `RingSpan.${name} is not published`);
  t.match(span, member('setAttribute'));
});
