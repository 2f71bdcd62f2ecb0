import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../common/errors.js';
import { formatSchemaIssue, schemaIssue, schemaValidationError } from '../../common/schema-issue.js';

describe('schemaIssue: one way to say which field is wrong', () => {
  const schema = z.object({ a: z.object({ b: z.array(z.number()) }) }).strict();
  const fail = (v: unknown) => {
    const r = schema.safeParse(v);
    if (r.success) throw new Error('expected a failure');
    return r.error;
  };

  it('joins the path under a prefix', () => {
    expect(schemaIssue(fail({ a: { b: [1, 'x'] } })).field).toBe('a.b.1');
    expect(schemaIssue(fail({ a: { b: [1, 'x'] } }), 'input').field).toBe('input.a.b.1');
    expect(formatSchemaIssue(fail({ a: { b: [1, 'x'] } }), 'input')).toMatch(/^input\.a\.b\.1: /);
  });

  it('names unknown keys of a strict object, else the prefix or the fallback', () => {
    expect(schemaIssue(fail({ a: { b: [] }, extra: 1, more: 2 })).field).toBe('extra, more');
    expect(schemaIssue(fail('nope'), '', 'body').field).toBe('body');
    expect(schemaIssue(fail('nope'), 'input').field).toBe('input');
  });

  it('makes a ValidationError with field and detail', () => {
    const e = schemaValidationError(fail({ a: { b: ['x'] } }), 'tasks.2');
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.field).toBe('tasks.2.a.b.0');
    expect(e.message.startsWith('tasks.2.a.b.0: ')).toBe(true);
  });
});
