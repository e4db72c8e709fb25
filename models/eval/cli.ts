/**
 * npm run models:eval -- [--json] [--data models/.data] [--split test] [--models models]
 *                        [--only detector,classifier,reid] [--limit N] [--write] [--workers N] [--threads N]
 * Evaluates the shipped vision models on a held-out split of the dataset. Progress goes to stderr;
 * stdout gets a readable table with the targets, or with --json exactly one JSON object. --write
 * stores each model's results in its manifest's `metrics` field and draws models/detector/pr.svg.
 * Exit code 2 when the dataset or a model is missing or unreadable, or a flag is wrong.
 */
import { isWalkoutError } from '../../proto/index.ts';
import { parseOptions, runEvaluation } from './run.ts';

/** Input problems (missing or unreadable data or models, bad flags): exit code 2. */
const INPUT_ERRORS = new Set([
  'FILE_UNREADABLE',
  'FILE_NOT_JSON',
  'FILE_INVALID',
  'MODEL_CORRUPT',
  'MODEL_MISMATCH',
  'CONFIG_INVALID',
]);

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  // The loader (and onnxruntime) only once the inputs have been found.
  await runEvaluation(opts, () => import('../runtime/index.ts'));
}

main().then(
  () => {
    process.exitCode = 0;
  },
  (err: unknown) => {
    if (isWalkoutError(err) && INPUT_ERRORS.has(err.code)) {
      process.stderr.write(`models:eval: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `models:eval failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
