import { Logger } from '@aws-lambda-powertools/logger';
import type { LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes } from '@aws-lambda-powertools/logger/types';
import { redactReplacer } from './sensitive.ts';

export type Sink = (line: string) => void;

const stdout: Sink = (line) => process.stdout.write(`${line}\n`);

/**
 * Powertools Logger whose every line passes through {@link redactReplacer}, written to a sink we
 * choose (stdout in Lambda; a buffer in tests, so the suite can prove no secret is ever logged).
 */
class RedactingLogger extends Logger {
  #sink: Sink = stdout;
  readonly #service: string;

  constructor(options: { serviceName: string }) {
    super({ serviceName: options.serviceName, jsonReplacerFn: redactReplacer });
    this.#service = options.serviceName;
  }

  setSink(sink: Sink): this {
    this.#sink = sink;
    return this;
  }

  /**
   * Writes one line at `level` whatever the configured log level (`POWERTOOLS_LOG_LEVEL`): the audit
   * trail and the alarms built on it must not go blind because someone turned the noise down.
   *
   * Built here rather than through Powertools' log item (a deep merge of every attribute, several
   * environment reads): this is the one line every request writes, and that machinery was a third of
   * a warm vend. The keys are Powertools' own, so audit lines read like every other line.
   * `trustedJson` is members already serialised by our own code (the metric members and directive:
   * metric names, numbers, the stage, a declared profile name): appended as they are, without the
   * redaction pass, because they cannot hold a secret.
   */
  always(level: 'INFO' | 'WARN' | 'ERROR', message: string, attributes: LogAttributes, trustedJson?: string): void {
    const trace = process.env._X_AMZN_TRACE_ID;
    const line = {
      level,
      message,
      timestamp: new Date().toISOString(),
      service: this.#service,
      ...(trace && { xray_trace_id: /Root=([^;]+)/.exec(trace)?.[1] }),
      ...attributes,
    };
    const text = JSON.stringify(line, redactReplacer);
    this.#sink(trustedJson ? `${text.slice(0, -1)},${trustedJson}}` : text);
  }

  protected override printLog(_level: number, log: LogItem): void {
    this.#sink(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
  }
}

export type { RedactingLogger };

/**
 * @example
 * const lines: string[] = [];
 * const logger = createLogger({ sink: (line) => lines.push(line) });
 */
export function createLogger(options: { sink?: Sink; serviceName?: string } = {}): RedactingLogger {
  const logger = new RedactingLogger({ serviceName: options.serviceName ?? 'rackspace-token-vendor' });
  return options.sink ? logger.setSink(options.sink) : logger;
}
