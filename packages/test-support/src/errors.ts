/** What `f` throws (fails the test if it returns normally). */
export function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, but none was thrown");
}
