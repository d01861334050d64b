/**
 * A small, strict runtime schema library for messages that cross a trust boundary (control frames,
 * and later the LocalAPI and the app's IPC). A schema both validates and types: `Infer<typeof s>`
 * is the TypeScript type of what `s.parse` returns. Errors name the path of the bad value
 * (`map.peers[3].nodeKey: expected 44 base64 characters`), and objects refuse unknown keys unless
 * told otherwise, so a typo in a field name is an error, not a silently ignored setting.
 */

export class SchemaError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

export interface Schema<T> {
  parse(value: unknown, path?: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

const describe = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'an array'
      : typeof v === 'string'
        ? `"${v.slice(0, 40)}"`
        : typeof v;

function schema<T>(parse: (value: unknown, path: string) => T): Schema<T> {
  return { parse: (value, path = '$') => parse(value, path) };
}

export function string(options: {
  min?: number;
  max: number;
  pattern?: RegExp;
  what?: string;
}): Schema<string> {
  return schema((v, path) => {
    if (typeof v !== 'string') throw new SchemaError(path, `expected a string, got ${describe(v)}`);
    if (v.length < (options.min ?? 0))
      throw new SchemaError(path, `must be at least ${options.min} characters`);
    if (v.length > options.max) throw new SchemaError(path, `must be at most ${options.max} characters`);
    if (options.pattern && !options.pattern.test(v)) {
      throw new SchemaError(
        path,
        `expected ${options.what ?? `a string matching ${options.pattern}`}, got ${describe(v)}`,
      );
    }
    return v;
  });
}

export function integer(options: { min: number; max: number }): Schema<number> {
  return schema((v, path) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v))
      throw new SchemaError(path, `expected an integer, got ${describe(v)}`);
    if (v < options.min || v > options.max)
      throw new SchemaError(path, `must be between ${options.min} and ${options.max}`);
    return v;
  });
}

export const boolean: Schema<boolean> = schema((v, path) => {
  if (typeof v !== 'boolean') throw new SchemaError(path, `expected true or false, got ${describe(v)}`);
  return v;
});

export function literal<const L extends string | number | boolean>(...values: L[]): Schema<L> {
  return schema((v, path) => {
    if (!values.includes(v as L)) {
      throw new SchemaError(
        path,
        `expected one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v)}`,
      );
    }
    return v as L;
  });
}

export function array<T>(item: Schema<T>, options: { max: number }): Schema<T[]> {
  return schema((v, path) => {
    if (!Array.isArray(v)) throw new SchemaError(path, `expected an array, got ${describe(v)}`);
    if (v.length > options.max) throw new SchemaError(path, `must have at most ${options.max} items`);
    return v.map((x, i) => item.parse(x, `${path}[${i}]`));
  });
}

export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  return schema((v, path) => (v === null ? null : inner.parse(v, path)));
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<O> = { [K in keyof O]: O[K] extends Optional<unknown> ? K : never }[keyof O];
type ObjectOf<S extends Shape> = {
  [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]>;
} & { [K in OptionalKeys<S>]?: S[K] extends Optional<infer T> ? T : never };

export interface Optional<T> extends Schema<T | undefined> {
  readonly optional: true;
}

/** A key that may be absent (but, if present, must be valid). */
export function optional<T>(inner: Schema<T>): Optional<T> {
  return { optional: true, parse: (v, path = '$') => (v === undefined ? undefined : inner.parse(v, path)) };
}

export function object<S extends Shape>(
  shape: S,
  options: { allowUnknown?: boolean } = {},
): Schema<ObjectOf<S>> {
  return schema((v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new SchemaError(path, `expected an object, got ${describe(v)}`);
    }
    const input = v as Record<string, unknown>;
    if (!options.allowUnknown) {
      for (const key of Object.keys(input)) {
        if (!Object.hasOwn(shape, key)) throw new SchemaError(`${path}.${key}`, 'unknown field');
      }
    }
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(shape)) {
      const value = Object.hasOwn(input, key) ? input[key] : undefined;
      if (value === undefined && !('optional' in field))
        throw new SchemaError(`${path}.${key}`, 'is required');
      const parsed = field.parse(value, `${path}.${key}`);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as ObjectOf<S>;
  });
}

/** One of several object schemas, chosen by the value of a tag field such as `type`. */
export function tagged<K extends string, M extends Record<string, Schema<unknown>>>(
  tag: K,
  variants: M,
): Schema<{ [V in keyof M]: Infer<M[V]> }[keyof M]> {
  return schema((v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new SchemaError(path, `expected an object, got ${describe(v)}`);
    }
    const kind = (v as Record<string, unknown>)[tag];
    if (typeof kind !== 'string' || !Object.hasOwn(variants, kind)) {
      throw new SchemaError(
        `${path}.${tag}`,
        `expected one of ${Object.keys(variants).join(', ')}, got ${describe(kind)}`,
      );
    }
    return variants[kind]!.parse(v, path) as { [V in keyof M]: Infer<M[V]> }[keyof M];
  });
}

/** Parses JSON text and validates it; malformed JSON is a SchemaError too. */
export function parseJson<T>(s: Schema<T>, text: string, path = '$'): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SchemaError(path, `not valid JSON (${(error as Error).message})`);
  }
  return s.parse(value, path);
}
