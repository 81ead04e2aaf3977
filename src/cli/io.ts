/** Reads all of stdin as text, without the final newline (for `-` arguments). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Largest --input accepted (from stdin too). */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/** An --input flag as a JSON object: the text given, or stdin for `-`; refused (coded) when it is not one. */
export async function jsonObjectInput(flag: string, example = '{"key":"value"}'): Promise<Record<string, unknown>> {
  const { TwlError } = await import('../runtime/errors.js');
  const raw = flag === '-' ? await readStdin() : flag;
  if (Buffer.byteLength(raw) > MAX_INPUT_BYTES) throw new TwlError('TWL_INPUT_INVALID', `--input is larger than ${MAX_INPUT_BYTES} bytes.`);
  let input: unknown;
  try {
    input = JSON.parse(raw);
  } catch (err) {
    throw new TwlError('TWL_INPUT_INVALID', `--input is not JSON (${(err as Error).message}).`, { actions: [`Pass a JSON object, e.g. --input '${example}', or --input - to read it from stdin.`] });
  }
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw new TwlError('TWL_INPUT_INVALID', `--input must be a JSON object, not ${Array.isArray(input) ? 'an array' : JSON.stringify(input)}.`, { actions: [`Pass a JSON object, e.g. --input '${example}'.`] });
  return input as Record<string, unknown>;
}
