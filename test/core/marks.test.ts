import { ObjectMark } from '../../src/core/marks';

describe('ObjectMark', () => {
  it('remembers a value on an object without changing what the object shows', () => {
    const mark = new ObjectMark<string>();
    const chunk = { id: 'c1', choices: [] as unknown[] };
    expect(mark.get(chunk)).toBeUndefined();
    mark.set(chunk, 'wire text');
    expect(mark.get(chunk)).toBe('wire text');
    expect(JSON.stringify(chunk)).toBe('{"id":"c1","choices":[]}');
    expect(Reflect.ownKeys(chunk)).toEqual(['id', 'choices']);
    expect(chunk).toStrictEqual({ id: 'c1', choices: [] });
  });

  it('is not inherited by copies', () => {
    const mark = new ObjectMark<true>();
    const original = { a: 1 };
    mark.set(original, true);
    expect(mark.get({ ...original })).toBeUndefined();
    expect(mark.get(Object.assign({}, original))).toBeUndefined();
    expect(mark.get(structuredClone(original))).toBeUndefined();
  });

  it('keeps marks apart and takes a new value for the same object', () => {
    const first = new ObjectMark<number>();
    const second = new ObjectMark<number>();
    const target = {};
    first.set(target, 1);
    expect(second.get(target)).toBeUndefined();
    second.set(target, 2);
    first.set(target, 3);
    expect([first.get(target), second.get(target)]).toEqual([3, 2]);
  });

  it('marks any kind of object (arrays, errors, class instances)', () => {
    const mark = new ObjectMark<string>();
    const targets = [[1, 2], new Error('boom'), new Map(), Object.create(null) as object];
    targets.forEach((t, i) => mark.set(t, `v${i}`));
    expect(targets.map((t) => mark.get(t))).toEqual(['v0', 'v1', 'v2', 'v3']);
  });
});
