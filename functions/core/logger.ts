import { Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
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

  setSink(sink: Sink): this {
    this.#sink = sink;
    return this;
  }

  /**
   * Writes one line at `level` whatever the configured log level (`POWERTOOLS_LOG_LEVEL`): the audit
   * trail and the alarms built on it must not go blind because someone turned the noise down.
   */
  always(level: 'INFO' | 'WARN' | 'ERROR', message: string, attributes: LogAttributes): void {
    const threshold = LogLevelThreshold[level];
    this.printLog(threshold, this.createAndPopulateLogItem(threshold, message, [attributes]));
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
  const logger = new RedactingLogger({
    serviceName: options.serviceName ?? 'rackspace-token-vendor',
    jsonReplacerFn: redactReplacer,
  });
  return options.sink ? logger.setSink(options.sink) : logger;
}
