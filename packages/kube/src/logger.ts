/**
 * The logging this package needs; a pino Logger satisfies it. Kept structural so the package does
 * not depend on a logging library and tests can pass a silent object.
 */
export interface KubeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
