// Building blocks of the config schemas (valibot: it loads in about a tenth of zod's time, which
// every command pays at start-up).

import * as v from 'valibot';

/** A non-empty string; "required" when missing. */
export const requiredString = (message = 'must not be empty') => v.pipe(v.string('required'), v.minLength(1, message));

/** A whole number within [min, max], with a default. */
export const wholeNumber = (min: number, max: number, fallback: number) =>
  v.optional(v.pipe(v.number(`must be a whole number from ${min} to ${max}`), v.integer(`must be a whole number from ${min} to ${max}`), v.minValue(min, `must be ${min} or more`), v.maxValue(max, `must be ${max} or less`)), fallback);

/** A positive whole number (milliseconds, bytes, seconds). */
export const positiveInteger = () => v.pipe(v.number('must be a positive whole number'), v.integer('must be a positive whole number'), v.minValue(1, 'must be a positive whole number'));

/** An http(s) URL. */
export const httpUrl = (message: string) => v.pipe(v.string(message), v.url(message), v.regex(/^https?:\/\//, message));
