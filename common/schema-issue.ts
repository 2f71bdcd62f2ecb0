/**
 * The one helper that turns a schema (zod) failure into `field: message`:
 * the field is the issue's path joined with dots (under an optional prefix),
 * or the unknown keys for a strict object, or the prefix/`fallback` itself.
 */
import type { z } from 'zod';
import { ValidationError } from './errors.js';

export interface SchemaIssue {
  field: string;
  message: string;
}

export function schemaIssue(error: z.ZodError, prefix = '', fallback = ''): SchemaIssue {
  const issue = error.issues[0];
  if (!issue) return { field: prefix || fallback, message: 'invalid' };
  let path = issue.path.map(String).join('.');
  if (!path && issue.code === 'unrecognized_keys') path = issue.keys.join(', ');
  const field = [prefix, path].filter(Boolean).join('.') || fallback;
  return { field, message: issue.message };
}

/** `field: message` (or the message alone when there is no field). */
export function formatSchemaIssue(error: z.ZodError, prefix = '', fallback = ''): string {
  const { field, message } = schemaIssue(error, prefix, fallback);
  return field ? `${field}: ${message}` : message;
}

export function schemaValidationError(error: z.ZodError, prefix = '', fallback = ''): ValidationError {
  const { field, message } = schemaIssue(error, prefix, fallback);
  return new ValidationError(field, message);
}
