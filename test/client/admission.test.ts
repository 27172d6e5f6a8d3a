/**
 * Which refusals of a submission to a project's coordinator the client sends again: those the server makes for
 * reasons of its own, never one that answers the submission. The errors are shaped as @temporalio/client raises
 * them (a ServiceError whose cause carries the gRPC status code), with the messages the dev server sends.
 */
import { ServiceError } from '@temporalio/client';
import { isTransientRefusal, retryTransientRefusals } from '../../src/client/admission';

const grpc = (code: number, details: string): ServiceError =>
  new ServiceError('Failed to run update', {
    cause: Object.assign(new Error(`${code} ${details}`), { code, details }),
  });

test("the server's transient refusals are recognised, answers to the submission are not", () => {
  // A fleet of callers submitting to one busy coordinator meets the cap on a workflow's in-flight updates.
  expect(isTransientRefusal(grpc(8, 'limit on number of concurrent in-flight updates has been reached (10)'))).toBe(
    true,
  );
  expect(isTransientRefusal(grpc(9, 'unexpected workflow task failure'))).toBe(true);
  expect(isTransientRefusal(grpc(14, 'update was aborted'))).toBe(true);
  // Another exhausted resource (a namespace's rate limit) is not the update cap; a refusal by the coordinator is final.
  expect(isTransientRefusal(grpc(8, 'namespace rate limit exceeded'))).toBe(false);
  expect(isTransientRefusal(new Error('the most its queue holds (100) are waiting'))).toBe(false);
});

test('a submission refused at the in-flight cap is sent again until it is taken', async () => {
  let sends = 0;
  const taken = await retryTransientRefusals(async () => {
    if (++sends < 3) throw grpc(8, 'limit on number of concurrent in-flight updates has been reached (10)');
    return 'admitted';
  });
  expect(taken).toBe('admitted');
  expect(sends).toBe(3);
});
