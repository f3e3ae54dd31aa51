// Preloaded into the s3rver child (test/support/s3rver.ts). s3rver 3.7.1 can throw outside any
// request when a listing races the deletion of the objects it walks (its filesystem store stats
// files that are gone), which ends the whole process and fails every later request of a suite.
// S3 does not go down that way, so the test double logs the error and keeps serving.
'use strict';
process.on('uncaughtException', (err) => process.stderr.write(`s3rver: uncaught ${(err && err.stack) || err}\n`));
process.on('unhandledRejection', (err) => process.stderr.write(`s3rver: unhandled rejection ${(err && err.stack) || err}\n`));
