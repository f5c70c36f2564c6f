/**
 * QiError: a plain, frozen, JSON-safe error record with a category.
 * @module
 */

import { toJsonValue, type JsonValue } from './json.js';

/** Every error category, in a fixed order. */
export const ErrorCategories = Object.freeze([
  'VALIDATION',
  'NETWORK',
  'SYSTEM',
  'BUSINESS',
  'AUTHENTICATION',
  'AUTHORIZATION',
  'CONFIGURATION',
  'TIMEOUT',
  'RESOURCE',
  'CONCURRENCY',
  'LOGGER',
] as const);

/** The kind of failure an error describes; drives {@link getRetryStrategy}. */
export type ErrorCategory = (typeof ErrorCategories)[number];

/** Type guard: `true` when `s` is one of the {@link ErrorCategories}. */
export function isErrorCategory(s: unknown): s is ErrorCategory {
  return typeof s === 'string' && (ErrorCategories as readonly string[]).includes(s);
}

/**
 * A plain error record (not an `Error` subclass), so it survives JSON IPC.
 * Errors built by this module are frozen, and so is their `context` (shallowly).
 */
export interface QiError {
  /** Machine-readable code, e.g. `VALIDATION_ERROR`. */
  readonly code: string;
  /** Human-readable description. */
  readonly message: string;
  /** The error's category. */
  readonly category: ErrorCategory;
  /** Extra data about the failure. */
  readonly context: Record<string, unknown>;
}

/** How (or whether) an operation that failed with a given category should be retried. */
export interface RetryStrategy {
  /** The retry policy. */
  readonly strategy: 'never' | 'exponential_backoff' | 'linear_backoff';
  /** A short human description of why. */
  readonly description: string;
}

/** {@link toStructuredData}'s output: a QiError as JSON-safe data. */
export interface StructuredErrorData {
  /** The error's code. */
  readonly code: string;
  /** The error's message. */
  readonly message: string;
  /** The error's category. */
  readonly category: ErrorCategory;
  /** The error's context, converted with {@link toJsonValue}. */
  readonly context: Readonly<Record<string, JsonValue>>;
}

/** Fields accepted by {@link createError}. */
export interface CreateErrorOptions {
  /** Machine-readable code. */
  readonly code: string;
  /** Human-readable description. */
  readonly message: string;
  /** The error's category. */
  readonly category: ErrorCategory;
  /** Extra data; defaults to `{}`. */
  readonly context?: Record<string, unknown>;
}

/** Creates a frozen QiError; `context` is copied and the copy frozen. */
export function create(
  code: string,
  message: string,
  category: ErrorCategory,
  context: Record<string, unknown> = {},
): QiError {
  return Object.freeze({
    code,
    message,
    category,
    context: Object.freeze({ ...context }),
  });
}

/** Creates a frozen QiError from an options object (see {@link create}). */
export function createError(options: CreateErrorOptions): QiError {
  return create(options.code, options.message, options.category, options.context ?? {});
}

/**
 * Turns any thrown value into a QiError with code `EXCEPTION`.
 * An `Error` keeps its message, and its `name` and `stack` (when present) go into
 * `context`; any other value becomes `String(value)`.
 */
export function fromException(e: unknown, category: ErrorCategory = 'SYSTEM'): QiError {
  if (e instanceof Error) {
    const context: Record<string, unknown> = { name: e.name };
    if (typeof e.stack === 'string') {
      context['stack'] = e.stack;
    }
    return create('EXCEPTION', e.message, category, context);
  }
  return create('EXCEPTION', safeString(e), category);
}

/** Creates a QiError with code `ERROR` from a message. */
export function fromString(message: string, category: ErrorCategory = 'SYSTEM'): QiError {
  return create('ERROR', message, category);
}

/** Type guard: `true` when `x` has the shape of a {@link QiError}. */
export function isQiError(x: unknown): x is QiError {
  return (
    typeof x === 'object' &&
    x !== null &&
    'code' in x &&
    typeof x.code === 'string' &&
    'message' in x &&
    typeof x.message === 'string' &&
    'category' in x &&
    isErrorCategory(x.category) &&
    'context' in x &&
    typeof x.context === 'object' &&
    x.context !== null
  );
}

/** Formats an error as `[CODE] message`. */
export function errorToString(e: QiError): string {
  return `[${e.code}] ${e.message}`;
}

/** Returns the error's category. */
export function getCategory(e: QiError): ErrorCategory {
  return e.category;
}

/**
 * Returns `{ code, message, category, context }` as plain JSON-safe data;
 * the context is converted with {@link toJsonValue}.
 */
export function toStructuredData(e: QiError): StructuredErrorData {
  const context: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(e.context)) {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
      continue;
    }
    context[key] = toJsonValue(value);
  }
  return { code: e.code, message: e.message, category: e.category, context };
}

/** Returns a NEW frozen error whose context is `e.context` merged with `ctx` (`ctx` wins); `e` is unchanged. */
export function withContext(ctx: Record<string, unknown>, e: QiError): QiError {
  return create(e.code, e.message, e.category, { ...e.context, ...ctx });
}

/** Creates a `VALIDATION_ERROR` in category `VALIDATION`. */
export function validationError(message: string, context: Record<string, unknown> = {}): QiError {
  return create('VALIDATION_ERROR', message, 'VALIDATION', context);
}

/** Creates a `NETWORK_ERROR` in category `NETWORK`. */
export function networkError(message: string, context: Record<string, unknown> = {}): QiError {
  return create('NETWORK_ERROR', message, 'NETWORK', context);
}

/** Creates a `SYSTEM_ERROR` in category `SYSTEM`. */
export function systemError(message: string, context: Record<string, unknown> = {}): QiError {
  return create('SYSTEM_ERROR', message, 'SYSTEM', context);
}

/** Creates a `BUSINESS_ERROR` in category `BUSINESS`. */
export function businessError(message: string, context: Record<string, unknown> = {}): QiError {
  return create('BUSINESS_ERROR', message, 'BUSINESS', context);
}

/** Creates an `AUTH_ERROR` in category `AUTHENTICATION`. */
export function authenticationError(
  message: string,
  context: Record<string, unknown> = {},
): QiError {
  return create('AUTH_ERROR', message, 'AUTHENTICATION', context);
}

/** Creates an `AUTHZ_ERROR` in category `AUTHORIZATION`. */
export function authorizationError(
  message: string,
  context: Record<string, unknown> = {},
): QiError {
  return create('AUTHZ_ERROR', message, 'AUTHORIZATION', context);
}

/** Creates a `CONFIG_ERROR` in category `CONFIGURATION`. */
export function configurationError(
  message: string,
  context: Record<string, unknown> = {},
): QiError {
  return create('CONFIG_ERROR', message, 'CONFIGURATION', context);
}

/** Creates a `TIMEOUT_ERROR` in category `TIMEOUT`. */
export function timeoutError(message: string, context: Record<string, unknown> = {}): QiError {
  return create('TIMEOUT_ERROR', message, 'TIMEOUT', context);
}

/** Creates a `RESOURCE_ERROR` in category `RESOURCE`. */
export function resourceError(message: string, context: Record<string, unknown> = {}): QiError {
  return create('RESOURCE_ERROR', message, 'RESOURCE', context);
}

/** Creates a `CONCURRENCY_ERROR` in category `CONCURRENCY`. */
export function concurrencyError(message: string, context: Record<string, unknown> = {}): QiError {
  return create('CONCURRENCY_ERROR', message, 'CONCURRENCY', context);
}

/** Creates a `LOGGER_ERROR` in category `LOGGER`. */
export function loggerError(message: string, context: Record<string, unknown> = {}): QiError {
  return create('LOGGER_ERROR', message, 'LOGGER', context);
}

function retry(strategy: RetryStrategy['strategy'], description: string): RetryStrategy {
  return Object.freeze({ strategy, description });
}

const RETRY_STRATEGIES: Readonly<Record<ErrorCategory, RetryStrategy>> = Object.freeze({
  VALIDATION: retry('never', 'Invalid input: retrying the same request fails the same way.'),
  BUSINESS: retry('never', 'A business rule was violated: retrying will not change the outcome.'),
  AUTHENTICATION: retry('never', 'Credentials are missing or wrong: fix them before trying again.'),
  AUTHORIZATION: retry('never', 'The caller lacks permission: retrying will not grant it.'),
  CONFIGURATION: retry('never', 'The configuration is wrong: fix it before trying again.'),
  LOGGER: retry('never', 'Logging failed: not worth retrying; carry on without it.'),
  NETWORK: retry('exponential_backoff', 'Transient network failure: retry with growing delays.'),
  TIMEOUT: retry('exponential_backoff', 'The operation timed out: retry with growing delays.'),
  SYSTEM: retry('linear_backoff', 'System failure that may clear: retry at a steady pace.'),
  RESOURCE: retry('linear_backoff', 'A resource is busy or exhausted: retry at a steady pace.'),
  CONCURRENCY: retry('linear_backoff', 'Conflicting concurrent access: retry at a steady pace.'),
});

/** Returns the retry strategy for a category (a frozen, shared object). */
export function getRetryStrategy(category: ErrorCategory): RetryStrategy {
  return RETRY_STRATEGIES[category];
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
