/**
 * Runs jobs one at a time, in the order they were given. A job starts once the one before it has
 * settled, whether it resolved or rejected; nothing of a settled job is kept.
 */
export function createSerial() {
  let tail: Promise<void> = Promise.resolve();
  return function run<T>(job: () => Promise<T>): Promise<T> {
    const result = tail.then(job);
    tail = result.then(
      () => {},
      () => {},
    );
    return result;
  };
}
