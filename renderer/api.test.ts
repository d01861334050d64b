import { describe, expect, it } from 'vitest';
import { validatedApi } from './api.js';
import { BurrowError, toBurrowError } from './burrow-error.js';
import { STATUS } from './test-support/fixtures.js';

function rawApi(answer: (name: string, request: unknown) => unknown) {
  let listener: (event: unknown) => void = () => {};
  const sent: string[] = [];
  return {
    sent,
    emit: (event: unknown) => listener(event),
    raw: {
      call: async (name: string, request: unknown) => {
        sent.push(name);
        return answer(name, request);
      },
      onEvent: (l: (event: unknown) => void) => {
        listener = l;
        return () => {};
      },
    },
  };
}

describe('toBurrowError', () => {
  it('takes the refusal shape, an Error with a status, or anything else as an app fault', () => {
    expect(toBurrowError({ error: 'no', status: 409 })).toMatchObject({ message: 'no', status: 409 });
    expect(toBurrowError(Object.assign(new Error('gone'), { status: 0 }))).toMatchObject({
      message: 'gone',
      status: 0,
    });
    expect(toBurrowError(new Error('bug'))).toMatchObject({ message: 'bug', status: 500 });
    expect(toBurrowError('odd')).toMatchObject({ message: 'odd', status: 500 });
  });
});

describe('validatedApi', () => {
  it('passes valid answers through', async () => {
    const { raw } = rawApi(() => STATUS);
    expect(await validatedApi(raw, () => {}).call('status', {})).toEqual(STATUS);
  });

  it('refuses a malformed answer as 502, naming the field', async () => {
    const { raw } = rawApi(() => ({ ...STATUS, backendState: 'dancing' }));
    const error = await validatedApi(raw, () => {})
      .call('status', {})
      .catch((e) => e);
    expect(error).toBeInstanceOf(BurrowError);
    expect(error.status).toBe(502);
    expect(error.message).toContain('status.backendState');
  });

  it('refuses a bad request before sending it, as 400', async () => {
    const { raw, sent } = rawApi(() => ({}));
    const error = await validatedApi(raw, () => {})
      .call('up', { controlUrl: 'burrow.example.com' })
      .catch((e) => e);
    expect(error).toMatchObject({ status: 400 });
    expect(error.message).toContain('up.controlUrl');
    expect(sent).toEqual([]);
  });

  it('turns a rejection into a BurrowError with its status', async () => {
    const { raw } = rawApi(() => {
      throw { error: 'burrowd is not running', status: 0 };
    });
    await expect(validatedApi(raw, () => {}).call('status', {})).rejects.toMatchObject({
      message: 'burrowd is not running',
      status: 0,
    });
  });

  it('delivers valid events and reports, without delivering, invalid ones', () => {
    const { raw, emit } = rawApi(() => ({}));
    const got: unknown[] = [];
    const problems: BurrowError[] = [];
    validatedApi(raw, (e) => problems.push(e)).onEvent((e) => got.push(e));
    emit({ type: 'state', backendState: 'running', authUrl: null });
    emit({ type: 'state', backendState: 'running', authUrl: 'javascript:alert(1)' });
    emit({ type: 'mystery' });
    expect(got).toEqual([{ type: 'state', backendState: 'running', authUrl: null }]);
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('event.authUrl'),
      expect.stringContaining('event.type'),
    ]);
  });
});
