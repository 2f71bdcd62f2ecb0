/**
 * Error classes with stable codes. Map them to HTTP / gRPC status only at the
 * edges (http-errors.ts, result-server.ts); never branch on message text.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'PROTOCOL'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'CONFIG'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'UNAVAILABLE'
  | 'RESOURCE_EXHAUSTED'
  | 'CLOSED'
  | 'DEADLINE_UNREACHABLE'
  | 'INTERNAL';

export class TaskwireError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A wire message that does not follow the protocol. `path` names the field. */
export class ProtocolError extends TaskwireError {
  readonly path: string;
  constructor(path: string, message: string) {
    super('PROTOCOL', path ? `${path}: ${message}` : message);
    this.path = path;
  }
}

/** Bad user input at REST / Socket.IO / CLI; `field` names what was wrong. */
export class ValidationError extends TaskwireError {
  readonly field: string;
  /** The message without the field name. */
  readonly detail: string;
  constructor(field: string, message: string) {
    super('BAD_REQUEST', field ? `${field}: ${message}` : message);
    this.field = field;
    this.detail = message;
  }

  /** The same error for a field inside `prefix` (e.g. `tasks.3`, an item of a batch). */
  within(prefix: string): ValidationError {
    return new ValidationError(this.field ? `${prefix}.${this.field}` : prefix, this.detail);
  }
}

export class PayloadTooLargeError extends TaskwireError {
  constructor(
    readonly what: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super('PAYLOAD_TOO_LARGE', `${what} is ${size} bytes, over the limit of ${limit}`);
  }

  within(prefix: string): PayloadTooLargeError {
    return new PayloadTooLargeError(`${prefix}.${this.what}`, this.size, this.limit);
  }
}

export class NotFoundError extends TaskwireError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class ConflictError extends TaskwireError {
  constructor(message: string) {
    super('CONFLICT', message);
  }
}

/** Invalid configuration: names the environment variable or flag. */
export class ConfigError extends TaskwireError {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super('CONFIG', `${variable}: ${message}`);
    this.variable = variable;
  }
}

export class ClosedError extends TaskwireError {
  constructor(what: string) {
    super('CLOSED', `${what} is closed`);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A caller holds too much at once (queued bytes, ...): retry later (HTTP 429 with Retry-After). */
export class ResourceExhaustedError extends TaskwireError {
  readonly retryAfterS: number;
  /** Extra response headers every HTTP surface sends with the 429 (rate-limit fields: master/limits/). */
  readonly headers: Readonly<Record<string, string>>;
  constructor(message: string, retryAfterS = 1, headers: Readonly<Record<string, string>> = {}) {
    super('RESOURCE_EXHAUSTED', message);
    this.name = 'ResourceExhaustedError';
    this.retryAfterS = retryAfterS;
    this.headers = headers;
  }
}

/**
 * A submit with a deadline that the queue-wait estimate says it cannot start
 * by (HTTP 429, or 503 when no worker serves it at all: `noCapacity`).
 */
export class DeadlineUnreachableError extends TaskwireError {
  constructor(
    readonly estimatedWaitMs: number,
    readonly deadlineMs: number,
    readonly noCapacity: boolean,
  ) {
    super(
      'DEADLINE_UNREACHABLE',
      noCapacity
        ? `no worker serves this task now: it cannot start before its deadline of ${deadlineMs} ms`
        : `cannot start in time: estimated wait ${estimatedWaitMs} ms > deadline ${deadlineMs} ms`,
    );
    this.name = 'DeadlineUnreachableError';
  }
}
