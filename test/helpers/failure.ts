/** The ParamscopeError an action (sync function or promise) fails with; any other outcome fails the test. */
import { ParamscopeError } from '../../lib/index';

export async function failure(action: Promise<unknown> | (() => unknown)): Promise<ParamscopeError> {
  try {
    if (typeof action === 'function') action();
    else await action;
  } catch (error) {
    if (error instanceof ParamscopeError) return error;
    throw new Error(`expected a ParamscopeError, got ${String(error)}`);
  }
  throw new Error('expected a failure, but it succeeded');
}
